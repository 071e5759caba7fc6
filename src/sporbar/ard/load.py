"""Load raw Sentinel-2 items onto a tile grid as a lazy, dask-backed cube.

Each (scene, band, chunk) is one task that opens the band file, warps the chunk's
window onto the tile grid (rasterio WarpedVRT: bilinear for reflectance, nearest for
SCL) and applies ``raster:bands`` scale and offset. Nothing is read until a writer
computes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dask.array as da
import numpy as np
import pystac
import rasterio
import xarray as xr
from dask.delayed import delayed
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from sporbar.errors import InputDataError
from sporbar.stac.record import asset_path, read_item

log = logging.getLogger(__name__)

SCL = "SCL"
DEFAULT_CHUNK = 512  # pixels per chunk edge on the tile grid


@dataclass(frozen=True)
class Scene:
    """A raw Sentinel-2 item and where it is stored.

    Attributes:
        item_path: the item JSON file.
        item: the parsed item.
    """

    item_path: Path
    item: pystac.Item

    @property
    def id(self) -> str:
        """The scene (item) id."""
        return self.item.id

    @property
    def datetime(self) -> datetime:
        """Sensing time (UTC)."""
        assert self.item.datetime is not None
        return self.item.datetime

    @property
    def cloud_cover(self) -> float | None:
        """``eo:cloud_cover`` in percent, if recorded."""
        v = self.item.properties.get("eo:cloud_cover")
        return None if v is None else float(v)

    def band_path(self, band: str) -> Path:
        """Local file of ``band``.

        Raises:
            InputDataError: the item has no such asset (names the item file, band and bands found).
        """
        if band not in self.item.assets:
            found = ",".join(sorted(k for k in self.item.assets if k.startswith("B") or k == SCL))
            raise InputDataError(
                f"{self.item_path}: band {band!r} missing (found {found}); "
                "re-run `sporbar fetch s2` for this scene"
            )
        return asset_path(self.item_path, self.item, band)

    def scale_offset(self, band: str) -> tuple[float, float]:
        """(scale, offset) of ``band`` from ``raster:bands`` (1, 0 if absent)."""
        rb = (self.item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
        return float(rb.get("scale", 1.0)), float(rb.get("offset", 0.0))


def read_scenes(paths: Sequence[Path]) -> list[Scene]:
    """Read raw items, sorted by sensing time then id.

    Raises:
        MissingInputError: an item file does not exist.
    """
    scenes = [Scene(Path(p), read_item(Path(p))) for p in paths]
    return sorted(scenes, key=lambda s: (s.datetime, s.id))


def _read_chunk(
    path: str,
    crs: str,
    affine: tuple[float, ...],
    shape: tuple[int, int],
    window: tuple[int, int, int, int],
    resampling: str,
    scale: float,
    offset: float,
    as_float: bool,
) -> np.ndarray:
    row0, col0, h, w = window
    try:
        with (
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            rasterio.open(path) as src,
            WarpedVRT(
                src,
                crs=crs,
                transform=rasterio.Affine(*affine[:6]),
                width=shape[1],
                height=shape[0],
                resampling=Resampling[resampling],
                src_nodata=0,
                nodata=0,
            ) as vrt,
        ):
            dn: np.ndarray = vrt.read(1, window=Window(col0, row0, w, h))
    except rasterio.errors.RasterioIOError as err:
        raise InputDataError(f"{path}: cannot read band file: {err}") from err
    if not as_float:
        return dn.astype(np.uint8)
    out = dn.astype(np.float32) * np.float32(scale) + np.float32(offset)
    out[dn == 0] = np.nan
    return out


def _lazy_band(
    scene: Scene, band: str, geobox: GeoBox, chunk: int, *, categorical: bool
) -> da.Array:
    path = str(scene.band_path(band))
    scale, offset = scene.scale_offset(band)
    ny, nx = geobox.shape.yx
    crs = str(geobox.crs)
    affine = tuple(geobox.affine)[:6]
    rows = []
    for r0 in range(0, ny, chunk):
        row = []
        for c0 in range(0, nx, chunk):
            h, w = min(chunk, ny - r0), min(chunk, nx - c0)
            task = delayed(_read_chunk, pure=True)(
                path,
                crs,
                affine,
                (ny, nx),
                (r0, c0, h, w),
                "nearest" if categorical else "bilinear",
                scale,
                offset,
                not categorical,
            )
            # dask.array's from_delayed, block and stack carry no type hints
            chunk_array = da.from_delayed(task, (h, w), dtype=np.uint8 if categorical else np.float32)  # type: ignore[no-untyped-call]
            row.append(chunk_array)
        rows.append(row)
    whole: da.Array = da.block(rows)  # type: ignore[no-untyped-call]
    return whole


def _coords(geobox: GeoBox) -> dict[str, np.ndarray]:
    a = geobox.affine
    ny, nx = geobox.shape.yx
    return {
        "y": a.f + a.e * (np.arange(ny) + 0.5),
        "x": a.c + a.a * (np.arange(nx) + 0.5),
    }


def _times(scenes: Sequence[Scene]) -> np.ndarray:
    return np.array([np.datetime64(s.datetime.replace(tzinfo=None), "ns") for s in scenes])


def load(
    scenes: Sequence[Scene], bands: Sequence[str], *, geobox: GeoBox, chunks: int = DEFAULT_CHUNK
) -> xr.DataArray:
    """Surface reflectance of ``bands`` of every scene on ``geobox`` (lazy).

    Args:
        scenes: raw items, in time order.
        bands: band names (assets), e.g. ``["B02", "B04", "B08"]``; 20 m bands are
            resampled bilinearly to the grid resolution.
        geobox: the tile grid (e.g. EPSG:25833, 10 m).
        chunks: chunk edge in pixels.

    Returns:
        float32 DataArray (time, band, y, x), reflectance (0..1), NaN where no data.

    Raises:
        InputDataError: a scene lacks one of ``bands`` (names the item file and band).
    """
    stacks = []
    for i, s in enumerate(scenes, start=1):
        log.info("ard: scene %d/%d %s: %d bands", i, len(scenes), s.id, len(bands))
        # dask.array.stack carries no type hints
        bands_of_scene = [_lazy_band(s, b, geobox, chunks, categorical=False) for b in bands]
        stacks.append(da.stack(bands_of_scene))  # type: ignore[no-untyped-call]
    data = (
        da.stack(stacks)  # type: ignore[no-untyped-call]
        if stacks
        else da.zeros((0, len(bands), *geobox.shape.yx), np.float32)
    )
    return xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={"time": _times(scenes), "band": list(bands), **_coords(geobox)},
        name="reflectance",
        attrs={"crs": str(geobox.crs), "nodata": np.nan},
    )


def load_scl(
    scenes: Sequence[Scene], *, geobox: GeoBox, chunks: int = DEFAULT_CHUNK
) -> xr.DataArray:
    """Scene classification (SCL) of every scene on ``geobox``, nearest neighbour (lazy).

    Returns:
        uint8 DataArray (time, y, x); 0 where no data.
    """
    layers = [_lazy_band(s, SCL, geobox, chunks, categorical=True) for s in scenes]
    # dask.array.stack carries no type hints
    data = da.stack(layers) if layers else da.zeros((0, *geobox.shape.yx), np.uint8)  # type: ignore[no-untyped-call]
    return xr.DataArray(
        data,
        dims=("time", "y", "x"),
        coords={"time": _times(scenes), **_coords(geobox)},
        name="scl",
    )
