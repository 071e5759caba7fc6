"""Dask on Slurm with real workers: `sporbar ard` and `sporbar predict` with SPORBAR_DASK_CLUSTER=slurm.

The step (run here, outside Slurm, like a step on a login node) starts a dask-jobqueue
SLURMCluster from slurm/local-slurm/dask-jobqueue.yaml; its worker is a Slurm job on the local
cluster. Each output is compared, asset checksum by asset checksum, with the same step run
on the threaded scheduler.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cluster import cluster  # noqa: F401
from conftest import REPO, run_sporbar, small_config, write_config

from sporbar.config import load
from sporbar.workflow import plan

pytestmark = pytest.mark.slurm

BIN = Path(sys.executable).parent
LOCAL_JOBQUEUE = REPO / "slurm" / "local-slurm" / "dask-jobqueue.yaml"
WORKER_NAME = "sporbar-dask-worker"  # `name` in the jobqueue config: the Slurm job name
TASKS_RE = re.compile(r"dask: (\d+) task\(s\) ran on (\d+) worker\(s\) in Slurm job\(s\) ([\d, ]+)")


def _ok(r: subprocess.CompletedProcess[str]) -> None:
    assert r.returncode == 0, f"rc={r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-6000:]}"


def _step(args: list[str], cwd: Path, *, slurm: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORBAR_DASK_")}
    if slurm:
        env.update(SPORBAR_DASK_CLUSTER="slurm", SPORBAR_DASK_CONFIG=str(LOCAL_JOBQUEUE), SPORBAR_DASK_WAIT="120")
    return subprocess.run([str(BIN / "sporbar"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def _checksums(item: Path) -> dict[str, str]:
    return {k: a["file:checksum"] for k, a in json.loads(item.read_text())["assets"].items()}


def _jobs(states: str) -> dict[str, tuple[str, str]]:
    """Job id -> (name, state) in squeue ``--states``."""
    out = subprocess.run(["squeue", "--noheader", f"--states={states}", "--format=%i|%j|%T"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return {i: (n, s) for i, n, s in (line.split("|") for line in out.split())}


def _check_worker_ran(r: subprocess.CompletedProcess[str], cwd: Path) -> str:
    """The step's log names the worker's Slurm job that ran its tasks; return its job id."""
    m = TASKS_RE.search(r.stderr)
    assert m, f"no 'dask: N task(s) ran' line:\n{r.stderr[-4000:]}"
    tasks, workers, ids = int(m.group(1)), int(m.group(2)), [i.strip() for i in m.group(3).split(",")]
    assert tasks > 0 and workers == 1 and len(ids) == 1, m.group(0)
    job = ids[0]
    name, state = _jobs("all")[job]
    assert name == WORKER_NAME and state in ("CANCELLED", "COMPLETED"), (job, name, state)
    log = cwd / "logs" / "slurm" / f"{WORKER_NAME}-{job}.err"
    text = log.read_text()
    assert "Registered to:" in text and f"JOB {job} ON localhost CANCELLED" in text, text[-2000:]
    # the step waited for its workers to leave the queue: none pending, running or completing
    left = {i: v for i, v in _jobs("PENDING,RUNNING,COMPLETING,CONFIGURING").items() if v[0] == WORKER_NAME}
    assert not left, left
    return job


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(config, raw Sentinel-2 items) of the small test area: demo source, then fetch s2."""
    work = tmp_path_factory.mktemp("dask-raw")
    data = small_config(work / "results")
    # ARD alone, without the lidar stage: no DTM for the terrain correction (BRDF needs none)
    data["ard"]["terrain"] = {"method": "none"}
    cfg_path = write_config(work / "config.yaml", data)
    cfg = load(cfg_path)
    source = work / "results" / "demo-source"
    _ok(run_sporbar("demo", "generate", "-c", str(cfg_path), "-o", str(source)))
    items = []
    for scene in plan.scene_ids(cfg):
        item = plan.path(cfg, "raw_s2", scene=scene)
        _ok(run_sporbar("fetch", "s2", "-c", str(cfg_path), "--source-dir", str(source), "--scene", scene,
                        "-o", str(item)))
        items.append(item)
    return cfg_path, items


def test_ard_on_slurm_workers_matches_threads(cluster, raw, tmp_path: Path) -> None:  # noqa: F811
    cfg_path, scenes = raw
    tile = load(cfg_path).tiles[0]

    def ard(out: Path, slurm: bool) -> subprocess.CompletedProcess[str]:
        args = ["ard", "-c", str(cfg_path), "--tile", tile, "-o", str(out), *map(str, scenes)]
        return _step(args, tmp_path, slurm=slurm)

    threads = tmp_path / "threads" / "item.json"
    _ok(ard(threads, slurm=False))
    t0 = time.monotonic()
    r = ard(tmp_path / "slurm" / "item.json", slurm=True)
    print(f"ard on a Slurm worker: {time.monotonic() - t0:.1f} s")
    _ok(r)
    job = _check_worker_ran(r, tmp_path)
    print(f"worker Slurm job {job}")
    a, b = _checksums(threads), _checksums(tmp_path / "slurm" / "item.json")
    assert a == b and {"cube", "composite-early", "composite-late"} <= set(a)


def test_predict_on_slurm_workers_matches_threads(cluster, tmp_path: Path) -> None:  # noqa: F811
    from _ml_fixtures import make_area, train_model, write_samples

    (tmp_path / "area").mkdir()
    area = make_area(tmp_path / "area")
    model, _ = train_model(area, "rf", write_samples(area))
    tile = area.tiles[0]

    def predict(out: Path, slurm: bool) -> subprocess.CompletedProcess[str]:
        args = ["predict", "-c", str(area.cfg_path), "--tile", tile, "--model", str(model),
                "--ard", str(area.ard[tile]), "--lidar", str(area.lidar[tile]), "-o", str(out)]
        return _step(args, tmp_path, slurm=slurm)

    _ok(predict(tmp_path / "threads" / "item.json", slurm=False))
    r = predict(tmp_path / "slurm" / "item.json", slurm=True)
    _ok(r)
    _check_worker_ran(r, tmp_path)
    a, b = _checksums(tmp_path / "threads" / "item.json"), _checksums(tmp_path / "slurm" / "item.json")
    assert a == b and {"classes", "confidence"} <= set(a)


def test_worker_that_cannot_start_fails_the_step_clearly(cluster, raw, tmp_path: Path) -> None:  # noqa: F811
    cfg_path, scenes = raw
    bad = tmp_path / "jobqueue.yaml"
    bad.write_text(LOCAL_JOBQUEUE.read_text().replace("death-timeout: 60", "death-timeout: 60\n    python: /no/python"))
    env = {**os.environ, "SPORBAR_DASK_CLUSTER": "slurm", "SPORBAR_DASK_CONFIG": str(bad)}
    args = ["ard", "-c", str(cfg_path), "--tile", load(cfg_path).tiles[0], "-o", str(tmp_path / "x" / "item.json"),
            *map(str, scenes)]
    r = subprocess.run([str(BIN / "sporbar"), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert re.match(r"Error: Dask worker job\(s\) \d+ ended before connecting to the scheduler", last), last
    assert str(tmp_path / "logs" / "slurm" / f"{WORKER_NAME}-") in last, last
