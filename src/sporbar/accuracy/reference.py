"""Read a labelled validation sample back and check it against the map and the classes.

Interpreters fill the ``reference`` column of the sample GeoPackage that ``sporbar
validation-sample`` wrote, with class names of ``classes[]``. Before any estimate is made, every
point must have a known reference class, lie on a tile of the map, and fall on a classified
pixel; a ``map_value`` column, if kept, must agree with the map there (else the sample was drawn
from another map). Each problem is an :class:`InputDataError` naming the file, the sample ids
and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio

from sporbar.accuracy.sample import LAYER, MAP_VALUE, REFERENCE, SAMPLE_ID, MapTile, read_classes
from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError

#: (x, y) arrays of points in the grid CRS -> their reference class names
Labeller = Callable[[np.ndarray, np.ndarray], list[str]]


def _ids(frame: gpd.GeoDataFrame, mask: np.ndarray, limit: int = 8) -> str:
    ids = [str(v) for v in frame.loc[mask, SAMPLE_ID].tolist()]
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def read_sample(path: Path, cfg: Config) -> gpd.GeoDataFrame:
    """Read layer ``sample`` of a sample GeoPackage: points in the grid CRS, with ``sample_id``.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: not a readable vector file, no ``sample`` layer, a column missing,
            duplicate sample ids, geometries other than points, or no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: validation sample not found")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as err:
        raise InputDataError(f"{path}: not a readable GeoPackage ({err})") from err
    if LAYER not in layers:
        raise InputDataError(f"{path}: no layer {LAYER!r} (has {', '.join(layers)}); "
                             "give the file `sporbar validation-sample` wrote")
    frame = gpd.read_file(path, layer=LAYER, engine="pyogrio")
    missing = [c for c in (SAMPLE_ID, REFERENCE) if c not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns))
        raise InputDataError(f"{path}: column(s) {', '.join(missing)} missing (has {has})")
    if frame.crs is None:
        raise InputDataError(f"{path}: the sample has no CRS; it must be in {cfg.grid.crs}")
    frame = frame.to_crs(cfg.grid.crs)
    if len(frame) == 0:
        raise InputDataError(f"{path}: the sample holds no point")
    not_points = (frame.geometry.geom_type != "Point").to_numpy()
    if not_points.any():
        raise InputDataError(f"{path}: sample_id {_ids(frame, not_points)}: geometry is not a point")
    dup = frame[SAMPLE_ID].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputDataError(f"{path}: sample_id {_ids(frame, dup)} used more than once")
    return frame.sort_values(SAMPLE_ID, kind="stable").reset_index(drop=True)


def reference_indices(path: Path, frame: gpd.GeoDataFrame, names: Sequence[str]) -> np.ndarray:
    """Index into ``names`` of each point's reference class.

    Raises:
        InputDataError: points without a reference label, or labels that are not class names.
    """
    ref = frame[REFERENCE].astype("string").str.strip()
    empty = (ref.isna() | (ref == "")).to_numpy()
    if empty.any():
        raise InputDataError(
            f"{path}: {int(empty.sum())} of {len(frame)} points have no reference label (sample_id "
            f"{_ids(frame, empty)}); fill column {REFERENCE!r} with class names ({', '.join(names)})"
        )
    lookup = {n: i for i, n in enumerate(names)}
    unknown = ~ref.isin(list(names)).to_numpy()
    if unknown.any():
        bad = sorted(set(ref[unknown].tolist()))
        raise InputDataError(
            f"{path}: unknown reference class(es) {', '.join(map(repr, bad))} (sample_id {_ids(frame, unknown)}); "
            f"use the names of classes[]: {', '.join(names)}"
        )
    return np.array([lookup[v] for v in ref.tolist()], np.int64)


def mapped_values(path: Path, cfg: Config, frame: gpd.GeoDataFrame, maps: Sequence[MapTile]) -> np.ndarray:
    """The map class value under each point (its stratum).

    Raises:
        InputDataError: points outside the map's tiles, on no-data pixels, or whose
            ``map_value`` column disagrees with the map.
    """
    xs = frame.geometry.x.to_numpy()
    ys = frame.geometry.y.to_numpy()
    size, res = cfg.grid.tile_size, cfg.grid.resolution
    ix, iy = np.floor(xs / size).astype(np.int64), np.floor(ys / size).astype(np.int64)
    tile_ids = np.array([cfg.grid.tile_id(int(a), int(b)) for a, b in zip(ix, iy, strict=True)], dtype=object)
    by_tile = {m.tile: m for m in maps}
    outside = ~np.isin(tile_ids, list(by_tile))
    if outside.any():
        raise InputDataError(
            f"{path}: sample_id {_ids(frame, outside)} lie outside the map (tiles {', '.join(sorted(by_tile))}); "
            "remove them or give the map items that cover them"
        )
    out = np.zeros(len(frame), np.int64)
    for tile in sorted(set(tile_ids.tolist())):
        at = tile_ids == tile
        classes = read_classes(cfg, by_tile[tile])
        a = cfg.grid.geobox(tile).affine
        cols = np.floor((xs[at] - a.c) / res).astype(np.int64)
        rows = np.floor((a.f - ys[at]) / res).astype(np.int64)
        out[at] = classes[np.clip(rows, 0, classes.shape[0] - 1), np.clip(cols, 0, classes.shape[1] - 1)]
    nodata = out == 0
    if nodata.any():
        raise InputDataError(
            f"{path}: sample_id {_ids(frame, nodata)} fall on map pixels with no class (no data); "
            "the sample must be drawn from this map (`sporbar validation-sample`)"
        )
    if MAP_VALUE in frame.columns:
        differ = frame[MAP_VALUE].to_numpy(dtype=np.int64) != out
        if differ.any():
            raise InputDataError(
                f"{path}: sample_id {_ids(frame, differ)}: column {MAP_VALUE!r} differs from the map class "
                "there; the sample was drawn from another map: draw it again with `sporbar validation-sample`"
            )
    return out


__all__ = ["Labeller", "mapped_values", "read_sample", "reference_indices"]
