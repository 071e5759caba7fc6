"""Writers of the ARD outputs: the masked cube (Zarr), then per-period COGs from it. Only these compute."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sporbar.ard.composite import Period, index_pairs, period_members, period_products
from sporbar.io import atomic_path
from sporbar.raster import cog_writer

CUBE_VAR = "reflectance"
CUBE_CHUNK = 256  # y/x chunk edge of the Zarr cube; one chunk per (time, band)
BLOCK = CUBE_CHUNK  # y/x edge of the blocks the composites are computed in


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


def write_products(
    cube_path: Path,
    folder: Path,
    *,
    periods: Sequence[Period],
    bands: Sequence[str],
    indices: Sequence[str],
    geobox: GeoBox,
    threads: int = 1,
) -> dict[str, Path]:
    """Write every period's composite and clear count from the cube, in one pass over it.

    Each block of BLOCK x BLOCK pixels (all times, all bands) is read once and gives every
    period's medians, indices and counts (:func:`period_products`); the rows of blocks are
    written into the COGs as they are computed, so memory holds one row of blocks and the
    COGs being built, whatever the number of scenes.

    Args:
        cube_path: the cube written by :func:`write_cube`.
        folder: output folder (``composite-<period>.tif``, ``clear-<period>.tif``).
        periods: the compositing periods.
        bands: the composite's reflectance bands (a subset of the cube's).
        indices: the indices appended to the composite (computed from the cube's bands).
        geobox: the tile grid of the cube.
        threads: GDAL threads compressing each COG (the bytes do not depend on it).

    Returns:
        Asset key (``composite-<p>``, ``clear-<p>``) -> file.
    """
    cube = open_cube(cube_path)
    cube_bands = [str(b) for b in cube["band"].values]
    members = period_members(cube["time"].values, periods)
    pairs = index_pairs(cube_bands, indices)
    nb, ni = len(cube_bands), len(pairs)
    keep = [cube_bands.index(b) for b in bands] + list(range(nb, nb + ni))
    data = cube.data.rechunk({0: -1, 1: -1, 2: BLOCK, 3: BLOCK})
    products = data.map_blocks(
        period_products,
        members,
        pairs,
        dtype=np.float32,
        chunks=((len(periods),), (nb + ni + 1,), data.chunks[2], data.chunks[3]),
    )
    names = [*bands, *indices]
    out = {}
    with ExitStack() as stack:
        composites, clears = [], []
        for p in periods:
            out[f"composite-{p.id}"] = Path(folder) / f"composite-{p.id}.tif"
            out[f"clear-{p.id}"] = Path(folder) / f"clear-{p.id}.tif"
            composites.append(stack.enter_context(cog_writer(
                out[f"composite-{p.id}"], geobox, count=len(names), dtype="float32",
                nodata=float("nan"), band_names=names, threads=threads)))
            clears.append(stack.enter_context(cog_writer(
                out[f"clear-{p.id}"], geobox, count=1, dtype="uint8", nodata=None,
                band_names=["clear_count"], threads=threads)))
        for row in range(0, geobox.shape.y, BLOCK):
            strip = products[:, :, row : row + BLOCK, :].compute()
            for i in range(len(periods)):
                composites[i].write(strip[i, keep], row=row)
                clears[i].write(strip[i, nb + ni].astype(np.uint8), row=row)
    return out
