"""``sporbar samples`` as one library call: inputs -> samples GeoParquet -> training item (a version)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import write_bytes_atomic
from sporbar.stac.items.extent import period_span, tiles_bbox_wgs84
from sporbar.stac.items.training import SAMPLES_FILE, training_item
from sporbar.stac.record import RunContext, asset_path, read_input_item, read_item
from sporbar.stac.versions import intact_version, version_hash, version_path
from sporbar.training.features import feature_names
from sporbar.training.samples import TileInputs, extract_samples

log = logging.getLogger(__name__)

_TILE_RE = re.compile(r"(E-?\d+N-?\d+)$")


def split_inputs(paths: Sequence[Path]) -> tuple[Path, list[Path], list[Path], list[Path]]:
    """Sort input items into (labels, ARD, lidar products, Sentinel-1 ARD) by the assets they carry.

    Raises:
        InputDataError: an item is none of the four, or there is not exactly one labels item.
    """
    labels: list[Path] = []
    ard: list[Path] = []
    lidar: list[Path] = []
    s1: list[Path] = []
    for p in paths:
        keys = set(read_item(p).assets)
        if "labels" in keys:
            labels.append(p)
        elif any(k.startswith("composite-") for k in keys):
            ard.append(p)
        elif {"dtm", "chm"} <= keys:
            lidar.append(p)
        elif any(k.startswith("backscatter-") for k in keys):
            s1.append(p)
        else:
            raise InputDataError(
                f"{p}: not a labels, ARD, lidar products or Sentinel-1 ARD item (assets {', '.join(sorted(keys))})"
            )
    if len(labels) != 1:
        raise InputDataError(f"need exactly one labels item among the inputs, got {len(labels)}: {labels}")
    return labels[0], ard, lidar, s1


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


def pair_tiles(ard: Sequence[Path], lidar: Sequence[Path], s1: Sequence[Path] = ()) -> list[TileInputs]:
    """Pair ARD, lidar (and, if given, Sentinel-1 ARD) items by tile.

    Raises:
        InputDataError: a tile has an ARD item but no lidar item (or the reverse, or no
            Sentinel-1 item when some are given), or two.
    """
    ard_by = _by_tile(ard)
    lidar_by = _by_tile(lidar)
    s1_by = _by_tile(s1)
    if set(ard_by) != set(lidar_by) or (s1 and set(s1_by) != set(ard_by)):
        raise InputDataError(
            f"{', '.join(map(str, [*ard, *lidar, *s1]))}: ARD tiles {sorted(ard_by)}, lidar tiles "
            f"{sorted(lidar_by)}" + (f" and Sentinel-1 tiles {sorted(s1_by)}" if s1 else "")
            + " differ; pass one item of each per tile"
        )
    return [TileInputs(t, ard_by[t], lidar_by[t], s1_by.get(t)) for t in sorted(ard_by)]


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
    s1_items: Sequence[Path] = (),
    series_dir: Path,
    ctx: RunContext,
    as_version: str | None = None,
) -> dict[str, Any]:
    """Extract training samples and record them as a version of the training set.

    The version is the hash of the samples file: the item goes to
    ``<series_dir>/<version>/item.json`` with ``samples.parquet`` beside it. A version whose
    folder already holds a complete item is kept as it is (no new version, nothing rewritten;
    see ``sporbar.stac.versions``).

    Args:
        cfg: the pipeline config (``training``, ``classes``, features).
        labels_item: the labels item.
        ard_items: the ARD item of every tile.
        lidar_items: the lidar products item of every tile.
        s1_items: the Sentinel-1 ARD item of every tile (with ``sources.sentinel1`` on).
        series_dir: the folder of every version (``plan.series_dir(cfg, "training", area=...)``).
        ctx: who runs the step (provenance, rule).
        as_version: ``sporbar reproduce`` only: write the output as this (recorded) version, so
            that it is compared with the delivered one also when the samples come out otherwise.

    Returns:
        The item dict of the version (``properties.version`` names its folder).

    Raises:
        InputDataError: bad labels or inputs (see :func:`extract_samples`), e.g. an ARD
            period that holds no scene on a tile.
    """
    tiles = pair_tiles(ard_items, lidar_items, s1_items)
    labels = read_input_item(Path(labels_item), ["labels"])
    labels_path = asset_path(Path(labels_item), labels, "labels")
    rng = np.random.default_rng(int(cfg.data["training"]["seed"]))
    samples = extract_samples(cfg, labels_path, tiles, rng)
    buf = io.BytesIO()
    samples.to_parquet(buf, index=False)
    data = buf.getvalue()
    version = as_version or version_hash(hashlib.sha256(data).hexdigest())
    output = version_path(Path(series_dir), version)
    kept = intact_version(output)
    if kept is not None:
        log.info("samples: %s is unchanged (version %s kept)", output, version)
        return kept
    write_bytes_atomic(output.parent / SAMPLES_FILE, data)
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
        version=version,
    )
    return ctx.record(
        item,
        output,
        inputs=[Path(labels_item), *[t.ard for t in tiles], *[t.lidar for t in tiles],
                *[t.s1 for t in tiles if t.s1 is not None]],
        lineage="Label polygons rasterised on each tile grid; stratified seeded pixel samples "
        "with Sentinel-2 and lidar features, spatial blocks and cross-validation folds.",
        command="samples",
        parameters={
            "labels": str(labels_item),
            "ard": [str(t.ard) for t in tiles],
            "lidar": [str(t.lidar) for t in tiles],
            **({"s1": [str(t.s1) for t in tiles]} if any(t.s1 for t in tiles) else {}),
            "training": dict(cfg.data["training"]),
        },
    )
