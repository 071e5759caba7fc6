"""Where a step's Dask graphs run: threads in this process, or a Dask cluster on Slurm.

By default every step computes with Dask's threaded scheduler and ``threads`` workers.
With ``SPORBAR_DASK_CLUSTER=slurm`` the step starts a ``dask_jobqueue.SLURMCluster``
configured by ``slurm/dask-jobqueue.yaml`` (or ``SPORBAR_DASK_CONFIG``), asks for
``SPORBAR_DASK_JOBS`` worker jobs (default 1) and computes there; the workers are
cancelled when the step ends. ``SBATCH_ACCOUNT`` sets the account.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import yaml

from sporbar.config import Config
from sporbar.errors import ConfigError

log = logging.getLogger(__name__)

ENV_CLUSTER = "SPORBAR_DASK_CLUSTER"
ENV_CONFIG = "SPORBAR_DASK_CONFIG"
ENV_JOBS = "SPORBAR_DASK_JOBS"
JOBQUEUE_FILE = Path("slurm") / "dask-jobqueue.yaml"


def jobqueue_config_path() -> Path:
    """The dask-jobqueue YAML: ``$SPORBAR_DASK_CONFIG``, else ``slurm/dask-jobqueue.yaml``
    in the working directory or in the source checkout."""
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
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data.get("jobqueue", {}).get("slurm"), dict):
        raise ConfigError(f"{path}: needs a jobqueue: slurm: section (dask-jobqueue format)")
    dask.config.update(dask.config.config, data, priority="new")
    return dask.config.get("jobqueue.slurm")


def slurm_cluster(path: Path | None = None, **overrides: Any) -> Any:
    """A ``SLURMCluster`` from the YAML (nothing is submitted until it is scaled)."""
    from dask_jobqueue import SLURMCluster

    load_jobqueue_config(path)
    account = os.environ.get("SBATCH_ACCOUNT")
    if account and "account" not in overrides:
        overrides["account"] = account
    return SLURMCluster(**overrides)


@contextmanager
def dask_client(cfg: Config) -> Iterator[Any]:
    """Run the Dask computations of the ``with`` block on the configured scheduler.

    Yields None for the threaded scheduler (default), else the ``distributed.Client``.
    """
    kind = os.environ.get(ENV_CLUSTER, "threads").strip().lower() or "threads"
    if kind in ("threads", "local", "none"):
        with dask.config.set(scheduler="threads", num_workers=cfg.data["threads"]):
            yield None
        return
    if kind != "slurm":
        raise ConfigError(f"environment {ENV_CLUSTER}={kind!r}: use 'slurm' or 'threads'")
    from distributed import Client

    jobs = int(os.environ.get(ENV_JOBS, "1"))
    with slurm_cluster() as cluster:
        cluster.scale(jobs=jobs)
        log.info("dask: SLURMCluster with %d job(s), dashboard %s", jobs, cluster.dashboard_link)
        with Client(cluster) as client:
            yield client
