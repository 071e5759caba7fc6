"""Label polygons -> stratified, seeded pixel samples with features, blocks and folds.

The samples table has one row per sampled pixel: the features (``feature_names(cfg)``,
float32), ``class_value``, ``class_name``, ``tile``, ``row``, ``col``, ``x``, ``y``
(pixel centre, EPSG:25833 metres), ``block``, ``fold`` and a point ``geometry``.
Rows are sorted by tile, row and column, so the same inputs and seed give the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from odc.geo.geobox import GeoBox
from rasterio.features import rasterize

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.training.blocks import assign_folds, block_ids
from sporbar.training.features import feature_names, feature_stack, required_mask

log = logging.getLogger(__name__)

LABEL_LAYER = "labels"
LABEL_CRS_EPSG = 25833


@dataclass(frozen=True)
class TileInputs:
    """The input items of one grid tile.

    Attributes:
        tile: grid tile id.
        ard: path of the tile's ARD item.
        lidar: path of the tile's lidar products item.
        s1: path of the tile's Sentinel-1 ARD item (None without Sentinel-1).
    """

    tile: str
    ard: Path
    lidar: Path
    s1: Path | None = None


def class_values(cfg: Config) -> dict[str, int]:
    """Class name -> pixel value, from ``classes[]``."""
    return {c["name"]: int(c["value"]) for c in cfg.data["classes"]}


def read_labels(path: Path, cfg: Config) -> gpd.GeoDataFrame:
    """Read label polygons (layer ``labels``) and check CRS, class column and class names.

    Raises:
        InputDataError: unreadable file, CRS other than EPSG:25833, no class column, or
            class names not in ``classes[].name``.
    """
    column = cfg.data["sources"]["labels"]["class_column"]
    try:
        gdf = gpd.read_file(path, layer=LABEL_LAYER)
    except Exception as err:  # pyogrio raises several types
        raise InputDataError(f"{path}: cannot read layer {LABEL_LAYER!r}: {err}") from err
    if gdf.crs is None or gdf.crs.to_epsg() != LABEL_CRS_EPSG:
        raise InputDataError(
            f"{path}: labels are in {gdf.crs.to_string() if gdf.crs else 'no CRS'}, expected "
            f"EPSG:{LABEL_CRS_EPSG} at this stage; reproject them in `sporbar fetch labels`"
        )
    if column not in gdf.columns:
        raise InputDataError(
            f"{path}: class column {column!r} missing "
            f"(columns {', '.join(map(str, gdf.columns))}); set sources.labels.class_column"
        )
    known = class_values(cfg)
    unknown = sorted(set(gdf[column].astype(str)) - set(known))
    if unknown:
        raise InputDataError(
            f"{path}: class names {unknown} in column {column!r} are not in classes[].name "
            f"({', '.join(known)}); fix the labels or add the classes to the config"
        )
    return gdf


def rasterize_labels(
    labels: gpd.GeoDataFrame, geobox: GeoBox, *, column: str, values: dict[str, int]
) -> np.ndarray:
    """Burn label polygons onto ``geobox`` as class values.

    Pixels whose centre lies in a polygon get its class value; 0 elsewhere. Where
    polygons overlap, the later row wins.

    Returns:
        (y, x) uint8 class raster.
    """
    shapes = [
        (geom, values[str(name)])
        for geom, name in zip(labels.geometry, labels[column], strict=True)
        if geom is not None and not geom.is_empty
    ]
    shape = tuple(geobox.shape.yx)
    if not shapes:
        return np.zeros(shape, dtype=np.uint8)
    burnt: np.ndarray = rasterize(shapes, out_shape=shape, transform=geobox.affine, fill=0, dtype="uint8")
    return burnt


def extract_samples(
    cfg: Config, labels_path: Path, tiles: Sequence[TileInputs], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Stratified seeded pixel samples over ``tiles`` with features, blocks and folds.

    Per class at most ``training.samples_per_class`` labelled pixels are drawn without
    replacement from all tiles together; pixels with a NaN feature are dropped first (counts
    are logged), but for the time-series steps (``ts_``), where NaN is a month without a
    clear view. Blocks of ``training.block_size`` m are assigned to
    ``training.folds`` folds with ``rng``.

    Raises:
        EmptyPeriodError: an ARD period holds no scene on a tile with labels.
        InputDataError: bad labels, inputs, no labelled pixel with data, or too few blocks
            for the folds.
    """
    tr = cfg.data["training"]
    column = cfg.data["sources"]["labels"]["class_column"]
    values = class_values(cfg)
    names = feature_names(cfg)
    required = required_mask(names)
    labels = read_labels(Path(labels_path), cfg)
    seen = np.zeros(len(names), bool)  # features with data at some labelled pixel
    cand_feat: list[np.ndarray] = []
    cand_meta: list[np.ndarray] = []  # (tile index, row, col, class value)
    for t_index, t in enumerate(sorted(tiles, key=lambda t: t.tile)):
        geobox = cfg.grid.geobox(t.tile)
        klass = rasterize_labels(labels, geobox, column=column, values=values)
        rows, cols = np.nonzero(klass)
        if rows.size == 0:
            log.info("samples: tile %s has no labelled pixels", t.tile)
            continue
        stack = feature_stack(cfg, t.tile, t.ard, t.lidar, t.s1)
        feats = stack[:, rows, cols].T
        finite = np.isfinite(feats[:, required]).all(axis=1)
        seen |= np.isfinite(feats).any(axis=0)
        log.info(
            "samples: tile %s: %d labelled pixels, %d dropped for NaN features",
            t.tile,
            rows.size,
            int((~finite).sum()),
        )
        cand_feat.append(feats[finite])
        cand_meta.append(
            np.stack([np.full(rows.size, t_index), rows, cols, klass[rows, cols]], axis=1)[finite]
        )
    if not sum(len(m) for m in cand_meta):
        # no labelled pixel, or none with every feature finite (NaN composites, no lidar, no S1 scene)
        empty = [n for n, needed, ok in zip(names, required, seen, strict=True) if needed and not ok]
        raise InputDataError(
            f"{labels_path}: no labelled pixel has data in every feature on tiles "
            f"{[t.tile for t in tiles]}; check that the labels overlap the area and that the "
            "ARD composites and lidar products of those tiles hold data"
            + (f"; these features have data at no labelled pixel: {empty}" if empty else "")
        )
    feat = np.concatenate(cand_feat).astype(np.float32)
    meta = np.concatenate(cand_meta).astype(np.int64)
    chosen: list[np.ndarray] = []
    for name, value in sorted(values.items(), key=lambda kv: kv[1]):
        idx = np.flatnonzero(meta[:, 3] == value)
        n = min(idx.size, int(tr["samples_per_class"]))
        log.info("samples: class %s: %d candidates, %d sampled", name, idx.size, n)
        if n:
            chosen.append(np.sort(rng.choice(idx, size=n, replace=False)))
    sel = np.concatenate(chosen)
    sel = sel[np.lexsort((meta[sel, 2], meta[sel, 1], meta[sel, 0]))]
    sorted_tiles = sorted(t.tile for t in tiles)
    tile_col = np.array([sorted_tiles[i] for i in meta[sel, 0]], dtype=object)
    xs = np.empty(sel.size)
    ys = np.empty(sel.size)
    for tile in np.unique(tile_col):
        m = tile_col == tile
        aff = cfg.grid.geobox(str(tile)).affine
        xs[m] = aff.c + (meta[sel, 2][m] + 0.5) * aff.a  # north-up grid: no rotation terms
        ys[m] = aff.f + (meta[sel, 1][m] + 0.5) * aff.e
    blocks = block_ids(xs, ys, float(tr["block_size"]))
    fold_of = assign_folds(blocks, int(tr["folds"]), rng)
    by_value = {v: k for k, v in values.items()}
    df = pd.DataFrame(feat[sel], columns=names)
    df["class_value"] = meta[sel, 3].astype(np.int32)
    df["class_name"] = [by_value[int(v)] for v in meta[sel, 3]]
    df["tile"] = tile_col.astype(str)
    df["row"] = meta[sel, 1].astype(np.int32)
    df["col"] = meta[sel, 2].astype(np.int32)
    df["x"] = xs
    df["y"] = ys
    df["block"] = blocks.astype(str)
    df["fold"] = np.array([fold_of[b] for b in blocks], dtype=np.int32)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=cfg.grid.crs)
    log.info(
        "samples: %d samples in %d blocks, fold sizes %s",
        len(gdf),
        len(fold_of),
        gdf["fold"].value_counts().sort_index().to_dict(),
    )
    return gdf
