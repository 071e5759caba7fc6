"""Where a step's Dask graphs run: threads in this process, or a Dask cluster on Slurm.

By default every step computes with Dask's threaded scheduler and ``threads`` workers.
With ``SPORBAR_DASK_CLUSTER=slurm`` the step starts a ``dask_jobqueue.SLURMCluster``
configured by ``slurm/dask-jobqueue.yaml`` (or ``SPORBAR_DASK_CONFIG``), asks for
``SPORBAR_DASK_JOBS`` worker jobs (default 1) and computes there; the workers are
cancelled when the step ends (also on SIGTERM, e.g. ``scancel`` of the step).
``SBATCH_ACCOUNT`` sets the account. The step waits up to ``SPORBAR_DASK_WAIT`` seconds
(default 3600) for the first worker to connect, and fails with the worker log's path if
a worker job ends before it connects.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask

from sporbar.config import Config
from sporbar.errors import ClusterError, ConfigError
from sporbar.io import load_yaml

log = logging.getLogger(__name__)

ENV_CLUSTER = "SPORBAR_DASK_CLUSTER"
ENV_CONFIG = "SPORBAR_DASK_CONFIG"
ENV_JOBS = "SPORBAR_DASK_JOBS"
ENV_WAIT = "SPORBAR_DASK_WAIT"
JOBQUEUE_FILE = Path("slurm") / "dask-jobqueue.yaml"


def jobqueue_config_path() -> Path:
    """The dask-jobqueue YAML file.

    ``$SPORBAR_DASK_CONFIG``, else ``slurm/dask-jobqueue.yaml`` in the working directory or in
    the source checkout.
    """
    env = os.environ.get(ENV_CONFIG)
    candidates = (
        [Path(env)]
        if env
        else [
            Path.cwd() / JOBQUEUE_FILE,
            Path(__file__).resolve().parents[2] / JOBQUEUE_FILE,
        ]
    )
    for p in candidates:
        if p.is_file():
            return p
    raise ConfigError(f"{candidates[0]}: dask-jobqueue config not found; set {ENV_CONFIG} to slurm/dask-jobqueue.yaml")


def load_jobqueue_config(path: Path | None = None) -> dict[str, Any]:
    """Merge the YAML into ``dask.config`` (over dask-jobqueue's defaults); return its slurm section."""
    import dask_jobqueue  # noqa: F401  (loads dask-jobqueue's default jobqueue.yaml into dask.config)

    path = path or jobqueue_config_path()
    data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data.get("jobqueue", {}).get("slurm"), dict):
        raise ConfigError(f"{path}: needs a jobqueue: slurm: section (dask-jobqueue format)")
    dask.config.update(dask.config.config, data, priority="new")
    slurm: dict[str, Any] = dask.config.get("jobqueue.slurm")
    return slurm


def slurm_cluster(path: Path | None = None, **overrides: Any) -> Any:
    """A ``SLURMCluster`` from the YAML (nothing is submitted until it is scaled).

    A relative ``log-directory`` is made absolute against the working directory (the
    worker logs are ``<log-directory>/<name>-<jobid>.out`` and ``.err``).
    """
    from dask_jobqueue.slurm import SLURMCluster

    conf = load_jobqueue_config(path)
    account = os.environ.get("SBATCH_ACCOUNT")
    if account and "account" not in overrides:
        overrides["account"] = account
    logdir = conf.get("log-directory")
    if logdir and "log_directory" not in overrides:
        overrides["log_directory"] = str(Path(logdir).absolute())
    return SLURMCluster(**overrides)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"environment {name}={raw!r}: give a whole number >= 1")
    return value


def _check_job_script(cluster: Any, config: Path) -> None:
    """``sbatch --test-only`` the worker job script.

    A bad partition, account, memory or time limit fails here with Slurm's own words, not as a
    worker that never comes.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="sporbar-dask-") as f:
        f.write(cluster.job_script())
        f.flush()
        r = subprocess.run(["sbatch", "--test-only", f.name], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        why = " ".join(line.strip() for line in (r.stderr or r.stdout).splitlines() if line.strip())
        raise ClusterError(
            f"{config}: Slurm refuses the Dask worker job ({why}); fix queue/account/memory/walltime "
            f"there (see `sinfo` for partitions and limits)"
        )


def _job_ids(cluster: Any) -> list[str]:
    return sorted({str(w.job_id) for w in cluster.workers.values() if getattr(w, "job_id", None)})


def _queued(job_ids: list[str]) -> dict[str, str]:
    """Job id -> Slurm state of those of ``job_ids`` still in ``squeue`` (pending, running...)."""
    if not job_ids:
        return {}
    r = subprocess.run(["squeue", "-h", "-o", "%i %T", "-j", ",".join(job_ids)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:  # squeue -j fails once every id has left slurmctld's memory
        return {}
    states = dict(line.split(None, 1) for line in r.stdout.splitlines() if line.strip())
    return {j: s for j, s in states.items() if j in job_ids}


def _worker_logs(cluster: Any, job_ids: list[str]) -> str:
    logs = [
        f"{w.log_directory}/{w.job_name or 'worker'}-{w.job_id}.err"
        for w in cluster.workers.values()
        if getattr(w, "log_directory", None) and str(getattr(w, "job_id", "")) in job_ids
    ]
    return ", ".join(sorted(logs)) or "the jobs' output files (no log-directory in the dask-jobqueue config)"


def _wait_for_workers(cluster: Any, client: Any, timeout: int) -> None:
    """Block until one worker is connected; fail early if the worker jobs all ended."""
    t0 = time.monotonic()
    while not client.nthreads():
        ids = _job_ids(cluster)
        if ids and not _queued(ids) and not client.nthreads():
            raise ClusterError(
                f"Dask worker job(s) {', '.join(ids)} ended before connecting to the scheduler "
                f"at {cluster.scheduler_address}; see {_worker_logs(cluster, ids)}"
            )
        if time.monotonic() - t0 > timeout:
            states = ", ".join(f"{j} {s}" for j, s in sorted(_queued(ids).items())) or "none in squeue"
            raise ClusterError(
                f"no Dask worker connected within {timeout} s (worker jobs: {states}); raise "
                f"{ENV_WAIT}, ask for fewer resources in the dask-jobqueue config, or unset {ENV_CLUSTER}"
            )
        time.sleep(1)


def _close(cluster: Any, grace: float = 60) -> None:
    """Close the cluster (scancel of its jobs) and wait until no worker job is in squeue."""
    ids = _job_ids(cluster)
    try:
        cluster.close()
    except Exception as err:  # a worker whose sbatch failed trips SpecCluster.close
        log.warning("dask: closing the SLURMCluster: %s; cancelling jobs %s", err, ids)
    left = _queued(ids)
    if left:
        subprocess.run(["scancel", *left], capture_output=True, timeout=60)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _queued(ids)
    if left:
        log.warning("dask: worker job(s) still in squeue after scancel: %s", left)


@contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (scancel, time limit) into SystemExit so the worker jobs are cancelled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _slurm_client() -> Iterator[Any]:
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        raise ConfigError(
            f"environment {ENV_CLUSTER}=slurm: sbatch/squeue not found on PATH; run the step where "
            f"Slurm is installed (a Sigma2 login or compute node), or unset {ENV_CLUSTER} to use threads"
        )
    from distributed import Client

    jobs = _env_int(ENV_JOBS, 1)
    wait = _env_int(ENV_WAIT, 3600)
    path = jobqueue_config_path()
    with _exit_on_sigterm():
        cluster = slurm_cluster(path)
        try:
            _check_job_script(cluster, path)
            cluster.scale(jobs=jobs)
            log.info("dask: %s: %d worker job(s) for scheduler %s", path, jobs, cluster.scheduler_address)
            with Client(cluster) as client:  # type: ignore[no-untyped-call]  # distributed's Client is untyped
                _wait_for_workers(cluster, client, wait)
                log.info("dask: worker connected (Slurm job(s) %s)", ", ".join(_job_ids(cluster)))
                yield client
                done = client.run(lambda dask_worker: dask_worker.state.executed_count)
                log.info("dask: %d task(s) ran on %d worker(s) in Slurm job(s) %s",
                         sum(done.values()), len(done), ", ".join(_job_ids(cluster)))
        finally:
            _close(cluster)


# The client of an enclosing ``dask_client`` block: a nested block (one per tile of a job
# block) reuses it instead of starting another set of worker jobs.
_ACTIVE: list[Any] = []


def active_client() -> Any | None:
    """The ``distributed.Client`` of the enclosing :func:`dask_client` block, or None (threads)."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextmanager
def dask_client(cfg: Config) -> Iterator[Any]:
    """Run the Dask computations of the ``with`` block on the configured scheduler.

    Yields None for the threaded scheduler (default), else the ``distributed.Client``
    (inside another ``dask_client`` block: that block's client, so a command that does
    several tiles starts its worker jobs once if it wraps them all in one block).
    """
    if _ACTIVE:
        yield _ACTIVE[-1]
        return
    kind = os.environ.get(ENV_CLUSTER, "threads").strip().lower() or "threads"
    if kind in ("threads", "local", "none"):
        with dask.config.set(scheduler="threads", num_workers=cfg.data["threads"]):
            yield None
        return
    if kind != "slurm":
        raise ConfigError(f"environment {ENV_CLUSTER}={kind!r}: use 'slurm' or 'threads'")
    with _slurm_client() as client:
        _ACTIVE.append(client)
        try:
            yield client
        finally:
            _ACTIVE.pop()
