"""The end-of-run summary printed by ``make run``."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from sporbar.config import Config
from sporbar.stac.layout import ItemLayout
from sporbar.workflow import plan
from sporbar.workflow.blocks import is_manifest, manifest_items

METRIC_NAMES = ("overall_accuracy", "kappa", "macro_f1", "baseline_accuracy")


def run_summary(cfg: Config, *, started: int | None = None) -> str:
    """Text summary of the run's outputs for ``cfg``: catalog, tiles, items, model metrics."""
    outputs = plan.all_outputs(cfg)
    # a versioned output's manifest stands for the version item it lists
    done = [q for p in outputs if p.exists() for q in (manifest_items(p) if is_manifest(p) else [p])]
    by_collection: Counter[str] = Counter()
    layout = ItemLayout.from_patterns(plan.PATTERNS)
    for p in done:
        by_collection[layout.infer_collection(json.loads(p.read_text()), p)] += 1
    catalog = plan.path(cfg, "catalog")
    lines = [
        "",
        "sporbar run summary",
        "===================",
        f"area        {cfg.data['area']['name']}  bbox {cfg.data['area']['bbox']} ({cfg.grid.crs})",
        f"tiles       {len(cfg.tiles)} of {cfg.grid.tile_size} m: {', '.join(cfg.tiles)}",
        f"items       {len(done)} of {len(outputs)} written: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_collection.items())),
    ]
    for model_id in plan.model_ids(cfg):
        path = plan.path(cfg, "model_job", model=model_id)
        if not path.exists():
            lines.append(f"model       {model_id}: not trained")
            continue
        item = json.loads(manifest_items(path)[0].read_text())
        metrics = item["properties"].get("sporbar:metrics", {})
        shown = ", ".join(f"{k} {metrics[k]:.3f}" for k in METRIC_NAMES if k in metrics)
        lines.append(f"model       {model_id}: {shown} (spatially blocked CV; {item['id']})")
    assessed = plan.path(cfg, "accuracy", product=cfg.data["map"]["product"])
    if assessed.exists():
        acc = json.loads(assessed.read_text())["properties"].get("sporbar:accuracy", {})
        o = acc.get("overall_accuracy") or {}
        if o:
            lines.append(f"map         overall accuracy {o['estimate']:.3f} +- {o['ci95']:.3f} (95 % CI, "
                         f"{acc['sample_size']} validation points, area-adjusted): {assessed}")
    if started is not None:
        lines.append(f"wall time   {time.time() - started:.0f} s")
    state = "written" if catalog.exists() else "NOT written"
    lines += [
        f"catalog     {Path(catalog).resolve()} ({state})",
        f"verify      sporbar verify {catalog}",
        f"lineage     sporbar lineage {plan.path(cfg, 'map', product=cfg.data['map']['product'], tile=cfg.tiles[0])}",
        "",
    ]
    return "\n".join(lines)
