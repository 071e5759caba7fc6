"""The demo pipeline through a real Slurm cluster: slurmctld + slurmd + munge on this machine.

The module fixture (``_cluster.cluster``) installs (apt) and starts the single-node cluster
with ``slurm/local/cluster.sh`` and stops it at the end. The head command is
``bash slurm/submit.sh CONFIG local-slurm`` (the same script researchers sbatch on Sigma2,
run in the foreground: here a head job would take one of the node's two CPUs), which runs
``snakemake --profile slurm/local-slurm`` with the Slurm executor plugin.

Skipped only where the cluster cannot be installed at all (not root, no apt-get).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _cluster import cluster  # noqa: F401
from conftest import REPO, shared_stac_schemas, small_config, write_config

from sporbar.workflow.blocks import is_manifest, manifest_items

pytestmark = pytest.mark.slurm

BIN = Path(sys.executable).parent
SUBMIT_SH = REPO / "slurm" / "submit.sh"
JOB_ID_RE = re.compile(r"submitted with SLURM jobid (\d+)")


def _env() -> dict[str, str]:
    # The executor submits with sbatch --export=ALL: the jobs inherit this PATH and find sporbar.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def _config(work: Path) -> Path:
    """The small test config, shrunk further: every job here pays a Slurm + Snakemake start-up."""
    cfg = small_config(work / "results")
    cfg["demo"].update(dates=["2024-06-01", "2024-08-10"], lidar_tile_size=640)
    cfg["models"] = [{"id": "rf", "kind": "random_forest", "n_estimators": 40}]
    cfg["map"]["model"] = "rf"
    return write_config(work / "config.yaml", cfg)


def _head_cmd(cfg: Path) -> list[str]:
    return ["bash", str(SUBMIT_SH), str(cfg), "local-slurm"]


def _run_head(cfg: Path, cwd: Path, timeout: int = 420) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_head_cmd(cfg), cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _items(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("item.json") if "catalog" not in p.parts)


def _verify(root: Path) -> subprocess.CompletedProcess[str]:
    catalog = root / "catalog" / "catalog.json"
    schemas = shared_stac_schemas()
    args = [str(BIN / "sporbar"), "verify", str(catalog)]
    if schemas.is_dir():
        args += ["--schemas", str(schemas)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def _squeue_all() -> dict[str, str]:
    """Job id -> state of every job slurmctld still knows (MinJobAge keeps finished ones)."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return dict(line.split("|", 1) for line in out.split())


def _finished_items(head_log: str) -> set[Path]:
    """item.json outputs of the jobs the head has reported finished ("Finished jobid: N")."""
    outputs: dict[str, list[str]] = {}
    block: list[str] = []
    for line in head_log.splitlines():
        stripped = line.strip()
        if stripped.startswith("output:"):
            block = [o.strip() for o in stripped[len("output:"):].split(",")]
        elif stripped.startswith("jobid:") and block:
            outputs[stripped.split()[1]] = block
            block = []
    done = set(re.findall(r"Finished jobid: (\d+)", head_log))
    # items, and job manifests (jobs/...); not other JSON outputs (demo-source/index.json)
    finished = [Path(o) for j in done for o in outputs.get(j, [])
                if o.endswith("/item.json") or (o.endswith(".json") and "/jobs/" in o)]
    # per-tile stages output a job manifest that lists their tiles' items
    return {i for o in finished for i in (manifest_items(o) if is_manifest(o) else [o]) if i.name == "item.json"}


def _status(cfg: Path, workdir: Path) -> dict[str, dict[str, int]]:
    """``sporbar status --json`` of the run in ``workdir``: stage -> state -> count."""
    r = subprocess.run([str(BIN / "sporbar"), "status", "-c", str(cfg), "-d", str(workdir), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, _fail(r)
    stages = json.loads(r.stdout)["stages"]
    return {stage: {k: v[k] for k in ("done", "running", "failed", "pending")} for stage, v in stages.items()}


def _total(status: dict[str, dict[str, int]], state: str) -> int:
    return sum(c[state] for c in status.values())


def _fail(r: subprocess.CompletedProcess[str]) -> str:
    return f"rc={r.returncode}\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-8000:]}"


def test_pipeline_runs_through_sbatch(cluster, tmp_path: Path) -> None:  # noqa: F811
    cfg = _config(tmp_path)
    root = tmp_path / "results"
    t0 = time.monotonic()
    r = _run_head(cfg, tmp_path)
    print(f"pipeline through Slurm: {time.monotonic() - t0:.1f} s")
    assert r.returncode == 0, _fail(r)
    log = r.stdout + r.stderr
    job_ids = set(JOB_ID_RE.findall(log))
    assert job_ids, "no 'submitted with SLURM jobid' lines: the jobs did not go through sbatch"
    known = _squeue_all()
    assert job_ids <= set(known), f"jobs {job_ids - set(known)} unknown to slurmctld"
    assert all(known[j] == "COMPLETED" for j in job_ids), {j: known[j] for j in job_ids}
    # Grouping: fewer Slurm jobs than Snakemake steps.
    steps = int(re.findall(r"(\d+) of \d+ steps \(100%\) done", log)[-1])
    print(f"{steps} steps in {len(job_ids)} Slurm jobs")
    assert len(job_ids) < steps

    items = _items(root)
    assert items
    for path in items:
        props = json.loads(path.read_text())["properties"]
        assert "Slurm job" in props["processing:facility"], (path, props["processing:facility"])
        slurm = props["sporbar:slurm"]
        assert slurm["job_id"] in job_ids, (path, slurm)
        assert slurm["cluster"] == "sporbar-local", (path, slurm)
        assert slurm.get("node") == "localhost", (path, slurm)
    v = _verify(root)
    assert v.returncode == 0, _fail(v)
    status = _status(cfg, tmp_path)
    not_done = {stage: c for stage, c in status.items() if c["done"] != sum(c.values())}
    assert _total(status, "done") > 0 and not not_done, status


def test_scancel_and_killed_head_resume(cluster, tmp_path: Path) -> None:  # noqa: F811
    cfg = _config(tmp_path)
    root = tmp_path / "results"
    proc = subprocess.Popen(_head_cmd(cfg), cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    finished: dict[Path, int] = {}
    during: list[dict[str, dict[str, int]]] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"head exited early ({proc.returncode}):\n{''.join(lines)}"
            running = [j for j, s in _squeue_all().items() if s == "RUNNING"]
            done = _finished_items("".join(lines))
            if running and done:
                finished = {p: p.stat().st_mtime_ns for p in done}
                # `sporbar status` sees the running job and the finished ones (a job may end
                # while status runs: a few tries)
                during.append(_status(cfg, tmp_path))
                if (_total(during[-1], "running") and _total(during[-1], "done")) or len(during) >= 3:
                    break
            time.sleep(1)
        assert finished, "no job was running after finished items appeared within 300 s"
        # What a time-limit kill or a lost head node does: jobs cancelled, head gone at once.
        subprocess.run(["scancel", "--full", "-u", "root"], check=True, timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        reader.join(timeout=30)
    head_log = "".join(lines)
    assert not (root / "catalog" / "catalog.json").exists(), "the run finished before the kill"
    print(f"killed with {len(finished)} items finished; head log tail:\n{head_log[-1500:]}")
    assert _total(during[-1], "running") > 0 and _total(during[-1], "done") > 0, during
    t = time.monotonic()  # cancelled jobs leave the queue (COMPLETING) within KillWait
    while time.monotonic() - t < 60 and set(_squeue_all().values()) & {"PENDING", "RUNNING", "COMPLETING"}:
        time.sleep(1)
    after_kill = _status(cfg, tmp_path)
    print(f"sporbar status during the run: {during[-1]}\nafter the kill: {after_kill}")
    assert _total(after_kill, "running") == 0 and _total(after_kill, "failed") > 0, after_kill

    r = _run_head(cfg, tmp_path)
    assert r.returncode == 0, _fail(r)
    assert JOB_ID_RE.search(r.stdout + r.stderr), "the resumed run submitted no Slurm job"
    v = _verify(root)
    assert v.returncode == 0, _fail(v)
    remade = [str(p) for p, mtime in finished.items() if p.stat().st_mtime_ns != mtime]
    assert not remade, f"items finished before the kill were made again: {remade}"
    assert len(_items(root)) > len(finished)
