"""Terrain and BRDF corrections of the lazy reflectance cube, one task per scene and band.

Each (scene, band) chunk of the cube (one chunk spans the tile) gets one task: estimate the
terrain ``c`` of the band from the chunk's clear land pixels, then multiply the chunk by the
terrain factor and the BRDF c-factor (:mod:`sporbar.ard.terrain`, :mod:`sporbar.ard.brdf`).
The scene's geometry (local illumination and the angle nodes, from the granule's
``MTD_TL.xml``) is one task per scene, shared by its bands. Nothing is decoded twice: the
estimated ``c`` values are computed in the same pass that writes the cube.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
from dask.delayed import delayed
from odc.geo.geobox import GeoBox

from sporbar.ard.angles import NodeAngles, angles_at_nodes, read_angle_grids, upsample
from sporbar.ard.brdf import COEFFICIENTS, c_factor
from sporbar.ard.load import Scene
from sporbar.ard.mask import TERRAIN_SHADOW
from sporbar.ard.terrain import TerrainNormal, correction_factor, estimate_c, ndvi_strata
from sporbar.errors import InputDataError
from sporbar.stac.record import asset_path

GRANULE_METADATA = "granule-metadata"
BRDF_METHODS = ("c-factor", "none")


def granule_metadata(scene: Scene) -> Path:
    """The scene's ``MTD_TL.xml`` (asset ``granule-metadata``).

    Raises:
        InputDataError: the item has no such asset (names the item file).
    """
    if GRANULE_METADATA not in scene.item.assets:
        raise InputDataError(
            f"{scene.item_path}: no {GRANULE_METADATA!r} asset (MTD_TL.xml); the terrain and BRDF corrections "
            "need its angle grids (re-fetch the scene, or set ard.terrain.method and ard.brdf.method to none)"
        )
    return asset_path(scene.item_path, scene.item, GRANULE_METADATA)


@dataclass(frozen=True)
class Geometry:
    """One scene's geometry on the tile: illumination per pixel, angles at the nodes.

    Attributes:
        cos_i: local illumination (NaN without DEM), or None without terrain correction.
        cos_sun: cosine of the sun zenith per pixel, or None without terrain correction.
        nodes: the sun and view angles at the tile's nodes.
    """

    cos_i: np.ndarray | None
    cos_sun: np.ndarray | None
    nodes: NodeAngles


def scene_geometry(scene: Scene, geobox: GeoBox, normal: TerrainNormal | None) -> Geometry:
    """Read the scene's angle grids and compute its geometry on ``geobox``."""
    nodes = angles_at_nodes(read_angle_grids(granule_metadata(scene)), geobox)
    if normal is None:
        return Geometry(None, None, nodes)
    shape = geobox.shape.yx
    sz, sa = np.radians(nodes.sun_zenith), np.radians(nodes.sun_azimuth)
    # the smooth sun terms, upsampled; the normal varies per pixel (no trigonometry per pixel)
    cos_sun, east, north = upsample(np.stack([np.cos(sz), np.sin(sz) * np.sin(sa), np.sin(sz) * np.cos(sa)]),
                                    nodes.rows, nodes.cols, shape)
    cos_i = (normal.up * cos_sun + normal.east * east + normal.north * north).astype(np.float32)
    return Geometry(cos_i, cos_sun, nodes)


def brdf_factor(band: str, nodes: NodeAngles, shape: tuple[int, int]) -> np.ndarray:
    """The BRDF c-factor of ``band`` on every pixel (computed at the nodes, upsampled)."""
    f = c_factor(band, nodes.sun_zenith, nodes.view_zenith, nodes.view_azimuth - nodes.sun_azimuth)
    return upsample(f, nodes.rows, nodes.cols, shape)


def _strata(red: np.ndarray, nir: np.ndarray, sample: np.ndarray, k: int) -> np.ndarray:
    return ndvi_strata(red[0, 0], nir[0, 0], sample[0], k)


def _estimate(block: np.ndarray, geometry: Geometry, sample: np.ndarray, strata: np.ndarray | None) -> np.ndarray:
    """The band's terrain ``c`` as a 0-d array (a Dask chunk), NaN without DEM."""
    if geometry.cos_i is None:
        return np.array(np.nan)
    return np.array(estimate_c(block[0, 0], geometry.cos_i, sample[0], strata), np.float64)


def _correct(block: np.ndarray, geometry: Geometry, c: np.ndarray, normal: TerrainNormal | None,
             band: str, terrain: str, brdf: str) -> np.ndarray:
    out = block
    if terrain != "none" and normal is not None and geometry.cos_i is not None and geometry.cos_sun is not None:
        out = out * correction_factor(terrain, float(c), geometry.cos_i, geometry.cos_sun, normal.up)
    if brdf != "none":
        out = out * brdf_factor(band, geometry.nodes, block.shape[-2:])
    result: np.ndarray = out.astype(np.float32)
    return result


def _quality(flags: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The SCL flags of one scene (1, y, x) plus terrain shadow (``cos(i) <= 0``) where there is a DEM."""
    if geometry.cos_i is None:
        return flags
    out: np.ndarray = flags | np.where(geometry.cos_i <= 0, TERRAIN_SHADOW, 0).astype(np.uint8)[None]
    return out


@dataclass(frozen=True)
class Corrected:
    """The corrected cube (lazy) and what to compute with it.

    Attributes:
        cube: (time, band, y, x) float32, chunks of one scene and band.
        c: (time, band) float64, the terrain ``c`` of each scene and band (lazy; NaN: uncorrected).
        quality: (time, y, x) uint8 quality flags, terrain shadow added (lazy).
    """

    cube: xr.DataArray
    c: da.Array
    quality: da.Array


def correct(
    reflectance: xr.DataArray,
    sample: xr.DataArray,
    scenes: Sequence[Scene],
    geobox: GeoBox,
    *,
    terrain: str,
    brdf: str,
    normal: TerrainNormal | None,
    flags: xr.DataArray,
    strata: int = 1,
) -> Corrected:
    """Terrain-correct then BRDF-normalise ``reflectance`` (lazy).

    Args:
        reflectance: (time, band, y, x) float32 from :func:`sporbar.ard.load.reflectance`.
        sample: (time, y, x) bool, the clear land pixels the regression may use
            (:func:`sporbar.ard.masking.regression_sample`).
        scenes: the scenes, in the cube's time order.
        geobox: the tile grid.
        terrain: ``"c-correction"``, ``"scs+c"`` or ``"none"``.
        brdf: ``"c-factor"`` or ``"none"``.
        normal: the terrain normal on the tile (required unless ``terrain`` is none).
        flags: (time, y, x) uint8 quality flags (:func:`sporbar.ard.masking.quality_flags`).
        strata: NDVI strata of the regression (:func:`sporbar.ard.terrain.estimate_c`; 1: one,
            Teillet's plain regression; without B04 and B08 in the cube, 1).

    Returns:
        The corrected cube and the ``c`` values to compute along with it.

    Raises:
        InputDataError: BRDF normalisation of a band without coefficients.
    """
    bands = [str(b) for b in reflectance["band"].values]
    if brdf != "none":
        missing = [b for b in bands if b not in COEFFICIENTS]
        if missing:
            raise InputDataError(f"no BRDF coefficients for band(s) {', '.join(missing)}; set ard.brdf.method: none")
    data = reflectance.data.rechunk({0: 1, 1: 1, 2: -1, 3: -1})
    sample_d = sample.data.rechunk({0: 1, 1: -1, 2: -1})
    blocks = data.to_delayed(optimize_graph=False)
    samples = sample_d.to_delayed(optimize_graph=False)
    flag_blocks = flags.data.rechunk({0: 1, 1: -1, 2: -1}).to_delayed(optimize_graph=False)
    shape = (1, 1, *geobox.shape.yx)
    # one graph node each for the normal and the scenes, so Dask does not hash them per task
    normal_d = delayed(normal, pure=False)
    rows, cs, quality = [], [], []
    k = strata if strata > 1 and {"B04", "B08"} <= set(bands) else 1
    for t, scene in enumerate(scenes):
        geometry = delayed(scene_geometry, pure=False)(delayed(scene, pure=False), geobox, normal_d)
        labels = None if k == 1 else delayed(_strata, pure=False)(
            blocks[t, bands.index("B04"), 0, 0], blocks[t, bands.index("B08"), 0, 0], samples[t, 0, 0], k)
        row, crow = [], []
        for b, band in enumerate(bands):
            c = delayed(_estimate, pure=False)(blocks[t, b, 0, 0], geometry, samples[t, 0, 0], labels)
            out = delayed(_correct, pure=False)(blocks[t, b, 0, 0], geometry, c, normal_d, band, terrain, brdf)
            row.append(da.from_delayed(out, shape=shape, dtype=np.float32))  # type: ignore[no-untyped-call]
            crow.append(da.from_delayed(c, shape=(), dtype=np.float64))  # type: ignore[no-untyped-call]
        rows.append(da.concatenate(row, axis=1))  # type: ignore[no-untyped-call]
        cs.append(crow)
        q = delayed(_quality, pure=False)(flag_blocks[t, 0, 0], geometry)
        quality.append(da.from_delayed(q, shape=(1, *geobox.shape.yx), dtype=np.uint8))  # type: ignore[no-untyped-call]
    cube = reflectance.copy(data=da.concatenate(rows, axis=0))  # type: ignore[no-untyped-call]
    c_all = da.stack([da.stack(r) for r in cs])  # type: ignore[no-untyped-call]
    return Corrected(cube, c_all, da.concatenate(quality, axis=0))  # type: ignore[no-untyped-call]
