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
* ``slope`` (degrees, from the DTM by central differences).

NaN marks a pixel without data in any input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pystac
from odc.geo.geobox import GeoBox

from sporbar.bands import season_names
from sporbar.config import Config
from sporbar.errors import EmptyPeriodError, InputDataError
from sporbar.lidar_bands import DERIVED as DERIVED_DESCRIPTIONS
from sporbar.lidar_bands import metric_names
from sporbar.raster import read_cog
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


def feature_names(cfg: Config) -> list[str]:
    """Names of the model features, in stack order (see the module docstring)."""
    bands = ard_band_names(cfg)
    names = [f"{p['id']}_{b}" for p in cfg.data["ard"]["periods"] for b in bands]
    names += [f"season_{b}" for b in season_band_names(cfg)]
    return [*names, *lidar_feature_names(cfg), *DERIVED]


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


def read_named_bands(item_path: Path, names: Sequence[str], geobox: GeoBox) -> dict[str, np.ndarray]:
    """The bands ``names`` of an item (found by name, :func:`band_index`), each (y, x) float32.

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
            "re-run `sporbar lidar` for this tile with this config (lidar.metrics)"
        )
    assets = sorted({index[n][0] for n in names})
    check_input_assets(Path(item_path), item, assets)
    data = {key: read_cog(asset_path(Path(item_path), item, key), geobox=geobox)[0] for key in assets}
    return {n: data[index[n][0]][index[n][1]].astype(np.float32) for n in names}


def select_bands(
    data: np.ndarray, found: Sequence[str], wanted: Sequence[str], *, path: Path
) -> np.ndarray:
    """Bands ``wanted`` of ``data`` (bands, y, x), matched by band description.

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
    return data[[index[b] for b in wanted]]


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


def feature_stack(cfg: Config, tile: str, ard_item_path: Path, lidar_item_path: Path) -> np.ndarray:
    """Read and stack every feature of ``tile`` (see :func:`feature_names`).

    Args:
        cfg: the pipeline config (bands, indices, periods, grid).
        tile: grid tile id (``E<x>N<y>``).
        ard_item_path: the tile's ARD item (assets ``composite-<period>``, and ``season``).
        lidar_item_path: the tile's lidar products item (bands named as :func:`lidar_feature_names`).

    Returns:
        (n_features, y, x) float32 on ``cfg.grid.geobox(tile)``, NaN where no data.

    Raises:
        EmptyPeriodError: the ARD item records a period with no scene on the tile.
        InputDataError: an input is not on the tile grid or lacks a band.
        MissingInputError: an item or asset does not exist.
    """
    geobox = cfg.grid.geobox(tile)
    bands = ard_band_names(cfg)
    layers: list[np.ndarray] = []
    season = season_band_names(cfg)
    ard_assets = [f"composite-{p['id']}" for p in cfg.data["ard"]["periods"]] + (["season"] if season else [])
    ard_item = read_input_item(Path(ard_item_path), ard_assets)
    check_periods(cfg, tile, ard_item_path, ard_item.properties.get(PERIOD_SCENES))
    for key, wanted in [(f"composite-{p['id']}", bands) for p in cfg.data["ard"]["periods"]] + (
        [("season", season)] if season else []
    ):
        path = asset_path(Path(ard_item_path), ard_item, key)
        data, found = read_cog(path, geobox=geobox)
        layers.append(select_bands(data, found, wanted, path=path).astype(np.float32))
    lidar = read_named_bands(Path(lidar_item_path), lidar_feature_names(cfg), geobox)
    layers.append(np.stack(list(lidar.values())))
    layers.append(derived_features(lidar["dtm"], lidar["dsm"], cfg.grid.resolution))
    stack = np.concatenate(layers, axis=0)
    log.debug("features of %s: %s", tile, stack.shape)
    return stack
