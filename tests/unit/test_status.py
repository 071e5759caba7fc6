"""``sporbar status``: done / running / failed / pending from a made-up results tree."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, small_config, write_config

from sporbar.cli.main import cli
from sporbar.config import load
from sporbar.workflow import plan
from sporbar.workflow.status import (
    LOGS,
    SlurmJob,
    format_status,
    marker_path,
    read_marker,
    run_status,
    slurm_log_failures,
)


def test_every_rule_logs_where_plan_says() -> None:
    import re

    checked = 0
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for rule, body in re.findall(r"^\s*(?:rule|checkpoint) (\w+):\n(.*?)(?=^\s*(?:rule|checkpoint) |\Z)",
                                     text, re.S | re.M):
            if "log:" in body:
                assert f'plan.log_pattern(CFG, "{rule}")' in body, (smk.name, rule)
                assert rule in LOGS
                checked += 1
            if "benchmark:" in body:
                assert f'plan.benchmark_pattern(CFG, "{rule}")' in body, (smk.name, rule)
    assert checked == len(LOGS)  # every rule found, and no stale entry in plan.LOGS


@pytest.mark.parametrize("length", [60, 400])
def test_marker_written_by_snakemake_is_found(tmp_path: Path, length: int) -> None:
    from snakemake.persistence.file import FilePersistence

    # Snakemake itself marks the output incomplete (a 400-character path spans two file names)
    records = FilePersistence(path=tmp_path / ".snakemake")
    output = tmp_path / ("x" * length) / "item.json"
    assert read_marker(tmp_path, output) == (False, None)
    records._mark_incomplete(str(output), "42")
    assert marker_path(tmp_path, output).is_file()
    assert read_marker(tmp_path, output) == (True, "42")
    records._unmark_incomplete(str(output))
    assert read_marker(tmp_path, output) == (False, None)


def test_job_comment_names_rule_and_unit() -> None:
    one = SlurmJob("1", "RUNNING", "rule_ard_wildcards_E268800N7029760")
    assert one.names("ard", "E268800N7029760")
    assert not one.names("ard", "E269440N7029760") and not one.names("predict", "E268800N7029760")
    group = SlurmJob("2", "PENDING", "rule_tile_ard_lidar_products")
    assert group.names("ard", "any") and group.names("lidar_products", "any")
    assert not group.names("predict", "any")
    fetch = SlurmJob("3", "RUNNING", "rule_fetch_fetch_labels_fetch_lidar_fetch_s2")
    assert fetch.names("fetch_lidar", "x") and fetch.names("fetch_s2", "x") and not fetch.names("ard", "x")


def _item(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")


def _marker(workdir: Path, output: Path, job_id: str | None) -> None:
    m = marker_path(workdir, output)
    m.parent.mkdir(parents=True, exist_ok=True)
    m.write_text(json.dumps({"external_jobid": job_id}))


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A config, its (empty) results root and a head working directory."""
    cfg = load(write_config(tmp_path / "config.yaml", small_config(tmp_path / "results")))
    work = tmp_path / "work"
    (work / ".snakemake" / "slurm_logs").mkdir(parents=True)
    return cfg, work


def _job(cfg, stage: str, tile: str) -> Path:  # type: ignore[no-untyped-def]
    """The output Snakemake tracks for ``tile``'s job of ``stage`` (the job block's manifest)."""
    names = {"ard": "ard_job", "lidar_products": "lidar_products_job", "predict": "map_job"}
    return plan.path(cfg, names[stage], block=plan.block_of(cfg, tile), product=cfg.data["map"]["product"])


def test_states_from_outputs_markers_queue_and_logs(run) -> None:  # type: ignore[no-untyped-def]
    cfg, work = run
    t0, t1 = cfg.tiles
    area, product = cfg.data["area"]["name"], cfg.data["map"]["product"]
    for s in plan.scene_ids(cfg):
        _item(plan.path(cfg, "raw_s2", scene=s))
    _item(plan.path(cfg, "ard", tile=t0))
    # submitted by the head: marker with the job id, job still queued
    _marker(work, _job(cfg, "ard", t1), "42")
    # started inside a group job: marker without id, the job comment names the rule
    _marker(work, _job(cfg, "lidar_products", t0), None)
    # submitted, the job is gone and no item: failed
    _marker(work, _job(cfg, "lidar_products", t1), "7")
    # the step's own log has the CLI's error line
    log = cfg.root / "logs" / "predict" / product / f"{plan.block_of(cfg, t0)}.log"
    log.parent.mkdir(parents=True)
    log.write_text("12:00:00 INFO sporbar: start\nError: /x/item.json: band B04 missing\n")
    # the executor's Slurm log of a failed job names the output
    slurm_log = work / ".snakemake" / "slurm_logs" / "rule_samples" / area / "9.log"
    slurm_log.parent.mkdir(parents=True)
    slurm_log.write_text(
        f"rule samples:\n    output: {plan.path(cfg, 'training_job', area=area)}\n"
        f"Error in rule samples:\n    jobid: 0\n    output: {plan.path(cfg, 'training_job', area=area)}\n"
    )
    jobs = [SlurmJob("42", "PENDING", "rule_tile_ard"), SlurmJob("43", "RUNNING", "rule_tile_ard_lidar_products")]

    st = run_status(cfg, work, jobs=jobs)
    state = {stage: {s.unit.id: s for s in states} for stage, states in st.stages.items()}
    assert st.counts("fetch_s2") == {"done": len(plan.scene_ids(cfg)), "running": 0, "failed": 0, "missing": 0,
                                       "pending": 0}
    assert state["ard"][t0].state == "done"
    assert state["ard"][t1].state == "running" and "Slurm job 42 PENDING" in state["ard"][t1].detail
    assert state["lidar_products"][t0].state == "running" and "43" in state["lidar_products"][t0].detail
    assert state["lidar_products"][t1].state == "failed" and "Slurm job 7" in state["lidar_products"][t1].detail
    assert state["predict"][t0].state == "failed" and "band B04 missing" in state["predict"][t0].detail
    assert state["predict"][t1].state == "pending"
    assert state["samples"][area].state == "failed" and "9.log" in state["samples"][area].detail
    assert {s.state for s in state["train"].values()} == {"pending"}
    assert st.counts("publish") == {"done": 0, "running": 0, "failed": 0, "missing": 0, "pending": 1}
    assert set(state["fetch_lidar"]) == set(plan.lidar_tile_ids(cfg))

    text = format_status(st, tiles=True)
    assert re.search(r"^ard\s+tile\s+2\s+1\s+1\s+0\s+0\s+0$", text, re.M), text
    assert re.search(rf"^{t1}\s+running\s+failed\s+pending$", text, re.M), text
    assert "Slurm: 2 job(s)" in text


def test_tiles_of_a_running_block_job(tmp_path: Path) -> None:
    """job_block 2: one job for both tiles; the tile it finished is done, the other running."""
    cfg = load(write_config(tmp_path / "config.yaml", small_config(tmp_path / "results", job_block=2)))
    work = tmp_path / "work"
    (work / ".snakemake" / "slurm_logs").mkdir(parents=True)
    t0, t1 = cfg.tiles
    assert plan.block_of(cfg, t0) == plan.block_of(cfg, t1)
    _marker(work, _job(cfg, "ard", t0), None)
    os.utime(marker_path(work, _job(cfg, "ard", t0)), (1_000_000, 1_000_000))
    _item(plan.path(cfg, "ard", tile=t0))
    block = plan.block_of(cfg, t0)
    st = run_status(cfg, work, jobs=[SlurmJob("3", "RUNNING", f"rule_ard_wildcards_{block}")])
    assert {s.unit.id: s.state for s in st.stages["ard"]} == {t0: "done", t1: "running"}
    assert run_status(cfg, work, jobs=[]).counts("ard") == {"done": 1, "running": 0, "failed": 1, "missing": 0,
                                                              "pending": 0}


def test_error_older_than_a_new_submission_is_not_a_failure(run) -> None:  # type: ignore[no-untyped-def]
    cfg, work = run
    tile = cfg.tiles[0]
    log = cfg.root / "logs" / "ard" / f"{plan.block_of(cfg, tile)}.log"
    log.parent.mkdir(parents=True)
    log.write_text("Traceback (most recent call last):\n  boom\n")
    os.utime(log, (1_000_000, 1_000_000))
    _marker(work, _job(cfg, "ard", tile), "5")
    st = run_status(cfg, work, jobs=[SlurmJob("5", "RUNNING", "rule_tile_ard")])
    assert st.stages["ard"][0].state == "running"
    os.utime(log)  # the retry failed again: the log is newer than the marker
    assert run_status(cfg, work, jobs=[]).stages["ard"][0].state == "failed"


def test_newer_slurm_log_clears_an_older_failure(tmp_path: Path) -> None:
    logs = tmp_path / ".snakemake" / "slurm_logs" / "group_tile_ard"
    logs.mkdir(parents=True)
    (logs / "3.log").write_text(
        "    output: /r/a/item.json\n    output: /r/b/item.json\n"
        "slurmstepd: error: *** JOB 3 ON n1 CANCELLED AT 2024-01-01T00:00:00 DUE TO TIME LIMIT ***\n"
    )
    os.utime(logs / "3.log", (1_000_000, 1_000_000))
    (logs / "8.log").write_text("    output: /r/a/item.json\n")
    failures = slurm_log_failures(tmp_path)
    assert set(failures) == {"/r/b/item.json"}
    assert "Slurm job 3: CANCELLED AT 2024-01-01T00:00:00 DUE TO TIME LIMIT" in failures["/r/b/item.json"]


def test_local_run_marker_is_running_while_a_head_holds_the_lock(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path / "config.yaml", small_config(tmp_path / "results")))
    work = tmp_path / "work"  # no .snakemake/slurm_logs: a local (non-Slurm) run
    _marker(work, _job(cfg, "ard", cfg.tiles[0]), None)
    locks = work / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("")
    assert run_status(cfg, work, jobs=[]).stages["ard"][0].state == "running"
    assert run_status(cfg, work, use_slurm=False).stages["ard"][0].state == "running"
    (locks / "0.output.lock").unlink()
    assert run_status(cfg, work, use_slurm=False).stages["ard"][0].state == "failed"


def test_cli_status(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "config.yaml", small_config(tmp_path / "results"))
    cfg = load(cfg_path)
    _item(plan.path(cfg, "ard", tile=cfg.tiles[0]))
    res = CliRunner().invoke(cli, ["status", "-c", str(cfg_path), "-d", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["stages"]["ard"]["done"] == 1 and doc["stages"]["ard"]["pending"] == 1
    assert doc["stages"]["ard"]["units"][cfg.tiles[0]] == {"state": "done", "detail": ""}
    res = CliRunner().invoke(cli, ["status", "-c", str(cfg_path), "-d", str(tmp_path), "--tiles"])
    assert res.exit_code == 0, res.output
    assert re.search(rf"^{cfg.tiles[0]}\s+done\s+pending\s+pending$", res.output, re.M), res.output
