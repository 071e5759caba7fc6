"""A stratified random validation sample drawn from the class map (Olofsson et al. 2014).

The strata are the mapped classes. The number of points per stratum comes from the config
(``accuracy.per_class``) or from the Cochran formula (``estimate.cochran_sample_size``) shared
out by ``estimate.allocate``. Points are pixel centres, drawn without replacement among the
pixels of each stratum over all tiles, so every pixel of a stratum is equally likely. The draw
depends only on the map and ``accuracy.seed``: pixels are numbered tile by tile (sorted tile
ids), row by row, and one seeded generator picks numbers per stratum in ``classes[]`` order.
Two passes over the class COGs: one counts pixels, one reads the tiles that hold a point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from sporbar.accuracy.estimate import allocate, cochran_sample_size
from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.raster import read_cog
from sporbar.stac.record import asset_path, read_input_item

#: layer of the sample GeoPackage and its columns
LAYER: Final = "sample"
SAMPLE_ID: Final = "sample_id"
TILE: Final = "tile"
MAP_VALUE: Final = "map_value"
MAP_CLASS: Final = "map_class"
REFERENCE: Final = "reference"
COLUMNS: Final = (SAMPLE_ID, TILE, "row", "col", "x", "y", MAP_VALUE, MAP_CLASS, REFERENCE)
CLASS_NODATA: Final = 0


@dataclass(frozen=True)
class MapTile:
    """One tile of the class map.

    Attributes:
        tile: grid tile id.
        item: the map item.
        classes: its ``classes`` COG.
    """

    tile: str
    item: Path
    classes: Path


def map_tiles(cfg: Config, items: Sequence[Path]) -> list[MapTile]:
    """The tiles of the map items ``items``, sorted by tile id; their class COGs checked.

    Raises:
        MissingInputError: an item or its ``classes`` file does not exist.
        InputDataError: an item is not a map item of ``map.product`` (id ``<product>-<tile>``),
            or its class COG differs from the checksum it records.
    """
    product = cfg.data["map"]["product"]
    out = []
    for path in items:
        item = read_input_item(Path(path), ["classes"])
        tile = item.id.removeprefix(f"{product}-")
        if tile == item.id:
            raise InputDataError(f"{path}: item {item.id!r} is not a tile of map product {product!r}")
        out.append(MapTile(tile, Path(path), asset_path(Path(path), item, "classes")))
    return sorted(out, key=lambda m: m.tile)


def read_classes(cfg: Config, m: MapTile) -> np.ndarray:
    """The (y, x) class values of one map tile (0 = no data), checked to be on its grid tile."""
    data, _ = read_cog(m.classes, geobox=cfg.grid.geobox(m.tile))
    return np.asarray(data[0])


def class_values(cfg: Config) -> list[int]:
    """The class values of ``classes[]``, in config order."""
    return [int(c["value"]) for c in cfg.data["classes"]]


def pixel_counts(cfg: Config, maps: Sequence[MapTile]) -> np.ndarray:
    """(tiles, classes) number of pixels mapped as each class of ``classes[]``, per tile."""
    values = class_values(cfg)
    lut = np.full(256, len(values), np.int64)
    lut[values] = np.arange(len(values))
    out = np.zeros((len(maps), len(values)), np.int64)
    for t, m in enumerate(maps):
        out[t] = np.bincount(lut[read_classes(cfg, m).ravel()], minlength=len(values) + 1)[: len(values)]
    return out


@dataclass(frozen=True)
class SampleDesign:
    """How many points each stratum gets, and why.

    Attributes:
        classes: class names (``classes[]`` order).
        mapped_pixels: pixels mapped as each class.
        sizes: sample points per class.
        rule: ``per_class`` or ``cochran`` (with the total it gave).
        seed: ``accuracy.seed``.
    """

    classes: tuple[str, ...]
    mapped_pixels: tuple[int, ...]
    sizes: tuple[int, ...]
    rule: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready design (recorded on the sample item)."""
        return {
            "rule": self.rule,
            "seed": self.seed,
            "strata": [
                {"class": c, "mapped_pixels": n, "sample_size": s}
                for c, n, s in zip(self.classes, self.mapped_pixels, self.sizes, strict=True)
            ],
            "sample_size": sum(self.sizes),
        }


def sample_design(cfg: Config, mapped_pixels: Sequence[int]) -> SampleDesign:
    """The sample sizes per stratum under ``accuracy`` of the config.

    Raises:
        InputDataError: the map holds no classified pixel.
    """
    acc = cfg.data["accuracy"]
    names = tuple(c["name"] for c in cfg.data["classes"])
    big_n = [int(v) for v in mapped_pixels]
    total = sum(big_n)
    if total == 0:
        raise InputDataError(f"map product {cfg.data['map']['product']!r}: no pixel is classified; nothing to sample")
    if "per_class" in acc:
        sizes = [min(n, int(acc["per_class"])) for n in big_n]
        rule = f"per_class {acc['per_class']}"
    else:
        w = [n / total for n in big_n]
        n_total = cochran_sample_size(w, float(acc["expected_users_accuracy"]), float(acc["target_standard_error"]))
        sizes = allocate(n_total, big_n, minimum=int(acc["min_per_class"]))
        rule = (f"cochran n={n_total} (target SE {acc['target_standard_error']}, expected user's accuracy "
                f"{acc['expected_users_accuracy']}), min_per_class {acc['min_per_class']}")
    return SampleDesign(names, tuple(big_n), tuple(sizes), rule, int(acc["seed"]))


def draw_sample(cfg: Config, maps: Sequence[MapTile], counts: np.ndarray, design: SampleDesign) -> gpd.GeoDataFrame:
    """Draw the stratified random sample: one point per chosen pixel, at the pixel centre.

    Args:
        cfg: the config (grid, classes).
        maps: the map tiles, sorted by tile id (``map_tiles``).
        counts: (tiles, classes) pixel counts (``pixel_counts``).
        design: sample sizes per class (``sample_design``).

    Returns:
        Points in the grid CRS with the columns of ``COLUMNS``; ``reference`` is empty.
    """
    rng = np.random.default_rng(design.seed)
    values = class_values(cfg)
    offsets = np.vstack([np.zeros((1, counts.shape[1]), np.int64), np.cumsum(counts, axis=0)])
    picks: dict[int, list[tuple[int, np.ndarray]]] = {}  # tile -> [(class index, local pixel numbers)]
    for k, size in enumerate(design.sizes):
        if size == 0:
            continue
        chosen = np.sort(rng.choice(int(offsets[-1, k]), size=size, replace=False))
        tiles = np.searchsorted(offsets[1:, k], chosen, side="right")
        for t in np.unique(tiles):
            picks.setdefault(int(t), []).append((k, chosen[tiles == t] - offsets[t, k]))
    rows: list[tuple[int, int, str, int, int]] = []  # (class index, tile index, tile, row, col)
    for t in sorted(picks):
        classes = read_classes(cfg, maps[t])
        width = classes.shape[1]
        for k, local in picks[t]:
            pos = np.flatnonzero(classes.ravel() == values[k])[local]
            rows += [(k, t, maps[t].tile, int(p // width), int(p % width)) for p in pos]
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[4]))
    res = cfg.grid.resolution
    xs, ys = [], []
    for _, _, tile, r, c in rows:
        a = cfg.grid.geobox(tile).affine
        xs.append(a.c + (c + 0.5) * res)
        ys.append(a.f - (r + 0.5) * res)
    frame = pd.DataFrame({
        SAMPLE_ID: np.arange(1, len(rows) + 1, dtype=np.int64),
        TILE: [r[2] for r in rows],
        "row": np.array([r[3] for r in rows], np.int64),
        "col": np.array([r[4] for r in rows], np.int64),
        "x": np.array(xs, float),
        "y": np.array(ys, float),
        MAP_VALUE: np.array([values[r[0]] for r in rows], np.int64),
        MAP_CLASS: [design.classes[r[0]] for r in rows],
        REFERENCE: pd.Series([None] * len(rows), dtype="string"),
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=cfg.grid.crs)


__all__ = [
    "COLUMNS", "LAYER", "MAP_CLASS", "MAP_VALUE", "REFERENCE", "SAMPLE_ID", "MapTile", "SampleDesign",
    "class_values", "draw_sample", "map_tiles", "pixel_counts", "read_classes", "sample_design",
]
