"""The DEM of a tile's terrain correction, and what the ARD item records about the corrections.

Rule: the tile's lidar DTM (asset ``dtm`` of its lidar products item) where the tile has
lidar products, its gaps filled from ``ard.terrain.dem`` when that is set; else the file
``ard.terrain.dem``; else a named error. Pixels no DEM covers are not terrain-corrected, and
the item records the share of pixels that are (``dem.coverage``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.ard.brdf import COEFFICIENTS
from sporbar.ard.load import Scene
from sporbar.ard.terrain import FACTOR_MAX, MIN_SAMPLE, SAMPLE_SCL, read_dem
from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import sha256_multihash
from sporbar.stac import extensions as ext
from sporbar.stac.record import asset_path, read_input_item

DTM_ASSET = "dtm"
TERRAIN_PROPERTY = "sporbar:terrain"
BRDF_PROPERTY = "sporbar:brdf"


@dataclass(frozen=True)
class TileDem:
    """The heights used on one tile and where they came from.

    Attributes:
        heights: (y, x) float32 metres on the tile grid, NaN where no DEM covers a pixel.
        source: a description for the lineage.
        files: the DEM files read (the DTM first), with their sha2-256 multihash.
        item: the lidar products item the DTM came from (a ``derived_from`` input), or None.
    """

    heights: np.ndarray
    source: str
    files: tuple[tuple[Path, str], ...]
    item: Path | None

    @property
    def coverage(self) -> float:
        """Share of the tile's pixels with a height."""
        return float(np.isfinite(self.heights).mean())


def tile_dem(cfg: Config, tile: str, geobox: GeoBox, lidar_item: Path | None) -> TileDem:
    """The DEM of ``tile`` by the module's rule.

    Raises:
        InputDataError: no lidar products item and no ``ard.terrain.dem``, or neither covers the tile.
        MissingInputError: the lidar item, its DTM or the DEM file does not exist.
    """
    dem_file = cfg.data["ard"]["terrain"].get("dem")
    dem_path = None if dem_file is None else Path(dem_file)
    if lidar_item is None and dem_path is None:
        raise InputDataError(
            f"{cfg.source}: no DEM for tile {tile}: ard.terrain.method is "
            f"{cfg.data['ard']['terrain']['method']!r} but the tile has no lidar products (--lidar) and "
            "ard.terrain.dem is not set; give a DEM file covering the area, or set ard.terrain.method: none"
        )
    files: list[tuple[Path, str]] = []
    if lidar_item is not None:
        item = read_input_item(Path(lidar_item), [DTM_ASSET])
        dtm = asset_path(Path(lidar_item), item, DTM_ASSET)
        heights = read_dem(dtm, geobox) if dem_path is None else _dtm_or_nan(dtm, geobox)
        files.append((dtm, str(item.assets[DTM_ASSET].extra_fields.get(ext.FILE_CHECKSUM, sha256_multihash(dtm)))))
        source = f"lidar DTM of {lidar_item}"
        gaps = ~np.isfinite(heights)
        if dem_path is not None and gaps.any():
            fill = read_dem(dem_path, geobox)
            heights = np.where(gaps, fill, heights).astype(np.float32)
            files.append((dem_path, sha256_multihash(dem_path)))
            source += f", gaps from {dem_path}"
        if not np.isfinite(heights).any():
            raise InputDataError(f"{dtm}: the lidar DTM of tile {tile} is empty and ard.terrain.dem is not set")
        return TileDem(heights, source, tuple(files), Path(lidar_item))
    assert dem_path is not None
    return TileDem(read_dem(dem_path, geobox), str(dem_path), ((dem_path, sha256_multihash(dem_path)),), None)


def _dtm_or_nan(path: Path, geobox: GeoBox) -> np.ndarray:
    """The DTM on the grid, all NaN when it covers nothing (the DEM file fills it)."""
    try:
        return read_dem(path, geobox)
    except InputDataError:
        return np.full(geobox.shape.yx, np.nan, np.float32)


def _round(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 4)


def corrections_record(
    terrain: str,
    brdf: str,
    dem: TileDem | None,
    scenes: Sequence[Scene],
    bands: Sequence[str],
    c_values: Sequence[Sequence[float]],
    strata: int,
    item_folder: Path,
) -> dict[str, Any]:
    """The ARD item properties that state the corrections, their parameters and the DEM.

    Args:
        terrain: the terrain method (``none``: recorded as such).
        brdf: the BRDF method.
        dem: the tile's DEM (None without terrain correction).
        scenes: the scenes, in cube order.
        bands: the cube's bands.
        c_values: per scene, per band, the estimated ``c`` (NaN: band left uncorrected).
        strata: the NDVI strata of the regression.
        item_folder: the ARD item's folder (DEM hrefs are relative to it).
    """
    t: dict[str, Any] = {"method": terrain}
    if terrain != "none" and dem is not None:
        t.update({
            "reference": "Teillet et al. 1982" if terrain == "c-correction" else "Soenen et al. 2005",
            "dem": [{"href": os.path.relpath(p, item_folder), ext.FILE_CHECKSUM: h} for p, h in dem.files],
            "dem_coverage": round(dem.coverage, 6),
            "sample_scl_classes": list(SAMPLE_SCL),
            "min_sample": MIN_SAMPLE,
            "factor_max": FACTOR_MAX,
            "rule": "c per scene and band from the regression of reflectance (divided by its NDVI stratum's "
                    "mean) on cos(i) (centred on it) over the clear pixels of the sample classes; c null: fewer "
                    "than min_sample pixels or no positive slope, band left uncorrected; "
                    "c < 0 taken as 0; cos(i) <= 0 (terrain shadow) taken as 0; pixels without DEM uncorrected",
            "ndvi_strata": strata,
            "c": {s.id: {b: _round(c) for b, c in zip(bands, row, strict=True)}
                  for s, row in zip(scenes, c_values, strict=True)},
        })
    b: dict[str, Any] = {"method": brdf}
    if brdf != "none":
        b.update({
            "reference": "Roy et al. 2016 (c-factor), red-edge coefficients as HLS v2 (Roy et al. 2017)",
            "kernels": "RossThick-LiSparse-Reciprocal (b/r 1, h/b 2)",
            "normalised_to": "nadir view, the observed sun zenith",
            "angles": "MTD_TL.xml angle grids, detectors merged, bands averaged, bilinear to the grid",
            "coefficients": {band: dict(zip(("f_iso", "f_vol", "f_geo"), COEFFICIENTS[band], strict=True))
                             for band in bands},
        })
    return {TERRAIN_PROPERTY: t, BRDF_PROPERTY: b}
