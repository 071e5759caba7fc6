"""Workflow planning: paths and wildcards from the config alone."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import DEMO_CONFIG, small_config

from sporbar.config import Config, load, validate
from sporbar.workflow import plan


def test_demo_plan() -> None:
    cfg = load(DEMO_CONFIG)
    scenes = plan.scene_ids(cfg)
    assert len(scenes) == len(cfg.data["demo"]["dates"])
    assert scenes[0].startswith("S2A_MSIL2A_20240528T104031_N0510_R094_T32VNR_")
    outputs = plan.all_outputs(cfg)
    assert len(outputs) == len(set(outputs))
    assert plan.path(cfg, "ard", tile="E268800N7029760") == Path(
        "results/ard/sentinel-2-l2a/E268800N7029760/item.json")


def test_lidar_tiles_for_tile_overlap_only() -> None:
    cfg = load(DEMO_CONFIG)
    for tile in cfg.tiles:
        b = cfg.grid.geobox(tile).extent.boundingbox
        for lt in plan.lidar_tiles_for(cfg, tile):
            x0, y0, x1, y1 = plan.lidar_tile_bounds(cfg, lt)
            assert x0 < b.right and x1 > b.left and y0 < b.top and y1 > b.bottom
    # every delivered tile is used by some grid tile
    used = {lt for t in cfg.tiles for lt in plan.lidar_tiles_for(cfg, t)}
    assert used == set(plan.lidar_tile_ids(cfg))


def test_stage_hash_changes_only_with_its_sections(tmp_path: Path) -> None:
    a = Config(validate(small_config(tmp_path)))
    changed = small_config(tmp_path)
    changed["models"][0]["n_estimators"] = 7
    b = Config(validate(changed))
    assert plan.stage_hash(a, "ard") == plan.stage_hash(b, "ard")
    assert plan.stage_hash(a, "train") != plan.stage_hash(b, "train")


def test_plan_scales_linearly_for_a_national_run(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["grid"]["tile_size"] = 20000
    data["area"]["bbox"] = [0, 6600000, 1_000_000, 6600000 + 20000 * 20]  # 50 x 20 tiles
    data["demo"]["lidar_tile_size"] = 5000
    cfg = Config(validate(data))
    start = time.perf_counter()
    outputs = plan.all_outputs(cfg)
    assert len(cfg.tiles) == 1000
    assert len([p for p in outputs if "/maps/" in str(p)]) == 1000
    # no timing assertion (see benchmarks/); just that it completes without touching files
    assert time.perf_counter() - start >= 0
