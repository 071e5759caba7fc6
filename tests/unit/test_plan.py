"""Workflow planning: paths and wildcards from the config alone."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from conftest import DEMO_CONFIG, small_config

from sporbar.config import Config, load, validate
from sporbar.demo.names import lidar_tile_bounds
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
    jobs = plan.Plan(cfg)
    for tile in cfg.tiles:
        b = cfg.grid.geobox(tile).extent.boundingbox
        for lt in jobs.lidar_tiles_for(tile):
            x0, y0, x1, y1 = lidar_tile_bounds(cfg, lt)
            assert x0 < b.right and x1 > b.left and y0 < b.top and y1 > b.bottom
    # every delivered tile is used by some grid tile
    used = {lt for t in cfg.tiles for lt in jobs.lidar_tiles_for(t)}
    assert used == set(plan.lidar_tile_ids(cfg))


def test_stage_hash_changes_only_with_its_sections(tmp_path: Path) -> None:
    a = Config(validate(small_config(tmp_path)))
    changed = small_config(tmp_path)
    changed["models"][0]["n_estimators"] = 7
    b = Config(validate(changed))
    assert plan.stage_hash(a, "ard") == plan.stage_hash(b, "ard")
    assert plan.stage_hash(a, "train") != plan.stage_hash(b, "train")


def _stages_changed(a: dict, b: dict) -> set[str]:
    ca, cb = Config(validate(a)), Config(validate(b))
    return {s for s in plan.STAGE_SECTIONS if plan.stage_hash(ca, s) != plan.stage_hash(cb, s)}


def test_changing_the_label_file_redoes_only_the_label_fetch(tmp_path: Path) -> None:
    # (the steps after it re-run because the labels item changes, not because of their settings)
    a, b = small_config(tmp_path), small_config(tmp_path)
    a["sources"]["labels"] = {"source": "file", "path": "field-2023.gpkg", "class_column": "class_name"}
    b["sources"]["labels"] = {"source": "file", "path": "field-2024.gpkg", "class_column": "class_name"}
    assert _stages_changed(a, b) == {"fetch_labels"}


def test_changing_job_block_redoes_the_block_jobs(tmp_path: Path) -> None:
    # a block's manifest lists its tiles: with another job_block the same block id holds other tiles
    assert _stages_changed(small_config(tmp_path, job_block=1), small_config(tmp_path, job_block=2)) == {
        "fetch_lidar", "ard", "s1_ard", "lidar", "predict"}


def test_stage_hashes_cover_what_the_stage_reads(tmp_path: Path) -> None:
    base = small_config(tmp_path)
    periods = small_config(tmp_path)
    periods["ard"]["periods"][0]["end"] = "2024-07-01"
    assert _stages_changed(base, periods) == {"search_s2", "search_s1", "ard", "s1_ard", "samples"}
    cloud = small_config(tmp_path)
    cloud["sources"]["sentinel2"]["max_cloud_cover"] = 11
    assert _stages_changed(base, cloud) == {"search_s2", "fetch_s2", "ard"}
    lidar_crs = small_config(tmp_path)
    lidar_crs["sources"]["lidar"]["epsg"] = 5973
    assert _stages_changed(base, lidar_crs) == {"search_lidar", "fetch_lidar", "lidar"}
    speckle = small_config(tmp_path)
    speckle["s1_ard"] = {**speckle["s1_ard"], "speckle_filter": {"method": "none"}}
    geoid = small_config(tmp_path)
    geoid["s1_ard"] = {**geoid["s1_ard"], "geoid": 40}
    assert _stages_changed(base, geoid) == {"s1_ard"}
    assert _stages_changed(base, speckle) == {"s1_ard"}


def test_the_dcat_choice_redoes_only_the_metadata_export(tmp_path: Path) -> None:
    omit = small_config(tmp_path)
    omit["metadata"] = {"dcat": {"restricted": "omit"}}
    assert _stages_changed(small_config(tmp_path), omit) == {"export_metadata"}


def test_the_contact_email_redoes_only_the_metadata_export(tmp_path: Path) -> None:
    other = small_config(tmp_path)
    other["metadata"] = {"contact_email": "data@example.no"}
    assert _stages_changed(small_config(tmp_path), other) == {"export_metadata"}


def _national(tmp_path: Path, columns: int) -> Config:
    """``columns`` x 20 tiles of 20 km with 5 km lidar deliveries (16 per tile)."""
    data = small_config(tmp_path)
    data["grid"]["tile_size"] = 20000
    data["area"]["bbox"] = [0, 6600000, 20000 * columns, 6600000 + 20000 * 20]
    data["demo"]["lidar_tile_size"] = 5000
    data["job_block"] = 2
    return Config(validate(data))


def _python_calls(work: Callable[[], object]) -> int:
    """Python and C function calls made by ``work``: its cost, counted, not timed."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def _dag_questions(cfg: Config) -> None:
    """What one Snakemake parse and DAG build ask the plan: outputs, blocks, lidar per block."""
    jobs = plan.Plan(cfg)
    jobs.tracked_outputs()
    for b in jobs.blocks:
        jobs.block_tiles(b)
        jobs.lidar_blocks_for(b)
    plan.all_outputs(cfg)


def test_plan_scales_linearly_for_a_national_run(tmp_path: Path) -> None:
    small, large = _national(tmp_path, 10), _national(tmp_path, 40)
    assert len(small.tiles) == 200 and len(large.tiles) == 800
    assert len([p for p in plan.all_outputs(large) if "/maps/" in str(p)]) == 800
    ratio = _python_calls(lambda: _dag_questions(large)) / _python_calls(lambda: _dag_questions(small))
    # 4 x the tiles (and deliveries): linear work is 4 x the calls; a look-up that scanned every
    # tile or delivery per question would be 16 x.
    assert 3.5 < ratio < 4.5, ratio


def test_sentinel1_fetched_but_not_used_when_s1_ard_is_off(tmp_path: Path) -> None:
    from conftest import write_config

    from sporbar.bands import s1_enabled
    from sporbar.training.features import feature_names

    data = small_config(tmp_path / "results")
    assert data["sources"]["sentinel1"]["source"] == "demo"  # the demo config has Sentinel-1 on
    on = load(write_config(tmp_path / "on.yaml", data))
    data["s1_ard"] = {"enabled": False}
    off = load(write_config(tmp_path / "off.yaml", data))
    assert s1_enabled(on.data) and not s1_enabled(off.data)
    assert plan.s1_source(off) == "demo" and plan.s1_scene_ids(off) == plan.s1_scene_ids(on)  # still fetched
    s1_ard = {plan.path(on, "s1_ard", tile=t) for t in on.tiles}
    assert s1_ard <= set(plan.all_outputs(on)) and not s1_ard & set(plan.all_outputs(off))
    assert any("_vv_" in n for n in feature_names(on)) and not any("_vv_" in n for n in feature_names(off))
    assert plan.stage_hash(on, "samples") != plan.stage_hash(off, "samples")
