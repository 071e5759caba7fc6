"""Writers of the ARD outputs: the masked cube (Zarr) and per-period COGs. Only these compute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sporbar.io import atomic_path
from sporbar.raster import write_cog

CUBE_VAR = "reflectance"
CUBE_CHUNK = 256  # y/x chunk edge of the Zarr cube; one chunk per (time, band)


def write_cube(path: Path, cube: xr.DataArray) -> Path:
    """Write the masked cube (time, band, y, x) float32 to a Zarr v2 store, atomically.

    Deterministic bytes: fixed chunking (1, 1, 256, 256), time as integer milliseconds
    since 1970-01-01, no timestamps in attributes.
    """
    ds = cube.chunk({"time": 1, "band": 1, "y": CUBE_CHUNK, "x": CUBE_CHUNK}).to_dataset(
        name=CUBE_VAR
    )
    ds[CUBE_VAR].attrs = {"units": "1", "long_name": "surface reflectance, cloud-masked"}
    ds.attrs = {"crs": str(cube.attrs.get("crs", ""))}
    encoding = {
        CUBE_VAR: {"chunks": (1, 1, CUBE_CHUNK, CUBE_CHUNK), "_FillValue": np.float32(np.nan)},
        "time": {
            "units": "milliseconds since 1970-01-01T00:00:00",
            "dtype": "int64",
            "calendar": "proleptic_gregorian",
        },
    }
    with atomic_path(Path(path)) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True, encoding=encoding)
    return Path(path)


def open_cube(path: Path) -> xr.DataArray:
    """Open a cube written by :func:`write_cube` (lazy)."""
    cube: xr.DataArray = xr.open_zarr(path, consolidated=True)[CUBE_VAR]
    return cube


def write_composite(
    path: Path, composite: xr.DataArray, geobox: GeoBox, band_names: Sequence[str]
) -> Path:
    """Compute a (band, y, x) composite and write it as a float32 COG with NaN nodata."""
    data = np.asarray(composite.sel(band=list(band_names)).values, dtype=np.float32)
    return write_cog(path, data, geobox, nodata=float("nan"), band_names=list(band_names))


def write_count(path: Path, count: xr.DataArray, geobox: GeoBox) -> Path:
    """Compute a (y, x) count of clear observations and write it as a uint8 COG (no nodata)."""
    data = np.asarray(count.values, dtype=np.uint8)
    return write_cog(path, data, geobox, nodata=None, band_names=["clear_count"])
