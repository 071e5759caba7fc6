"""Kill -9 the whole pipeline at seeded points, re-run the plain `make run` command, compare.

A clean run of a one-tile demo area is the baseline (once per session). Each trial starts from
nothing, kills Snakemake and all its jobs (SIGKILL to the process group) at its kill point, then
runs the Makefile's ``run`` recipe again as it is (read from the Makefile, no extra flag). The re-run
must finish, every item's ``file:checksum`` must equal the clean run's, and ``sporbar verify``
must pass on the catalog.

Kill point i targets the rule ``STAGES[i % len(STAGES)]`` (None: a time in the run); seed i picks
which of its jobs and how far into it (from the baseline's job durations). The first four
(fetch, ARD, train, publish) run by default; SPORBAR_RELIABILITY_TRIALS=N runs N (e.g. 12 for
every stage and two timed kills). About 1.5 min a trial on 2 cores.

Marked ``reliability``: `make test` runs it, `pytest -m reliability` runs it alone.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from _killrun import KillPoint, Run, make_run_recipe, make_workdir, run_pipeline
from conftest import REPO, asset_checksums, run_sporbar, small_config, write_config

# also e2e: a full pipeline run, kept out of the fast `-m "not e2e ..."` selection
pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

STAGES = ["fetch_s2", "ard", "train", "publish", "predict", None, "fetch_lidar",
          "lidar_products", "samples", "export_metadata", "fetch_labels", None]
TRIALS = int(os.environ.get("SPORBAR_RELIABILITY_TRIALS", "4"))
# Failures of the re-run that are known defects of issue 12: (text in its output, defect).
KNOWN_DEFECTS = [
    ("IncompleteFilesException", "issue 12 #11: `make run` lacks --rerun-incomplete, so a re-run "
                                 "after a kill -9 refuses the incomplete outputs"),
    ("LockException", "not yet in issue 12 (found by this harness): a kill -9 leaves Snakemake's "
                      "lock in .snakemake/locks, so `make run` refuses until `snakemake --unlock`; "
                      "slurm/submit.sh removes a stale lock, the Makefile does not"),
    ("holds no catalog.json", "issue 12 #1: the publish trap, a re-run of publish refuses the "
                              "catalog folder it left"),
]


def one_tile_config(root: Path) -> dict:
    """The demo config cut to one 640 m tile, two dates and a small random forest (~70 s)."""
    cfg = small_config(root)
    cfg["area"]["bbox"] = [268800, 7030400, 269440, 7031040]
    cfg["demo"]["dates"] = ["2024-06-01", "2024-08-10"]
    cfg["training"].update(samples_per_class=100, block_size=160, folds=2)
    cfg["models"] = [{"id": "rf", "kind": "random_forest", "n_estimators": 20}]
    cfg["map"]["model"] = "rf"
    return cfg


@dataclass
class Baseline:
    work: Path
    root: Path
    script: str
    run: Run
    checksums: dict[str, dict[str, str]]


def reset(work: Path) -> None:
    """A fresh start in ``work``: no results, no Snakemake state."""
    for name in ("results", ".snakemake"):
        shutil.rmtree(work / name, ignore_errors=True)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    work = make_workdir(tmp_path_factory.mktemp("reliability"))
    root = work / "results"
    config = write_config(work / "config-reliability.yaml", one_tile_config(root))
    script, snakemake = make_run_recipe(REPO / "Makefile", config, cores=2)
    run = run_pipeline(script, work)
    assert run.returncode == 0, run.output[-6000:]
    # the Makefile's snakemake command is the one that ran, word for word (Snakemake echoes it)
    echoed = next(line for line in run.lines if line.strip().startswith("Command:"))
    assert echoed.split(None, 2)[2].endswith(" ".join(snakemake[1:])), (echoed, snakemake)
    sums = asset_checksums(root)
    assert sums, f"no items under {root}"
    verify = run_sporbar("verify", str(root / "catalog" / "catalog.json"))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    return Baseline(work, root, script, run, sums)


def kill_point(trial: int, clean: Run) -> KillPoint:
    """Trial ``trial``'s kill point, from its seed and the clean run's job timeline."""
    rng = random.Random(trial)
    rule = STAGES[trial % len(STAGES)]
    if rule is None:
        wall = clean.ends[-1][0]
        at = round(rng.uniform(0.05, 0.95) * wall, 2)
        return KillPoint(label=f"at {at} s of {wall:.0f}", at=at)
    durations = clean.durations()[rule]
    nth = rng.randint(1, len(durations))
    delay = round(rng.uniform(0.1, 0.9) * durations[nth - 1], 2)
    return KillPoint(label=f"{delay} s into {rule} job {nth}", rule=rule, nth=nth, delay=delay)


def _trial_id(trial: int) -> str:
    return f"{trial}-{STAGES[trial % len(STAGES)] or 'timed'}"


@pytest.mark.parametrize("trial", range(TRIALS), ids=_trial_id)
def test_kill_then_make_run_gives_the_clean_outputs(baseline: Baseline, trial: int) -> None:
    kill = kill_point(trial, baseline.run)
    reset(baseline.work)
    killed = run_pipeline(baseline.script, baseline.work, kill=kill)
    assert killed.returncode == -9, f"{kill.label}: the run ended by itself ({killed.returncode})"
    where = f"killed {kill.label} (running: {', '.join(killed.running_at_kill) or 'between jobs'})"

    again = run_pipeline(baseline.script, baseline.work)
    if again.returncode != 0:
        for text, defect in KNOWN_DEFECTS:
            if text in again.output:
                pytest.xfail(f"{where}: {defect}")
    assert again.returncode == 0, f"{where}; the re-run failed:\n{again.output[-6000:]}"
    assert "Traceback" not in again.output, f"{where}; the re-run printed a traceback"

    sums = asset_checksums(baseline.root)
    differ = sorted(k for k in set(sums) | set(baseline.checksums)
                    if sums.get(k) != baseline.checksums.get(k))
    assert not differ, f"{where}; items differ from the clean run: {differ}"
    verify = run_sporbar("verify", str(baseline.root / "catalog" / "catalog.json"))
    assert verify.returncode == 0, f"{where}; verify: {verify.stdout}{verify.stderr}"
