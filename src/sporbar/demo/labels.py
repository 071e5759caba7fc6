"""Synthetic field-mapped label polygons from the demo landscape.

Like reference polygons from a field survey, the labels are not wall-to-wall: the
class raster is cut into survey blocks, each connected patch of one class within a
block is a candidate polygon, and a seeded subset of candidates per class is kept.
Each kept polygon is shrunk inward by one landscape cell (a negative buffer), so it
lies inside its class and away from mixed edge pixels. Every class present in the
area gets at least one polygon.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from shapely.geometry import shape

from sporbar.config import Config
from sporbar.demo.landscape import LANDSCAPE_RES, DemoClass, Landscape
from sporbar.vector import write_geopackage

log = logging.getLogger(__name__)

LABELS_PATH = "labels/labels.gpkg"
LAYER = "labels"
CRS = "EPSG:25833"
SURVEY_BLOCK = 200  # metres: edge of the survey blocks that cut large patches
KEEP_FRACTION = 0.35  # share of candidate polygons per class that are surveyed
MIN_AREA = 2 * LANDSCAPE_RES**2  # m2: smaller shrunk polygons are dropped
SURVEYORS = ("A. Haugen", "B. Lie", "K. Nilsen", "S. Dahl")
SURVEY_START = date(2023, 6, 12)
SURVEY_DAYS = 70


def _candidates(
    landscape: Landscape, area: tuple[float, float, float, float]
) -> list[tuple[int, Any]]:
    """(class value, polygon) of every class patch within each survey block of the area."""
    t = landscape.transform
    ny, nx = landscape.shape
    xs = t.c + (np.arange(nx) + 0.5) * LANDSCAPE_RES
    ys = t.f - (np.arange(ny) + 0.5) * LANDSCAPE_RES
    bx = np.floor(xs / SURVEY_BLOCK).astype(np.int64)
    by = np.floor(ys / SURVEY_BLOCK).astype(np.int64)
    bx -= bx.min()
    by -= by.min()
    block = by[:, None] * (bx.max() + 1) + bx[None, :]
    inside = (
        (xs[None, :] > area[0])
        & (xs[None, :] < area[2])
        & (ys[:, None] > area[1])
        & (ys[:, None] < area[3])
    )
    key = (block * 16 + landscape.classes.astype(np.int64)).astype(np.int32)
    out = []
    for geom, value in rasterio.features.shapes(key, mask=inside, connectivity=4, transform=t):
        out.append((int(value) % 16, shape(geom)))
    return out


def label_frame(cfg: Config, landscape: Landscape) -> gpd.GeoDataFrame:
    """The demo label polygons as a GeoDataFrame in EPSG:25833 (not yet written)."""
    area = tuple(float(v) for v in cfg.data["area"]["bbox"])
    class_column = cfg.data["sources"]["labels"]["class_column"]
    rng = np.random.default_rng([int(cfg.data["demo"]["seed"]), 0x1AB])
    cands = _candidates(landscape, area)  # type: ignore[arg-type]
    rows: list[tuple[int, Any]] = []
    for value in sorted({v for v, _ in cands}):
        polys = [g for v, g in cands if v == value]
        chosen = rng.random(len(polys)) < KEEP_FRACTION
        kept = _shrink([p for p, c in zip(polys, chosen, strict=True) if c])
        if not kept:  # a rare class: survey its largest patches instead
            kept = _shrink(sorted(polys, key=lambda p: -p.area)[:3])
        if not kept:  # patches too narrow to shrink by a whole cell: shrink less
            kept = _shrink(sorted(polys, key=lambda p: -p.area)[:3], LANDSCAPE_RES / 4, 0.0)
        rows += [(value, p) for p in kept]
    rows.sort(key=lambda r: (r[0], round(r[1].centroid.y, 2), round(r[1].centroid.x, 2)))
    n = len(rows)
    days = rng.integers(0, SURVEY_DAYS, n)
    who = rng.integers(0, len(SURVEYORS), n)
    return gpd.GeoDataFrame(
        {
            "polygon_id": [f"{cfg.data['area']['name']}-{i + 1:04d}" for i in range(n)],
            class_column: [DemoClass(v).name for v, _ in rows],
            "surveyor": [SURVEYORS[i] for i in who],
            "survey_date": [(SURVEY_START + timedelta(days=int(d))).isoformat() for d in days],
        },
        geometry=[p for _, p in rows],
        crs=CRS,
    )


def _shrink(polys: list[Any], dist: float = LANDSCAPE_RES, min_area: float = MIN_AREA) -> list[Any]:
    out = []
    for p in polys:
        g = shapely.set_precision(p.buffer(-dist, join_style="mitre"), 0.01)
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon" and not part.is_empty and part.area > max(min_area, 0.0):
                out.append(part)
    return out


def write_labels(cfg: Config, landscape: Landscape, out_dir: Path) -> dict[str, Any]:
    """Write ``out_dir/labels/labels.gpkg`` (layer ``labels``, EPSG:25833).

    Returns:
        ``{"path": "labels/labels.gpkg", "count": <number of polygons>}``.
    """
    gdf = label_frame(cfg, landscape)
    write_geopackage(gdf, Path(out_dir) / LABELS_PATH, layer=LAYER)
    counts = gdf[cfg.data["sources"]["labels"]["class_column"]].value_counts().sort_index()
    log.info(
        "demo labels: %d polygons (%s)", len(gdf), ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return {"path": LABELS_PATH, "count": int(len(gdf))}


__all__ = ["LABELS_PATH", "LAYER", "label_frame", "write_labels"]
