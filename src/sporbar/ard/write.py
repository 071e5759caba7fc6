"""Writers of the ARD outputs: the masked cube (Zarr), then per-period and season COGs from it. Only these compute."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sporbar.ard.composite import (
    Period,
    index_pairs,
    period_members,
    period_products,
    season_products,
    season_sources,
)
from sporbar.ard.gapfill import fill_from_nearest_period
from sporbar.bands import season_names
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
    return write_cube_computing(path, cube, ())[0]


def write_cube_computing(
    path: Path, cube: xr.DataArray, also: Sequence[da.Array]
) -> tuple[Path, tuple[np.ndarray, ...]]:
    """:func:`write_cube`, computing the Dask arrays ``also`` in the same pass (sharing the reads).

    Every array goes through one ``dask.array.store``, which optimises their graphs together:
    computing the store of ``to_zarr(compute=False)`` beside other collections would
    optimise each apart, rename the fused keys and decode every band file two or three times.
    The ``also`` arrays are stored in scratch Zarr arrays beside the output, not in memory,
    so Dask workers in other processes or Slurm jobs write where this process reads them back.

    Returns:
        (the store, the computed values of ``also``).
    """
    import tempfile

    import zarr

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # one chunk size per array so that no two tasks write into the same Zarr chunk (lock=False)
    sizes = [tuple(max(1, *c) for c in a.chunks) for a in also]
    extra = [a.rechunk(size) for a, size in zip(also, sizes, strict=True)]  # type: ignore[no-untyped-call]
    with atomic_path(path) as tmp, tempfile.TemporaryDirectory(dir=path.parent, prefix=".also-") as scratch:
        # metadata and coordinates now; the reflectance below, chunk for chunk (no encoding
        # to apply: float32 with NaN as its fill value)
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True, encoding=encoding, compute=False)
        target = zarr.open_array(store=str(tmp), path=CUBE_VAR, mode="r+", zarr_format=2)
        targets = [zarr.open_array(store=str(Path(scratch) / str(i)), mode="w", shape=a.shape, dtype=a.dtype,
                                   chunks=size, zarr_format=2)
                   for i, (a, size) in enumerate(zip(extra, sizes, strict=True))]
        da.store([ds[CUBE_VAR].data, *extra], [target, *targets], lock=False)  # type: ignore[list-item]
        values = tuple(np.asarray(t[...]) for t in targets)
    return path, values


def open_cube(path: Path) -> xr.DataArray:
    """Open a cube written by :func:`write_cube` (lazy)."""
    cube: xr.DataArray = xr.open_zarr(path, consolidated=True)[CUBE_VAR]
    return cube


def _tile_products(
    block: np.ndarray,
    members: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    season: tuple[np.ndarray, Sequence[int | tuple[int, int]], Sequence[int]] | None,
    centres: Sequence[float] | None,
) -> np.ndarray:
    """Every period's products (gaps filled when ``centres`` are given) then the season's, flat along axis 0."""
    periods = period_products(block, members, pairs)
    if centres is not None:  # periods without any scene are not gaps: they stay empty, to be reported
        fill_from_nearest_period(periods, centres, [bool(m.any()) for m in members])
    flat = periods.reshape(-1, *periods.shape[2:])
    if season is None:
        return flat
    return np.concatenate([flat, season_products(block, *season)])


def write_products(
    cube_path: Path,
    folder: Path,
    *,
    periods: Sequence[Period],
    bands: Sequence[str],
    indices: Sequence[str],
    geobox: GeoBox,
    threads: int = 1,
    season_bands: Sequence[str] = (),
    season_percentiles: Sequence[int] = (),
    gap_fill: str = "none",
) -> ProductFiles:
    """Write every period's composite and clear count, and the season percentiles, in one pass over the cube.

    Each block of BLOCK x BLOCK pixels (all times, all bands) is read once and gives every
    period's medians, indices and counts (:func:`period_products`) and the season's
    percentiles (:func:`season_products`); the rows of blocks are written into the COGs as
    they are computed, so memory holds one row of blocks and the COGs being built, whatever
    the number of scenes.

    Args:
        cube_path: the cube written by :func:`write_cube`.
        folder: output folder (``composite-<period>.tif``, ``clear-<period>.tif``, ``season.tif``).
        periods: the compositing periods.
        bands: the composite's reflectance bands (a subset of the cube's).
        indices: the indices appended to the composite (computed from the cube's bands).
        geobox: the tile grid of the cube.
        threads: GDAL threads compressing each COG (the bytes do not depend on it).
        season_bands: bands and indices whose percentiles over every clear observation of the
            season (all periods) are written to ``season.tif``; none: no season asset.
        season_percentiles: the percentiles (0..100).
        gap_fill: ``ard.gap_fill``: ``nearest_period`` fills a period's pixels without a clear
            observation from the nearest period with one (:mod:`sporbar.ard.gapfill`); ``none``
            leaves them NaN.

    Returns:
        The files and the share of each period's pixels filled.
    """
    cube = open_cube(cube_path)
    cube_bands = [str(b) for b in cube["band"].values]
    members = period_members(cube["time"].values, periods)
    pairs = index_pairs(cube_bands, indices)
    nb, ni = len(cube_bands), len(pairs)
    per = nb + ni + 1
    keep = [cube_bands.index(b) for b in bands] + list(range(nb, nb + ni))
    season = None
    if season_bands:
        in_season = np.any(np.stack(members), axis=0) if members else np.zeros(0, bool)
        season = (in_season, season_sources(cube_bands, season_bands), list(season_percentiles))
    n_season = len(season_names(season_bands, season_percentiles)) if season else 0
    data = cube.data.rechunk({0: -1, 1: -1, 2: BLOCK, 3: BLOCK})
    centres = [p.start.toordinal() + (p.end.toordinal() - p.start.toordinal()) / 2 for p in periods]
    products = data.map_blocks(
        _tile_products,
        members,
        pairs,
        season,
        centres if gap_fill == "nearest_period" else None,
        dtype=np.float32,
        drop_axis=0,
        chunks=((len(periods) * per + n_season,), data.chunks[2], data.chunks[3]),
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
        season_cog = None
        if season:
            out["season"] = Path(folder) / "season.tif"
            season_cog = stack.enter_context(cog_writer(
                out["season"], geobox, count=n_season, dtype="float32", nodata=float("nan"),
                band_names=season_names(season_bands, season_percentiles), threads=threads))
        filled = np.zeros(len(periods), np.int64)
        for row in range(0, geobox.shape.y, BLOCK):
            flat = products[:, row : row + BLOCK, :].compute()
            strip = flat[: len(periods) * per].reshape(len(periods), per, *flat.shape[1:])
            for i in range(len(periods)):
                composites[i].write(strip[i, keep], row=row)
                clears[i].write(strip[i, nb + ni].astype(np.uint8), row=row)
                filled[i] += int(((strip[i, nb + ni] == 0) & np.isfinite(strip[i, 0])).sum())
            if season_cog is not None:
                season_cog.write(flat[len(periods) * per :], row=row)
    n = geobox.shape.y * geobox.shape.x
    return ProductFiles(out, {p.id: round(int(f) / n, 4) for p, f in zip(periods, filled, strict=True)})


@dataclass(frozen=True)
class ProductFiles:
    """What :func:`write_products` wrote.

    Attributes:
        assets: asset key (``composite-<p>``, ``clear-<p>``, ``season``) -> file.
        filled: per period id, the share of the tile's pixels filled from another period.
    """

    assets: dict[str, Path]
    filled: dict[str, float]
