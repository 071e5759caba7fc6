"""``sporbar samples`` as one library call: inputs -> samples GeoParquet -> training item."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import atomic_path, check_writable
from sporbar.stac.items.extent import period_span, tiles_bbox_wgs84
from sporbar.stac.items.training import SAMPLES_FILE, training_item
from sporbar.stac.record import RunContext, asset_path, read_input_item, read_item
from sporbar.training.features import feature_names
from sporbar.training.samples import TileInputs, extract_samples

_TILE_RE = re.compile(r"(E-?\d+N-?\d+)$")


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
    """Grid tile of an ARD or lidar item.

    From its id (``ard-<tile>``, ``lidar-products-<tile>``), or else its folder name.

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


def run_samples(
    cfg: Config,
    *,
    labels_item: Path,
    ard_items: Sequence[Path],
    lidar_items: Sequence[Path],
    output: Path,
    ctx: RunContext,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Extract training samples and record the training item at ``output``.

    Args:
        cfg: the pipeline config (``training``, ``classes``, features).
        labels_item: the labels item.
        ard_items: the ARD item of every tile.
        lidar_items: the lidar products item of every tile.
        output: where to write the training item; ``samples.parquet`` goes beside it.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        InputDataError: bad labels or inputs (see :func:`extract_samples`), e.g. an ARD
            period that holds no scene on a tile.
    """
    check_writable(Path(output), overwrite=overwrite)
    tiles = pair_tiles(ard_items, lidar_items)
    labels = read_input_item(Path(labels_item), ["labels"])
    labels_path = asset_path(Path(labels_item), labels, "labels")
    rng = np.random.default_rng(int(cfg.data["training"]["seed"]))
    samples = extract_samples(cfg, labels_path, tiles, rng)
    out_dir = Path(output).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / SAMPLES_FILE) as tmp:
        samples.to_parquet(tmp, index=False)
    tile_ids = [t.tile for t in tiles]
    start, end = period_span(cfg.data["ard"]["periods"])
    item = training_item(
        cfg.data["area"]["name"],
        samples,
        features=feature_names(cfg),
        tiles=tile_ids,
        bbox=tiles_bbox_wgs84(cfg.grid, tile_ids),
        start=start,
        end=end,
        training=cfg.data["training"],
    )
    return ctx.record(
        item,
        Path(output),
        inputs=[Path(labels_item), *[t.ard for t in tiles], *[t.lidar for t in tiles]],
        lineage="Label polygons rasterised on each tile grid; stratified seeded pixel samples "
        "with Sentinel-2 and lidar features, spatial blocks and cross-validation folds.",
        command="samples",
        parameters={
            "labels": str(labels_item),
            "ard": [str(t.ard) for t in tiles],
            "lidar": [str(t.lidar) for t in tiles],
            "training": dict(cfg.data["training"]),
        },
    )
