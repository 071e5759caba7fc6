"""``sporbar status``: which tiles (scenes, models...) of a run are done, running, failed or pending.

Read from three places, none of them changed:

* the outputs: a unit (one item of one rule: a tile's ARD, a scene's raw item...) is done
  when its ``item.json`` exists (paths from :mod:`sporbar.workflow.plan`);
* Snakemake's state in the working directory of the head (``.snakemake/incomplete/``): a
  marker per output of a job that started and has not finished (the item, or for the
  per-tile stages the manifest of the job block, see ``Unit.job``). The head writes it when it
  submits the job, with the Slurm job id (``{"external_jobid": "123"}``); the Snakemake inside
  the Slurm job rewrites it with ``null`` when it starts the rule, and removes it when the
  rule succeeds. A failed or killed job leaves it behind;
* Slurm: ``squeue --me`` (job id, state, comment). The Slurm executor names the rule in the
  job comment: ``rule_<rule>_wildcards_<values>`` for one job, ``rule_<group>_<rules>`` for
  a group job;

and, for the error of a failed step, the rule's log (``<root>/logs/...``, see ``LOGS``) and
the executor's Slurm job logs (``.snakemake/slurm_logs/**/<jobid>.log``: "Error in rule"
blocks name the outputs, Slurm's "CANCELLED ... DUE TO TIME LIMIT" lines the kill).

A unit with a marker is *done* when its item was written after the marker (a block job that
is still busy with other tiles), *failed* when its log has an error written after it, else
*running* when its Slurm job is still in the queue (pending or running), or, for a marker
without job id, when a job of ours names its rule; in a working directory that never ran
the Slurm executor (no ``.snakemake/slurm_logs``) and for local rules, when a Snakemake head
holds the lock. Otherwise *failed* (the job ended or was killed without the item).
No marker: *done* if the item and its files exist (*missing* if the item does but a file of it
was deleted: a re-run redoes it), *failed* if the job's log has an error or the newest
Slurm job log that names the job's output failed, else *pending*.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sporbar.bands import s1_enabled
from sporbar.config import Config
from sporbar.workflow import plan
from sporbar.workflow.missing import missing_files

STATES = ("done", "running", "failed", "missing", "pending")

# The rules' log files below the root: plan.LOGS, which rules/*.smk use too. Per-tile stages
# run one Snakemake job per job block (`job_block` in the config): their log, job output and
# Slurm comment name the block.
LOGS = plan.LOGS
# Stages reported per grid tile by `sporbar status --tiles`.
TILE_STAGES = ("ard", "lidar_products", "predict")
# Rules run in the head process (localrules in the Snakefile), never as Slurm jobs.
LOCAL_RULES = frozenset({"publish"})
UNIT_NAMES = {
    "fetch_s2": "scene",
    "fetch_s1": "scene",
    "fetch_lidar": "lidar tile",
    "fetch_labels": "area",
    "ard": "tile",
    "s1_ard": "tile",
    "lidar_products": "tile",
    "samples": "area",
    "train": "model",
    "predict": "tile",
    "validation_sample": "product",
    "assess": "product",
    "publish": "catalog",
}
# An error in a step's log: the CLI's one-line error, a Python traceback, a logged ERROR.
ERROR_RE = re.compile(r"^(Error: .*|Traceback \(most recent call last\):|\d\d:\d\d:\d\d ERROR .*)$", re.MULTILINE)


@dataclass(frozen=True)
class Unit:
    """One unit of one rule: its item, and the Snakemake job that makes it.

    Attributes:
        stage: the rule.
        id: the tile, scene, lidar tile, area or model.
        item: the unit's item.json (done when it exists).
        job: the output Snakemake tracks for the job (the item itself, or the job block's
            manifest for per-tile stages): the key of its incomplete marker.
        log: the job's log (the rule's `log:`).
        wildcards: the job's wildcard values joined by "_", as in the Slurm job comment.
    """

    stage: str
    id: str
    item: Path
    job: Path
    log: Path
    wildcards: str = ""


@dataclass
class UnitState:
    """The state of a unit and why (the Slurm job, the log's error line)."""

    unit: Unit
    state: str
    detail: str = ""


@dataclass(frozen=True)
class SlurmJob:
    """One line of ``squeue --me``."""

    job_id: str
    state: str
    comment: str

    def names(self, stage: str, wildcards: str) -> bool:
        """Whether the executor's job comment names ``stage`` (and ``wildcards``, for one job)."""
        c = self.comment
        if c == f"rule_{stage}" or c == f"rule_{stage}_wildcards_{wildcards}":
            return True
        if "_wildcards_" in c:
            return False
        return c.endswith(f"_{stage}") or f"_{stage}_" in c[len("rule_"):]  # group: rule_<group>_<rules>


@dataclass
class Status:
    """States of every unit, per stage, plus where they were read from."""

    stages: dict[str, list[UnitState]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    slurm: bool = False
    jobs: int = 0

    def counts(self, stage: str) -> dict[str, int]:
        """The number of units of ``stage`` in each state (every state, zeros included)."""
        out = dict.fromkeys(STATES, 0)
        for s in self.stages[stage]:
            out[s.state] += 1
        return out

    def to_dict(self) -> dict[str, object]:
        """The status as ``sporbar status --json`` prints it: counts and every unit's state and detail."""
        return {
            "slurm": self.slurm,
            "jobs": self.jobs,
            "notes": self.notes,
            "stages": {
                stage: {
                    "unit": UNIT_NAMES[stage],
                    **self.counts(stage),
                    "units": {s.unit.id: {"state": s.state, "detail": s.detail} for s in states},
                }
                for stage, states in self.stages.items()
            },
        }


def units(cfg: Config) -> tuple[dict[str, list[Unit]], list[str]]:
    """Every unit of the run for ``cfg``, per stage (rule), and notes on what is not known yet."""
    area = cfg.data["area"]["name"]
    product = cfg.data["map"]["product"]
    notes: list[str] = []

    def one(stage: str, unit_id: str, item: Path, **wildcards: str) -> Unit:
        """A unit whose job makes just its item."""
        log = cfg.root / LOGS[stage].format(**wildcards)
        return Unit(stage, unit_id, item, item, log, "_".join(wildcards.values()))

    def blocked(stage: str, unit_id: str, item: Path, job: str, block: str, **wildcards: str) -> Unit:
        """A unit of a job block: the job's output is the block's manifest."""
        wc = {**wildcards, "block": block}
        job_path = plan.path(cfg, job, **wc)
        return Unit(stage, unit_id, item, job_path, cfg.root / LOGS[stage].format(**wc), "_".join(wc.values()))

    out: dict[str, list[Unit]] = {}
    scenes: list[str] = []
    if plan.s2_source(cfg) == "demo" or plan.path(cfg, "s2_search").exists():
        scenes = plan.scene_ids(cfg)
    else:
        notes.append("fetch_s2: the scenes are known once `sporbar search s2` (search_s2) has run")
    out["fetch_s2"] = [one("fetch_s2", s, plan.path(cfg, "raw_s2", scene=s), scene=s) for s in scenes]
    if plan.s1_source(cfg) != "none":
        if plan.s1_source(cfg) != "demo" and not plan.path(cfg, "s1_search").exists():
            notes.append("fetch_s1: the scenes are known once `sporbar search s1` (search_s1) has run")
        out["fetch_s1"] = [
            one("fetch_s1", s, plan.path(cfg, "raw_s1", scene=s), scene=s) for s in plan.s1_scene_ids(cfg)
        ]
    jobs = plan.Plan(cfg)
    out["fetch_lidar"] = []
    if plan.lidar_source(cfg) == "demo" or plan.path(cfg, "lidar_search").exists():
        out["fetch_lidar"] = sorted(
            (
                blocked("fetch_lidar", t, plan.path(cfg, "raw_lidar", lidar_tile=t), "raw_lidar_job", b)
                for b in jobs.blocks
                for t in jobs.block_lidar_tiles(b)
            ),
            key=lambda u: u.id,
        )
    else:
        notes.append("fetch_lidar: the lidar tiles are known once `sporbar search lidar` (search_lidar) has run")
    out["fetch_labels"] = [one("fetch_labels", area, plan.path(cfg, "raw_labels", area=area), area=area)]
    out["ard"] = [
        blocked("ard", t, plan.path(cfg, "ard", tile=t), "ard_job", plan.block_of(cfg, t)) for t in cfg.tiles
    ]
    if s1_enabled(cfg.data):
        out["s1_ard"] = [blocked("s1_ard", t, plan.path(cfg, "s1_ard", tile=t), "s1_ard_job", plan.block_of(cfg, t))
                         for t in cfg.tiles]
    out["lidar_products"] = [
        blocked("lidar_products", t, plan.path(cfg, "lidar_products", tile=t), "lidar_products_job",
                plan.block_of(cfg, t))
        for t in cfg.tiles
    ]
    # versioned outputs: the job's output is the manifest listing the version it made
    out["samples"] = [one("samples", area, plan.path(cfg, "training_job", area=area), area=area)]
    out["train"] = [one("train", m, plan.path(cfg, "model_job", model=m), model=m) for m in plan.model_ids(cfg)]
    out["predict"] = [
        blocked("predict", t, plan.path(cfg, "map", product=product, tile=t), "map_job", plan.block_of(cfg, t),
                product=product)
        for t in cfg.tiles
    ]
    out["validation_sample"] = [
        one("validation_sample", product, plan.path(cfg, "validation_sample", product=product), product=product)
    ]
    if plan.accuracy_reference(cfg) is not None:
        out["assess"] = [one("assess", product, plan.path(cfg, "accuracy", product=product), product=product)]
    else:
        notes.append("assess: waits for reference labels of the validation sample (accuracy.reference)")
    out["publish"] = [one("publish", "catalog", plan.path(cfg, "catalog"))]
    return out, notes


def marker_path(workdir: Path, output: Path) -> Path:
    """Snakemake's incomplete marker of ``output`` (the path as the Snakefile names it) in ``workdir``.

    The encoding is Snakemake's own (``FilePersistence._record_path``). Its ``__init__`` is
    skipped because it creates ``.snakemake/`` folders, and status only reads.
    """
    from snakemake.persistence.file import FilePersistence

    base = Path(workdir) / ".snakemake" / "incomplete"
    records = object.__new__(FilePersistence)
    # Snakemake asks the folder's file system for its longest file name; without the folder
    # there is no marker, and any name length gives a path that does not exist.
    records._max_len = None if base.is_dir() else 255
    return Path(records._record_path(str(base), str(output)))


def read_marker(workdir: Path, output: Path) -> tuple[bool, str | None]:
    """(marked incomplete, Slurm job id or None) of ``output``."""
    path = marker_path(workdir, output)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return False, None
    try:
        job_id = json.loads(text).get("external_jobid")
    except (ValueError, AttributeError):
        job_id = None
    return True, (str(job_id) if job_id else None)


def log_error(log: Path) -> str | None:
    """The first error line of a step's log, or None."""
    try:
        m = ERROR_RE.search(log.read_text(encoding="utf-8", errors="replace"))
    except (FileNotFoundError, IsADirectoryError):
        return None
    return m.group(1).strip()[:300] if m else None


def squeue_jobs() -> list[SlurmJob] | None:
    """Our jobs in the Slurm queue (``squeue --me``), or None where Slurm is not installed."""
    if shutil.which("squeue") is None:
        return None
    r = subprocess.run(["squeue", "--me", "--noheader", "--format=%i|%T|%k"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None
    jobs = []
    for line in r.stdout.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) == 3:
            jobs.append(SlurmJob(*parts))
    return jobs


SLURM_KILL_RE = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ (CANCELLED AT \S+(?: DUE TO [A-Z ]+)?)|(oom[-_]kill)")


def slurm_log_failures(workdir: Path) -> dict[str, str]:
    """Output path -> why it failed, from the Slurm executor's job logs in ``workdir``.

    The logs are read oldest first, so a newer job that made the same output again clears
    an older failure.
    """
    root = Path(workdir) / ".snakemake" / "slurm_logs"
    if not root.is_dir():
        return {}
    failures: dict[str, str] = {}
    for log in sorted(root.rglob("*.log"), key=lambda p: (p.stat().st_mtime, str(p))):
        text = log.read_text(encoding="utf-8", errors="replace")
        outputs: set[str] = set()
        failed: set[str] = set()
        in_error = False
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("Error in rule "):
                in_error = True
            elif stripped.startswith("output: "):
                paths = {o.strip() for o in stripped[len("output: "):].split(",") if o.strip()}
                outputs |= paths
                if in_error:
                    failed |= paths
                    in_error = False
        kill = SLURM_KILL_RE.search(text)
        if kill:
            failed = outputs
        why = (kill.group(1) or kill.group(2)) if kill else "Error in rule"
        for o in outputs - failed:
            failures.pop(o, None)
        for o in failed:
            failures[o] = f"Slurm job {log.stem}: {why}; see {log}"
    return failures


def head_running(workdir: Path) -> bool:
    """A Snakemake head holds the lock of ``workdir`` (or a killed one left it behind)."""
    locks = Path(workdir) / ".snakemake" / "locks"
    return locks.is_dir() and any(locks.iterdir())


def ran_on_slurm(workdir: Path) -> bool:
    """The Slurm executor has run in ``workdir`` (it keeps its job logs in .snakemake/slurm_logs)."""
    return (Path(workdir) / ".snakemake" / "slurm_logs").is_dir()


def unit_state(
    u: Unit,
    workdir: Path,
    jobs: list[SlurmJob] | None,
    *,
    head: bool,
    slurm_run: bool,
    slurm_failures: dict[str, str] | None = None,
) -> UnitState:
    """The state of one unit (see the module docstring)."""
    marked, job_id = read_marker(workdir, u.job)
    error = log_error(u.log)
    failures = slurm_failures or {}
    if marked:
        marker_time = marker_path(workdir, u.job).stat().st_mtime
        if u.item != u.job and u.item.exists() and u.item.stat().st_mtime >= marker_time:
            return UnitState(u, "done")  # written by the block's job that is still running
        if error and u.log.stat().st_mtime >= marker_time:
            return UnitState(u, "failed", f"{u.log}: {error}")
        by_id = {j.job_id: j for j in jobs or []}
        if job_id is not None:
            if job_id in by_id:
                return UnitState(u, "running", f"Slurm job {job_id} {by_id[job_id].state}")
            why = failures.get(str(u.job), f"Slurm job {job_id} ended without the item; see {u.log}")
            return UnitState(u, "failed", why)
        named = [j for j in jobs or [] if j.names(u.stage, u.wildcards)]
        if named:
            return UnitState(u, "running", ", ".join(f"Slurm job {j.job_id} {j.state}" for j in named))
        if jobs is None or not slurm_run or u.stage in LOCAL_RULES:
            if head:
                return UnitState(u, "running", "Snakemake head holds the lock")
            return UnitState(u, "failed", f"started but never finished (no Snakemake head); see {u.log}")
        return UnitState(u, "failed", f"started, and no Slurm job of ours runs it now; see {u.log}")
    if u.item.exists():
        gone = missing_files(u.item)
        if gone:
            return UnitState(u, "missing", f"{gone[0]} is missing ({len(gone)} file(s) of {u.item}); "
                                           "a re-run redoes it")
        return UnitState(u, "done")
    if error:
        return UnitState(u, "failed", f"{u.log}: {error}")
    if str(u.job) in failures:
        return UnitState(u, "failed", failures[str(u.job)])
    return UnitState(u, "pending")


def run_status(cfg: Config, workdir: Path = Path(), *, jobs: list[SlurmJob] | None = None,
               use_slurm: bool = True) -> Status:
    """States of every unit of ``cfg``'s run, with Snakemake's state from ``workdir``.

    ``jobs`` overrides the ``squeue --me`` query (tests); ``use_slurm=False`` skips Slurm.
    """
    if jobs is None and use_slurm:
        jobs = squeue_jobs()
    head, slurm_run = head_running(workdir), ran_on_slurm(workdir)
    failures = slurm_log_failures(workdir)
    by_stage, notes = units(cfg)
    status = Status(notes=notes, slurm=jobs is not None, jobs=len(jobs or []))
    for stage, us in by_stage.items():
        status.stages[stage] = [
            unit_state(u, workdir, jobs, head=head, slurm_run=slurm_run, slurm_failures=failures) for u in us
        ]
    return status


def format_status(status: Status, *, tiles: bool = False) -> str:
    """The stage table (and with ``tiles`` one line per grid tile), then the failures."""
    head = f"{'stage':<19}{'unit':<12}{'total':>6}" + "".join(f"{s:>9}" for s in STATES)
    lines = [head]
    for stage, states in status.stages.items():
        c = status.counts(stage)
        lines.append(f"{stage:<19}{UNIT_NAMES[stage]:<12}{len(states):>6}" + "".join(f"{c[s]:>9}" for s in STATES))
    if tiles:
        by_tile: dict[str, dict[str, UnitState]] = {}
        for stage in TILE_STAGES:
            for s in status.stages.get(stage, []):
                by_tile.setdefault(s.unit.id, {})[stage] = s
        lines += ["", f"{'tile':<20}" + "".join(f"{s:<16}" for s in TILE_STAGES)]
        for tile in sorted(by_tile):
            row = by_tile[tile]
            lines.append(f"{tile:<20}" + "".join(f"{row[s].state if s in row else '-':<16}" for s in TILE_STAGES))
    busy = [s for states in status.stages.values() for s in states if s.state in ("running", "failed", "missing")]
    if busy:
        lines.append("")
        lines += [f"{s.state:<8} {s.unit.stage} {s.unit.id}: {s.detail}" for s in busy]
    where = f"Slurm: {status.jobs} job(s) of yours in squeue" if status.slurm else "Slurm: not available"
    lines += ["", where] + [f"note: {n}" for n in status.notes]
    return "\n".join(line.rstrip() for line in lines)
