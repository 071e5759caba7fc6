"""``sporbar samples`` as one library call: inputs -> samples GeoParquet -> training item."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pystac
from odc.geo.geom import BoundingBox
from pystac.extensions.table import Column, TableExtension

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import atomic_path, check_writable
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, asset_path, read_item, record_item
from sporbar.training.features import feature_names
from sporbar.training.samples import TileInputs, extract_samples

SAMPLES_FILE = "samples.parquet"
_TILE_RE = re.compile(r"(E-?\d+N-?\d+)$")

# sporbar properties of the training item
FEATURES = ext.SPORBAR_PREFIX + "features"
CLASS_COUNTS = ext.SPORBAR_PREFIX + "class_counts"
FOLDS = ext.SPORBAR_PREFIX + "folds"
FOLD_COUNTS = ext.SPORBAR_PREFIX + "fold_counts"
BLOCK_SIZE = ext.SPORBAR_PREFIX + "block_size"
SEED = ext.SPORBAR_PREFIX + "seed"
TILES = ext.SPORBAR_PREFIX + "tiles"


def split_inputs(paths: Sequence[Path]) -> tuple[Path, list[Path], list[Path]]:
    """Sort input items into (labels, ARD, lidar products) by the assets they carry.

    Raises:
        InputDataError: an item is none of the three, or there is not exactly one labels item.
    """
    labels: list[Path] = []
    ard: list[Path] = []
    lidar: list[Path] = []
    for p in paths:
        keys = set(read_item(p).assets)
        if "labels" in keys:
            labels.append(p)
        elif any(k.startswith("composite-") for k in keys):
            ard.append(p)
        elif {"dtm", "chm"} <= keys:
            lidar.append(p)
        else:
            raise InputDataError(
                f"{p}: not a labels, ARD or lidar products item (assets {', '.join(sorted(keys))})"
            )
    if len(labels) != 1:
        raise InputDataError(f"need exactly one labels item among the inputs, got {len(labels)}: {labels}")
    return labels[0], ard, lidar


def tile_of(item_path: Path) -> str:
    """Grid tile of an ARD or lidar item: from its id (``ard-<tile>``, ``lidar-products-<tile>``)
    or else its folder name.

    Raises:
        InputDataError: neither names a tile.
    """
    item = read_item(Path(item_path))
    for candidate in (item.id, Path(item_path).parent.name):
        m = _TILE_RE.search(candidate)
        if m:
            return m.group(1)
    raise InputDataError(
        f"{item_path}: cannot tell the tile from item id {item.id!r} or its folder"
    )


def pair_tiles(ard: Sequence[Path], lidar: Sequence[Path]) -> list[TileInputs]:
    """Pair ARD and lidar items by tile.

    Raises:
        InputDataError: a tile has an ARD item but no lidar item (or the reverse), or two.
    """
    ard_by = _by_tile(ard)
    lidar_by = _by_tile(lidar)
    if set(ard_by) != set(lidar_by):
        raise InputDataError(
            f"{', '.join(map(str, [*ard, *lidar]))}: ARD tiles {sorted(ard_by)} and lidar tiles "
            f"{sorted(lidar_by)} differ; pass one --ard and one --lidar item per tile"
        )
    return [TileInputs(t, ard_by[t], lidar_by[t]) for t in sorted(ard_by)]


def _by_tile(paths: Sequence[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in paths:
        t = tile_of(p)
        if t in out:
            raise InputDataError(f"{p}: a second item for tile {t} (first {out[t]})")
        out[t] = Path(p)
    return out


def tiles_bbox_wgs84(cfg: Config, tiles: Sequence[str]) -> list[float]:
    """Union bbox (lon/lat, EPSG:4326) of grid tiles."""
    boxes = [cfg.grid.geobox(t).extent.to_crs("EPSG:4326").boundingbox for t in tiles]
    b = BoundingBox(
        min(x.left for x in boxes),
        min(x.bottom for x in boxes),
        max(x.right for x in boxes),
        max(x.top for x in boxes),
    )
    return [round(v, 7) for v in (b.left, b.bottom, b.right, b.top)]


def period_range(cfg: Config) -> tuple[datetime, datetime]:
    """First start and last end of the ARD periods (UTC)."""
    from datetime import UTC, date

    periods = cfg.data["ard"]["periods"]
    start = min(date.fromisoformat(p["start"]) for p in periods)
    end = max(date.fromisoformat(p["end"]) for p in periods)
    return (datetime.combine(start, time.min, UTC), datetime.combine(end, time(23, 59, 59), UTC))


def bbox_polygon(bbox: Sequence[float]) -> dict[str, Any]:
    """GeoJSON polygon of a bbox."""
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def training_item(cfg: Config, samples: gpd.GeoDataFrame, tiles: Sequence[str]) -> pystac.Item:
    """The training-data item (asset ``samples``, properties describing the table)."""
    area = cfg.data["area"]["name"]
    bbox = tiles_bbox_wgs84(cfg, tiles)
    start, end = period_range(cfg)
    tr = cfg.data["training"]
    item = pystac.Item(
        id=f"training-{area}",
        geometry=bbox_polygon(bbox),
        bbox=bbox,
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={},
    )
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection training-data from the path.
    counts = samples["class_name"].value_counts()
    item.properties.update(
        {
            FEATURES: feature_names(cfg),
            CLASS_COUNTS: {str(k): int(v) for k, v in sorted(counts.items())},
            FOLDS: int(tr["folds"]),
            FOLD_COUNTS: {
                str(k): int(v) for k, v in sorted(samples["fold"].value_counts().items())
            },
            BLOCK_SIZE: int(tr["block_size"]),
            SEED: int(tr["seed"]),
            TILES: sorted(tiles),
        }
    )
    item.add_asset(
        "samples",
        pystac.Asset(
            href=f"./{SAMPLES_FILE}",
            media_type=ext.GEOPARQUET,
            roles=["data"],
            title="Training samples (GeoParquet points, EPSG:25833)",
        ),
    )
    table = TableExtension.ext(item, add_if_missing=True)
    table.columns = [
        Column({"name": str(c), "type": str(samples[c].dtype)}) for c in samples.columns
    ]
    table.primary_geometry = "geometry"
    table.row_count = len(samples)
    return item


def run_samples(
    cfg: Config,
    *,
    labels_item: Path,
    ard_items: Sequence[Path],
    lidar_items: Sequence[Path],
    output: Path,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Extract training samples and record the training item at ``output``.

    Returns:
        The item dict as written.
    """
    check_writable(Path(output), overwrite=overwrite)
    tiles = pair_tiles(ard_items, lidar_items)
    labels = read_item(Path(labels_item))
    labels_path = asset_path(Path(labels_item), labels, "labels")
    rng = np.random.default_rng(int(cfg.data["training"]["seed"]))
    samples = extract_samples(cfg, labels_path, tiles, rng)
    out_dir = Path(output).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / SAMPLES_FILE) as tmp:
        samples.to_parquet(tmp, index=False)
    item = training_item(cfg, samples, [t.tile for t in tiles])
    step = Step(
        lineage="Label polygons rasterised on each tile grid; stratified seeded pixel samples "
        "with Sentinel-2 and lidar features, spatial blocks and cross-validation folds.",
        command="samples",
        parameters={
            "labels": str(labels_item),
            "ard": [str(t.ard) for t in tiles],
            "lidar": [str(t.lidar) for t in tiles],
            "training": dict(cfg.data["training"]),
        },
        rule=rule,
    )
    return record_item(
        item,
        Path(output),
        inputs=[Path(labels_item), *[t.ard for t in tiles], *[t.lidar for t in tiles]],
        step=step,
        provenance=Provenance.current(config_hash=cfg.hash),
    )
