"""Job blocks: several tiles per job, a manifest per job, and resuming a killed job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_sporbar, small_config, write_config

from sporbar.config import Config, validate
from sporbar.errors import GridError, InputDataError
from sporbar.workflow import plan
from sporbar.workflow.blocks import expand_items, manifest_items, run_block


def _cfg(tmp_path: Path, job_block: int, bbox: list[int] | None = None) -> Config:
    data = small_config(tmp_path, job_block=job_block)
    if bbox:
        data["area"]["bbox"] = bbox
    return Config(validate(data))


def test_blocks_partition_the_tiles(tmp_path: Path) -> None:
    # 5 x 3 tiles of 640 m; 2 x 2 blocks -> 3 x 2 blocks, edge blocks partly filled
    cfg = _cfg(tmp_path, 2, [268800, 7029760, 268800 + 5 * 640, 7029760 + 3 * 640])
    assert len(cfg.tiles) == 15
    jobs = plan.Plan(cfg)
    blocks = jobs.blocks
    assert len(blocks) == 6
    tiles = [t for b in blocks for t in jobs.block_tiles(b)]
    assert sorted(tiles) == sorted(cfg.tiles)  # every tile in exactly one block
    assert max(len(jobs.block_tiles(b)) for b in blocks) == 4
    assert all(plan.block_of(cfg, t) == b for b in blocks for t in jobs.block_tiles(b))
    with pytest.raises(GridError, match="not a job block"):
        jobs.block_tiles("E0N0")
    # job_block 1: a block is a tile
    one = _cfg(tmp_path, 1, [268800, 7029760, 268800 + 5 * 640, 7029760 + 3 * 640])
    assert plan.Plan(one).blocks == one.tiles


@pytest.mark.parametrize("job_block", [1, 2, 3])
def test_lidar_ownership(tmp_path: Path, job_block: int) -> None:
    # 500 m deliveries on 640 m tiles: deliveries straddle tiles and blocks
    cfg = _cfg(tmp_path, job_block, [268800, 7029760, 268800 + 4 * 640, 7029760 + 3 * 640])
    jobs = plan.Plan(cfg)
    owned = [lt for b in jobs.blocks for lt in jobs.block_lidar_tiles(b)]
    assert sorted(owned) == plan.lidar_tile_ids(cfg)  # each delivery fetched by exactly one job
    for b in jobs.blocks:
        fetched_by = set(jobs.lidar_blocks_for(b))
        fetched = {lt for fb in fetched_by for lt in jobs.block_lidar_tiles(fb)}
        for t in jobs.block_tiles(b):
            assert set(jobs.lidar_tiles_for(t)) <= fetched


def _units(tmp_path: Path, n: int) -> list[tuple[str, Path]]:
    return [(f"u{i}", tmp_path / f"u{i}" / "item.json") for i in range(n)]


def _writer(calls: list[str], fail_at: str | None = None):
    def work(unit: str, item: Path) -> None:
        if unit == fail_at:
            raise RuntimeError(f"killed at {unit}")
        calls.append(unit)
        item.parent.mkdir(parents=True, exist_ok=True)
        item.write_text(json.dumps({"id": unit}))

    return work


def test_killed_job_resumes_at_first_unfinished_unit(tmp_path: Path) -> None:
    inp = tmp_path / "input.json"
    inp.write_text("{}")
    manifest = tmp_path / "jobs" / "B.json"
    units = _units(tmp_path, 4)
    calls: list[str] = []
    kw = dict(block="B", stage="ard", stage_hash="h1", manifest=manifest, units=units, inputs=[inp])
    with pytest.raises(RuntimeError, match="killed at u2"):
        run_block(**kw, work=_writer(calls, fail_at="u2"))
    assert calls == ["u0", "u1"] and not manifest.exists()
    calls.clear()
    doc = run_block(**kw, work=_writer(calls))
    assert calls == ["u2", "u3"]  # u0, u1 kept
    assert [e["unit"] for e in doc["items"]] == ["u0", "u1", "u2", "u3"]
    assert manifest_items(manifest) == [Path(os.path.normpath(p)) for _, p in units]
    assert not list(manifest.parent.glob("B.json.partial*"))


def test_same_job_from_two_working_folders_at_once(tmp_path: Path) -> None:
    # two Snakemake heads in two working folders on one root run the same block job; the
    # other one (another process) finishes while this one is at its second unit
    manifest = tmp_path / "jobs" / "B.json"
    units = _units(tmp_path, 3)
    other = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from sporbar.workflow.blocks import run_block\n"
        "def work(unit, item):\n"
        "    item.parent.mkdir(parents=True, exist_ok=True)\n"
        "    item.write_text(json.dumps({'id': unit}))\n"
        f"units = [(u, Path(p)) for u, p in {[(u, str(p)) for u, p in units]!r}]\n"
        f"run_block(block='B', stage='ard', stage_hash='h1', manifest=Path({str(manifest)!r}), units=units,\n"
        "          inputs=[], work=work)\n"
    )
    calls: list[str] = []
    plain = _writer(calls)

    def work(unit: str, item: Path) -> None:
        if unit == "u1":
            r = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
        plain(unit, item)

    doc = run_block(block="B", stage="ard", stage_hash="h1", manifest=manifest, units=units, inputs=[],
                    work=work)
    assert [e["unit"] for e in doc["items"]] == ["u0", "u1", "u2"] and calls == ["u0", "u1", "u2"]
    assert json.loads(manifest.read_text()) == doc and not list(manifest.parent.glob("B.json.partial*"))


def test_changed_input_settings_or_item_redo_units(tmp_path: Path) -> None:
    inp = tmp_path / "input.json"
    inp.write_text("{}")
    manifest = tmp_path / "jobs" / "B.json"
    units = _units(tmp_path, 3)
    calls: list[str] = []
    kw = dict(block="B", stage="ard", manifest=manifest, units=units)
    with pytest.raises(RuntimeError):
        run_block(**kw, stage_hash="h1", inputs=[inp], work=_writer(calls, fail_at="u2"))
    # other settings: nothing of the interrupted run is kept
    calls.clear()
    with pytest.raises(RuntimeError):
        run_block(**kw, stage_hash="h2", inputs=[inp], work=_writer(calls, fail_at="u2"))
    assert calls == ["u0", "u1"]
    # a changed input file: redone as well
    inp.write_text('{"changed": true}')
    calls.clear()
    with pytest.raises(RuntimeError):
        run_block(**kw, stage_hash="h2", inputs=[inp], work=_writer(calls, fail_at="u2"))
    assert calls == ["u0", "u1"]
    # an item altered after it was journalled: only that unit is redone
    units[0][1].write_text("tampered")
    calls.clear()
    run_block(**kw, stage_hash="h2", inputs=[inp], work=_writer(calls))
    assert calls == ["u0", "u2"]


def test_manifest_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "jobs" / "ard" / "B.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    with pytest.raises(InputDataError, match="B.json: not a readable job manifest"):
        expand_items([bad])
    bad.write_text(json.dumps({"items": [{"unit": "u", "item": "../../u/item.json", "sha256": "x"}]}))
    with pytest.raises(InputDataError, match="lists items that are missing"):
        expand_items([bad])
    plain = tmp_path / "x" / "item.json"
    assert expand_items([plain]) == [plain]  # items pass through unchecked


def test_cli_needs_tile_or_block(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", small_config(tmp_path / "r"))
    r = run_sporbar("ard", "-c", str(cfg), "--tile", "E268800N7030400", "--block", "E268800N7030400", "x.json")
    assert r.returncode == 2 and "exclude each other" in r.stderr
    r = run_sporbar("predict", "-c", str(cfg), "--block", "E268800N7030400",
                    "--model", str(cfg), "--ard", str(cfg), "--lidar", str(cfg))
    assert r.returncode == 2 and "--block and --manifest go together" in r.stderr


def test_check_config_suggests_job_block_for_large_areas(tmp_path: Path) -> None:
    big = small_config(tmp_path / "r")
    big["area"]["bbox"] = [268800, 7029760, 268800 + 60 * 640, 7029760 + 50 * 640]  # 3,000 tiles
    r = run_sporbar("check-config", str(write_config(tmp_path / "big.yaml", big)))
    assert r.returncode == 0, r.stderr
    assert "3000 job(s) per tile stage" in r.stdout and "set job_block: 2" in r.stdout
    big["job_block"] = 2
    r = run_sporbar("check-config", str(write_config(tmp_path / "big2.yaml", big)))
    assert "750 job(s) per tile stage (job_block 2" in r.stdout and "hint" not in r.stdout
