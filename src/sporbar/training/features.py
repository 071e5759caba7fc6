"""The one definition of the model features, for sample extraction and prediction alike.

Features per pixel of a tile grid (EPSG:25833, 10 m), in this order:

* ``<period>_<band>`` for each ``ard.periods[].id`` and each ``ard.bands`` then ``ard.indices``
  (Sentinel-2 composite reflectance 0..1 / index values, from the ARD item);
* ``dtm``, ``dsm``, ``chm`` (metres, from the lidar products item);
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

from sporbar.config import Config
from sporbar.errors import EmptyPeriodError, InputDataError
from sporbar.raster import read_cog
from sporbar.stac.items.ard import PERIOD_SCENES
from sporbar.stac.record import asset_path, read_input_item

log = logging.getLogger(__name__)

LIDAR_ASSETS: tuple[str, ...] = ("dtm", "dsm", "chm")
DERIVED: tuple[str, ...] = ("dsm_minus_dtm", "slope")


def ard_band_names(cfg: Config) -> list[str]:
    """Bands of every ARD composite, in file order: ``ard.bands`` then ``ard.indices``."""
    return [*cfg.data["ard"]["bands"], *cfg.data["ard"]["indices"]]


def feature_names(cfg: Config) -> list[str]:
    """Names of the model features, in stack order (see the module docstring)."""
    bands = ard_band_names(cfg)
    names = [f"{p['id']}_{b}" for p in cfg.data["ard"]["periods"] for b in bands]
    return [*names, *LIDAR_ASSETS, *DERIVED]


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
        ard_item_path: the tile's ARD item (assets ``composite-<period>``).
        lidar_item_path: the tile's lidar products item (assets ``dtm``, ``dsm``, ``chm``).

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
    ard_item = read_input_item(Path(ard_item_path), [f"composite-{p['id']}" for p in cfg.data["ard"]["periods"]])
    check_periods(cfg, tile, ard_item_path, ard_item.properties.get(PERIOD_SCENES))
    for period in cfg.data["ard"]["periods"]:
        path = asset_path(Path(ard_item_path), ard_item, f"composite-{period['id']}")
        data, found = read_cog(path, geobox=geobox)
        layers.append(select_bands(data, found, bands, path=path).astype(np.float32))
    lidar_item = read_input_item(Path(lidar_item_path), LIDAR_ASSETS)
    lidar: dict[str, np.ndarray] = {}
    for key in LIDAR_ASSETS:
        path = asset_path(Path(lidar_item_path), lidar_item, key)
        data, _ = read_cog(path, geobox=geobox)
        lidar[key] = data[0].astype(np.float32)
    layers.append(np.stack([lidar[k] for k in LIDAR_ASSETS]))
    layers.append(derived_features(lidar["dtm"], lidar["dsm"], cfg.grid.resolution))
    stack = np.concatenate(layers, axis=0)
    log.debug("features of %s: %s", tile, stack.shape)
    return stack
