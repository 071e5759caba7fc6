"""Cloud-Optimized GeoTIFF writing and reading on a grid, byte-for-byte deterministic.

Every raster product (ARD composites, lidar products, class maps) is written by
:func:`write_cog`, so compression, tiling and tags are the same everywhere and the
same array on the same grid always gives the same file bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from odc.geo.geobox import GeoBox
from rasterio.io import MemoryFile
from rasterio.windows import Window

from sporbar.errors import ArrayShapeError, InputDataError
from sporbar.io import atomic_path

_PREDICTOR = {"f": 3, "i": 2, "u": 2}


class CogWindows:
    """A COG being written window by window (see :func:`cog_writer`)."""

    def __init__(self, ds: rasterio.io.DatasetWriter) -> None:
        """Windows into the open dataset ``ds``."""
        self._ds = ds

    def write(self, data: np.ndarray, *, row: int = 0, col: int = 0) -> None:
        """Write ``data`` (bands, h, w) or (h, w) with its first pixel at (``row``, ``col``)."""
        arr = data[None] if data.ndim == 2 else data
        self._ds.write(arr, window=Window(col, row, arr.shape[2], arr.shape[1]))


def _file_opener(path: Path) -> Callable[..., Any]:
    """``MemoryFile.open`` for a file: with a profile it creates ``path``, without it reads it."""

    def open_(**profile: Any) -> Any:
        return rasterio.open(path, "w", **profile) if profile else rasterio.open(path)

    return open_


@contextmanager
def cog_writer(
    path: Path,
    geobox: GeoBox,
    *,
    count: int,
    dtype: str | np.dtype,
    nodata: float | int | None,
    band_names: Sequence[str] | None = None,
    tags: dict[str, str] | None = None,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
    threads: int = 1,
    scratch: Path | None = None,
) -> Iterator[CogWindows]:
    """Write a COG on ``geobox`` window by window; it is made, atomically, when the block ends.

    The windows go into one uncompressed in-memory GeoTIFF (the only full copy of the
    data), which is then copied to ``path`` as a COG, so a product is never held as an
    array and copied several times. Same bytes as :func:`write_cog` of the same pixels.

    Args:
        path: output file.
        geobox: the pixel grid.
        count: number of bands.
        dtype: the dtype to store.
        nodata: nodata value (NaN allowed for floats), or None.
        band_names: one description per band (stored as GDAL band descriptions).
        tags: extra dataset tags (must be deterministic: no timestamps).
        colormap: pixel value -> RGBA, the GDAL colour table of band 1 (single-band uint8).
        threads: GDAL threads compressing the COG (the bytes do not depend on it).
        scratch: a folder for the uncompressed GeoTIFF instead of memory (a raster larger than
            memory should hold: the fine lidar models of a production tile); same bytes.

    Yields:
        The writer; pixels not written are 0.

    Raises:
        ArrayShapeError: ``band_names`` does not match ``count``.
    """
    dtype = np.dtype(dtype)
    if band_names is not None and len(band_names) != count:
        raise ArrayShapeError(f"{path}: {len(band_names)} band names for {count} bands")
    ny, nx = geobox.shape.yx
    profile = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": count,
        "dtype": dtype.name,
        "crs": str(geobox.crs),
        "transform": geobox.affine,
        "nodata": nodata,
    }
    with ExitStack() as stack:
        opener: Callable[..., Any]
        if scratch is None:
            opener = stack.enter_context(MemoryFile()).open
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory(dir=scratch, prefix="cog-"))
            plain = Path(folder) / "plain.tif"
            opener = _file_opener(plain)
        with opener(**profile) as ds:
            if colormap:
                ds.write_colormap(1, colormap)
            yield CogWindows(ds)
            for i, name in enumerate(band_names or [], start=1):
                ds.set_band_description(i, name)
            if tags:
                ds.update_tags(**tags)
        # GDAL keeps the overviews in a temporary file (beside ``tmp``) until it lays out the
        # COG; by default it ZSTD-compresses that file only to decompress it again a moment
        # later (a fifth of a multi-band COG's CPU). Uncompressed, the delivered bytes are the same.
        with opener() as src, atomic_path(Path(path)) as tmp, rasterio.Env(COG_TMP_COMPRESSION="NONE"):
            rasterio.shutil.copy(
                src,
                tmp,
                driver="COG",
                compress="DEFLATE",
                predictor=_PREDICTOR[dtype.kind],
                blocksize=256,
                overview_resampling="nearest" if dtype.kind in "iu" else "average",
                num_threads=threads,
            )


def write_cog(
    path: Path,
    data: np.ndarray,
    geobox: GeoBox,
    *,
    nodata: float | int | None,
    band_names: Sequence[str] | None = None,
    tags: dict[str, str] | None = None,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
) -> Path:
    """Write ``data`` as a COG on ``geobox``, atomically.

    Args:
        path: output file.
        data: array of shape (bands, y, x) or (y, x), in the dtype to store.
        geobox: the pixel grid; ``data``'s last two axes must equal ``geobox.shape``.
        nodata: nodata value (NaN allowed for floats), or None.
        band_names: one description per band (stored as GDAL band descriptions).
        tags: extra dataset tags (must be deterministic: no timestamps).
        colormap: pixel value -> RGBA, written as the GDAL colour table of band 1
            (single-band uint8 only).

    Returns:
        ``path``.

    Raises:
        ArrayShapeError: ``data`` is not on ``geobox`` or ``band_names`` does not match its bands.
    """
    arr = data[None] if data.ndim == 2 else data
    if tuple(arr.shape[1:]) != tuple(geobox.shape.yx):
        raise ArrayShapeError(f"{path}: array shape {arr.shape[1:]} != grid shape {tuple(geobox.shape.yx)}")
    with cog_writer(
        path,
        geobox,
        count=arr.shape[0],
        dtype=arr.dtype,
        nodata=nodata,
        band_names=band_names,
        tags=tags,
        colormap=colormap,
    ) as out:
        out.write(arr)
    return Path(path)


@contextmanager
def open_on_grid(path: Path, geobox: GeoBox | None = None, *, threads: int = 1) -> Iterator[Any]:
    """Open a raster for reading, checked to be exactly on ``geobox`` when one is given.

    Args:
        path: raster file.
        geobox: the grid the file must be on (CRS, transform and shape), or None.
        threads: GDAL threads decoding its blocks (``NUM_THREADS``; the values are the same).

    Yields:
        The open ``rasterio`` dataset; a read error inside the block becomes an InputDataError.

    Raises:
        InputDataError: the file cannot be read, or is not on ``geobox``.
    """
    try:
        with rasterio.open(path, **({"NUM_THREADS": str(threads)} if threads > 1 else {})) as ds:
            if geobox is not None and (
                ds.crs is None
                or geobox.crs is None
                or ds.crs.to_epsg() != geobox.crs.epsg
                or ds.transform != geobox.affine
                or (ds.height, ds.width) != tuple(geobox.shape.yx)
            ):
                raise InputDataError(
                    f"{path}: not on the expected grid (file {ds.crs} {ds.transform[:6]} "
                    f"{ds.height}x{ds.width}; expected {geobox.crs} {geobox.affine[:6]} "
                    f"{tuple(geobox.shape.yx)})"
                )
            yield ds
    except rasterio.errors.RasterioIOError as err:
        raise InputDataError(f"{path}: cannot read raster: {err}") from err


def band_names(ds: Any) -> list[str]:
    """The band descriptions of an open dataset (``band<N>`` where one has none)."""
    return [d or f"band{i}" for i, d in enumerate(ds.descriptions, start=1)]


def read_cog(path: Path, *, geobox: GeoBox | None = None) -> tuple[np.ndarray, list[str]]:
    """Read all bands of a raster as (bands, y, x), with its band descriptions.

    Args:
        path: raster file.
        geobox: if given, the file must be exactly on this grid.

    Raises:
        InputDataError: the file cannot be read, or is not on ``geobox``.
    """
    with open_on_grid(path, geobox) as ds:
        return ds.read(), band_names(ds)


def read_on_grid(path: Path, geobox: GeoBox, *, what: str) -> np.ndarray:
    """Band 1 of the raster at ``path`` resampled onto ``geobox`` (float32, NaN where it has no value).

    By the mean of the cells in a grid pixel where the raster is finer (a 1 m lidar DTM),
    bilinearly where it is as coarse or coarser (a geoid model).

    Args:
        path: the raster (any CRS).
        geobox: the grid.
        what: what the file is and where it is configured, for messages (``"DEM (ard.terrain.dem)"``).

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: it cannot be read or has no CRS (names the file).
    """
    from rasterio.warp import Resampling, reproject

    from sporbar.errors import MissingInputError

    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: {what} file not found")
    out = np.full(geobox.shape.yx, np.nan, np.float32)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputDataError(f"{path}: the {what} has no CRS")
            finer = abs(src.res[0]) < 0.75 * abs(geobox.resolution.x)
            reproject(
                rasterio.band(src, 1), out, dst_transform=geobox.affine, dst_crs=str(geobox.crs),
                dst_nodata=np.nan, resampling=Resampling.average if finer else Resampling.bilinear,
            )
    except rasterio.errors.RasterioError as err:
        raise InputDataError(f"{path}: cannot read the {what}: {err}") from err
    return out
