"""The one definition of the model features, for sample extraction and prediction alike.

Features per pixel of a tile grid (EPSG:25833, 10 m), in this order:

* ``<period>_<band>`` for each ``ard.periods[].id`` and each ``ard.bands`` then ``ard.indices``
  (Sentinel-2 composite reflectance 0..1 / index values, from the ARD item);
* ``season_<band>_p<q>`` for each ``ard.season.bands`` and percentile, then ``season_clear_count``
  (percentiles over every clear observation of the season: the time series, from the ARD
  item's ``season`` asset; none when ``ard.season.bands`` is empty);
* ``dtm``, ``dsm``, ``chm`` (metres), then the area-based metrics of ``lidar.metrics``
  (``h_p<N>``, ``h_max``, ``h_mean``, ``h_std`` in metres, ``cover`` 0..1; names from
  :func:`sporbar.lidar_bands.metric_names`), all read by band name from the lidar products
  item (its core ``bands``), so a new metric needs no code here;
* ``dsm_minus_dtm`` (metres, surface minus terrain: buildings and trees);
* ``slope`` (degrees, from the DTM by central differences);
* with Sentinel-1 on (``sources.sentinel1``), ``<period>_<vv|vh|vhvv>_<mean|std>`` per
  ``ard.periods`` (backscatter in dB, temporal mean and standard deviation), read by band name
  from the tile's Sentinel-1 ARD item (``sporbar s1-ard``);
* ``ts_<YYYY-MM>_<band>`` for each month spanned by ``ard.periods`` and each
  ``training.timeseries.bands`` (none when empty): the per-pixel time series for temporal
  models (``tempcnn``), the median of the month's clear observations in the ARD ``cube``
  (Zarr), NaN where the month holds none (a validity mask, never imputed).

NaN marks a pixel without data in an input; in a ``ts_`` feature, a month without a clear view.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
import pystac
from odc.geo.geobox import GeoBox

from sporbar.bands import INDEX_BANDS, is_series, s1_band_names, s1_enabled, season_names, series_names
from sporbar.config import Config
from sporbar.errors import EmptyPeriodError, InputDataError
from sporbar.lidar_bands import DERIVED as DERIVED_DESCRIPTIONS
from sporbar.lidar_bands import metric_names
from sporbar.raster import band_names, open_on_grid
from sporbar.stac.items.ard import PERIOD_SCENES
from sporbar.stac.record import asset_path, check_input_assets, read_input_item, read_item

log = logging.getLogger(__name__)

#: the lidar surfaces used as features (density is not: it is flight planning, not land cover)
LIDAR_SURFACES: tuple[str, ...] = ("dtm", "dsm", "chm")
DERIVED: tuple[str, ...] = tuple(DERIVED_DESCRIPTIONS)


def ard_band_names(cfg: Config) -> list[str]:
    """Bands of every ARD composite, in file order: ``ard.bands`` then ``ard.indices``."""
    return [*cfg.data["ard"]["bands"], *cfg.data["ard"]["indices"]]


def lidar_feature_names(cfg: Config) -> list[str]:
    """The features read from the lidar products item: surfaces, then ``lidar.metrics`` bands."""
    return [*LIDAR_SURFACES, *metric_names(cfg.data["lidar"])]


def season_band_names(cfg: Config) -> list[str]:
    """Bands of the ARD ``season`` asset, in file order (empty when no season features)."""
    season = cfg.data["ard"]["season"]
    return season_names(season["bands"], season["percentiles"]) if season["bands"] else []


def series_steps(cfg: Config) -> list[str]:
    """The months (``YYYY-MM``) from the first ``ard.periods`` start to the last end."""
    periods = cfg.data["ard"]["periods"]
    first = min(date.fromisoformat(p["start"]) for p in periods)
    last = max(date.fromisoformat(p["end"]) for p in periods)
    months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]


def series_band_names(cfg: Config) -> list[str]:
    """Bands and indices of the time-series features (``training.timeseries.bands``; may be empty)."""
    return list(cfg.data["training"]["timeseries"]["bands"])


def s1_feature_names(cfg: Config) -> list[str]:
    """The features read from the Sentinel-1 ARD item (none while ``sources.sentinel1`` is off)."""
    if not s1_enabled(cfg.data):
        return []
    return [n for p in cfg.data["ard"]["periods"] for n in s1_band_names(p["id"])]


def feature_names(cfg: Config) -> list[str]:
    """Names of the model features, in stack order (see the module docstring)."""
    bands = ard_band_names(cfg)
    names = [f"{p['id']}_{b}" for p in cfg.data["ard"]["periods"] for b in bands]
    names += [f"season_{b}" for b in season_band_names(cfg)]
    series = series_names(series_steps(cfg), series_band_names(cfg)) if series_band_names(cfg) else []
    return [*names, *lidar_feature_names(cfg), *DERIVED, *s1_feature_names(cfg), *series]


def model_feature_names(cfg: Config, *, temporal: bool) -> list[str]:
    """The features a model reads, in stack order.

    A temporal model reads the time series plus the lidar features as static inputs; any other
    model reads every feature but the time series (which may be NaN).
    """
    if temporal:
        return [*lidar_feature_names(cfg), *DERIVED, *(n for n in feature_names(cfg) if is_series(n))]
    return [n for n in feature_names(cfg) if not is_series(n)]


def required_mask(names: Sequence[str]) -> np.ndarray:
    """Per feature, whether a pixel needs it finite (every feature but the time series)."""
    return np.array([not is_series(n) for n in names], dtype=bool)


def band_index(item: pystac.Item) -> dict[str, tuple[str, int]]:
    """Band name -> (asset key, 0-based band) of an item's assets, from their core ``bands``.

    An asset without ``bands`` (items made before bands were named) is one band named by its key.
    """
    index: dict[str, tuple[str, int]] = {}
    for key, asset in item.assets.items():
        bands = asset.extra_fields.get("bands")
        names = [b.get("name") for b in bands] if isinstance(bands, list) else [key]
        for i, name in enumerate(names):
            if isinstance(name, str):
                index.setdefault(name, (key, i))
    return index


def read_named_bands(
    item_path: Path,
    names: Sequence[str],
    geobox: GeoBox,
    *,
    rerun: str = "`sporbar lidar` (lidar.metrics)",
    out: np.ndarray | None = None,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """The bands ``names`` of an item (found by name, :func:`band_index`), each (y, x) float32.

    ``rerun`` names the step that makes the item, for the message when a band is missing.
    The bands are decoded straight into ``out`` (len(names), y, x) float32 when given (a
    new array otherwise), each run of names from one asset in one read; the returned
    arrays are views of it.

    Raises:
        InputDataError: a band is not in the item (names the item, the band and what to re-run),
            or a file differs from its recorded checksum or is not on ``geobox``.
        MissingInputError: the item or a file does not exist.
    """
    item = read_item(Path(item_path))
    index = band_index(item)
    missing = [n for n in names if n not in index]
    if missing:
        raise InputDataError(
            f"{item_path}: band {missing[0]!r} missing (the item has {', '.join(index)}); "
            f"re-run {rerun} for this tile with this config"
        )
    check_input_assets(Path(item_path), item, sorted({index[n][0] for n in names}))
    if out is None:
        out = np.empty((len(names), *geobox.shape.yx), dtype=np.float32)
    first = 0
    while first < len(names):  # names in a row from the same asset: one read
        key = index[names[first]][0]
        last = first + 1
        while last < len(names) and index[names[last]][0] == key:
            last += 1
        with open_on_grid(asset_path(Path(item_path), item, key), geobox, threads=threads) as ds:
            ds.read([index[n][1] + 1 for n in names[first:last]], out=out[first:last])
        first = last
    return {n: out[i] for i, n in enumerate(names)}


def select_bands(found: Sequence[str], wanted: Sequence[str], *, path: Path) -> list[int]:
    """The 1-based positions of bands ``wanted`` among ``found`` (a file's band descriptions).

    Raises:
        InputDataError: a wanted band is missing (names the file, the band and the bands found).
    """
    index = {name: i for i, name in enumerate(found)}
    missing = [b for b in wanted if b not in index]
    if missing:
        raise InputDataError(
            f"{path}: band {missing[0]!r} missing (found {','.join(found)}); "
            "rebuild the ARD with ard.bands/ard.indices that include it"
        )
    return [index[b] + 1 for b in wanted]


def slope_degrees(dtm: np.ndarray, resolution: float) -> np.ndarray:
    """Terrain slope in degrees from a DTM (y, x) in metres on a grid of ``resolution`` m."""
    dz_dy, dz_dx = np.gradient(dtm.astype(np.float64), resolution)
    # np.gradient types its result loosely (an array or a tuple of them); the slope is an array
    return cast(np.ndarray, np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype(np.float32))


def derived_features(dtm: np.ndarray, dsm: np.ndarray, resolution: float) -> np.ndarray:
    """The derived lidar features (``DERIVED`` order) as (2, y, x) float32."""
    return np.stack([dsm - dtm, slope_degrees(dtm, resolution)]).astype(np.float32)


def check_periods(cfg: Config, tile: str, ard_item_path: Path, period_scenes: dict[str, int] | None) -> None:
    """Refuse an ARD item that records a period of ``ard.periods`` with no scene.

    Args:
        cfg: the pipeline config (``ard.periods``).
        tile: the tile of the ARD item.
        ard_item_path: the ARD item (for the message).
        period_scenes: its ``sporbar:period_scenes`` (None for items that predate it: not checked).

    Raises:
        EmptyPeriodError: naming the item, the period, its dates, the tile and what to change.
    """
    for p in cfg.data["ard"]["periods"]:
        if period_scenes is not None and period_scenes.get(p["id"]) == 0:
            raise EmptyPeriodError(
                f"{ard_item_path}: ARD period {p['id']!r} ({p['start']}..{p['end']}) holds no scene on tile "
                f"{tile} (its composite is all NaN), so its features are undefined; widen or remove the "
                "period in ard.periods, or add scenes (sources.sentinel2.max_cloud_cover), and re-run ard"
            )


def feature_stack(
    cfg: Config, tile: str, ard_item_path: Path, lidar_item_path: Path, s1_item_path: Path | None = None
) -> np.ndarray:
    """Read and stack every feature of ``tile`` (see :func:`feature_names`).

    Args:
        cfg: the pipeline config (bands, indices, periods, grid).
        tile: grid tile id (``E<x>N<y>``).
        ard_item_path: the tile's ARD item (assets ``composite-<period>``, and ``season``).
        lidar_item_path: the tile's lidar products item (bands named as :func:`lidar_feature_names`).
        s1_item_path: the tile's Sentinel-1 ARD item (bands named as :func:`s1_feature_names`); needed
            when ``sources.sentinel1`` is on.

    Returns:
        (n_features, y, x) float32 on ``cfg.grid.geobox(tile)``, NaN where no data; its memory is
        pixel-major, so ``stack.reshape(n_features, -1).T`` is a C-ordered view.

    Raises:
        EmptyPeriodError: the ARD item records a period with no scene on the tile.
        InputDataError: an input is not on the tile grid or lacks a band.
        MissingInputError: an item or asset does not exist.
    """
    geobox = cfg.grid.geobox(tile)
    threads = int(cfg.data["threads"])
    bands = ard_band_names(cfg)
    # every band is decoded straight into its place in the stack: no per-file copies to concatenate.
    # The memory is pixel-major (y, x, feature), seen as (feature, y, x): GDAL writes each band with
    # a pixel stride, and a model's feature rows (pixels x features) are then views, not transposes.
    stack = np.empty((*geobox.shape.yx, len(feature_names(cfg))), dtype=np.float32).transpose(2, 0, 1)
    filled = 0

    def take(n: int) -> np.ndarray:
        nonlocal filled
        filled += n
        return stack[filled - n : filled]

    season = season_band_names(cfg)
    series = series_band_names(cfg)
    ard_assets = [f"composite-{p['id']}" for p in cfg.data["ard"]["periods"]] + (["season"] if season else [])
    ard_assets += ["cube"] if series else []
    ard_item = read_input_item(Path(ard_item_path), ard_assets)
    check_periods(cfg, tile, ard_item_path, ard_item.properties.get(PERIOD_SCENES))
    for key, wanted in [(f"composite-{p['id']}", bands) for p in cfg.data["ard"]["periods"]] + (
        [("season", season)] if season else []
    ):
        path = asset_path(Path(ard_item_path), ard_item, key)
        with open_on_grid(path, geobox, threads=threads) as ds:
            ds.read(select_bands(band_names(ds), wanted, path=path), out=take(len(wanted)))
    lidar_names = lidar_feature_names(cfg)
    lidar = read_named_bands(Path(lidar_item_path), lidar_names, geobox, out=take(len(lidar_names)), threads=threads)
    take(len(DERIVED))[:] = derived_features(lidar["dtm"], lidar["dsm"], cfg.grid.resolution)
    s1 = s1_feature_names(cfg)
    if s1:
        if s1_item_path is None:
            raise InputDataError(f"{ard_item_path}: sources.sentinel1 is on but no Sentinel-1 ARD item was given "
                                 f"for tile {tile}; run `sporbar s1-ard` and pass its item")
        read_named_bands(Path(s1_item_path), s1, geobox, rerun="`sporbar s1-ard` (ard.periods)",
                         out=take(len(s1)), threads=threads)
    if series:
        cube = asset_path(Path(ard_item_path), ard_item, "cube")
        values = monthly_series(cube, series_steps(cfg), series, geobox)
        take(len(values))[:] = values
    log.debug("features of %s: %s", tile, stack.shape)
    return stack


def _band_values(data: np.ndarray, found: list[str], band: str, path: Path) -> np.ndarray:
    """One band (time, y, x) of a cube block, or the normalised-difference index of two bands."""
    if band in found:
        return data[:, found.index(band)]
    a, b = INDEX_BANDS.get(band, (band, band))
    if a not in found or b not in found:
        raise InputDataError(
            f"{path}: time-series band {band!r} is not in the cube (bands {', '.join(found)}) nor an index "
            "of its bands; add its bands to ard.bands and re-run ard, or change training.timeseries.bands"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = (data[:, found.index(a)] - data[:, found.index(b)]) / (
            data[:, found.index(a)] + data[:, found.index(b)]
        )
    return out


def monthly_series(cube_path: Path, steps: Sequence[str], bands: Sequence[str], geobox: GeoBox) -> np.ndarray:
    """Per month and band, the median of the month's clear observations in an ARD cube.

    Args:
        cube_path: the ARD item's ``cube`` asset (Zarr: time, band, y, x; NaN = not clear).
        steps: months ``YYYY-MM``.
        bands: cube bands or indices of them.
        geobox: the tile grid the cube is on.

    Returns:
        (len(steps) * len(bands), y, x) float32, step-major (:func:`sporbar.bands.series_names`
        order), NaN where a month holds no clear observation of the pixel.

    Raises:
        InputDataError: the cube is not on ``geobox`` or lacks a band.
    """
    import xarray as xr

    with xr.open_zarr(cube_path, consolidated=True) as ds:
        da = ds[next(iter(ds.data_vars))]  # the one variable (reflectance)
        data = np.asarray(da.transpose("time", "band", "y", "x").values, dtype=np.float32)
        months = np.asarray(da["time"].values).astype("datetime64[M]").astype(str)
        found = [str(b) for b in da["band"].values]
    if data.shape[2:] != tuple(geobox.shape.yx):
        raise InputDataError(
            f"{cube_path}: cube is {data.shape[2:]} pixels, the tile grid {tuple(geobox.shape.yx)}; re-run ard"
        )
    out = np.full((len(steps) * len(bands), *data.shape[2:]), np.nan, dtype=np.float32)
    values = [_band_values(data, found, b, cube_path) for b in bands]
    for s, step in enumerate(steps):
        at = months == step
        if not at.any():
            continue
        for b, v in enumerate(values):
            with warnings.catch_warnings():  # a pixel with no clear view this month: NaN, as meant
                warnings.simplefilter("ignore", RuntimeWarning)
                out[s * len(bands) + b] = np.nanmedian(v[at], axis=0)
    return out
