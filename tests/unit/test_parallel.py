"""Dask scheduler choice: threads by default, dask-jobqueue SLURMCluster on request."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest

from sporbar.config import load
from sporbar.errors import ConfigError
from sporbar.parallel import dask_client, load_jobqueue_config, slurm_cluster

REPO = Path(__file__).resolve().parents[2]
JOBQUEUE_YAML = REPO / "slurm" / "dask-jobqueue.yaml"


@pytest.fixture
def cfg():  # type: ignore[no-untyped-def]
    return load(REPO / "config" / "config.yaml")


def test_default_is_threaded_scheduler(cfg, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SPORBAR_DASK_CLUSTER", raising=False)
    with dask_client(cfg) as client:
        assert client is None
        assert dask.config.get("scheduler") == "threads"
        assert dask.config.get("num_workers") == cfg.data["threads"]
        import dask.array as da

        assert int(da.ones((10, 10), chunks=5).sum().compute()) == 100


@pytest.fixture
def restore_dask_config() -> Iterator[None]:
    """load_jobqueue_config merges into the global dask.config: undo that after the test."""
    saved = copy.deepcopy(dask.config.config)
    yield
    dask.config.config.clear()
    dask.config.config.update(saved)


def test_unknown_cluster_kind(cfg, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SPORBAR_DASK_CLUSTER", "pbs")
    with pytest.raises(ConfigError, match="SPORBAR_DASK_CLUSTER"), dask_client(cfg):
        pass


def test_slurm_config_builds_job_script(monkeypatch: pytest.MonkeyPatch, restore_dask_config: None) -> None:
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("SBATCH_ACCOUNT", "nn1234k")
    conf = load_jobqueue_config(JOBQUEUE_YAML)
    assert conf["queue"] == "normal" and conf["cores"] == 16
    cluster = slurm_cluster(JOBQUEUE_YAML)  # nothing is submitted until scale()
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -A nn1234k" in script
    assert "#SBATCH -p normal" in script
    assert "#SBATCH -t 02:00:00" in script
    assert "#SBATCH --gres=localscratch:100G" in script
    assert "LOCALSCRATCH" in script  # expanded in the job, on the node
    assert "--nthreads 4" in script and "--nworkers 4" in script


def test_missing_jobqueue_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPORBAR_DASK_CONFIG", str(tmp_path / "none.yaml"))
    from sporbar.parallel import jobqueue_config_path

    with pytest.raises(ConfigError, match="SPORBAR_DASK_CONFIG"):
        jobqueue_config_path()


def test_slurm_without_slurm_on_path_says_so(cfg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SPORBAR_DASK_CLUSTER", "slurm")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no squeue
    with (
        pytest.raises(ConfigError, match="sbatch/squeue not found on PATH.*unset SPORBAR_DASK_CLUSTER"),
        dask_client(cfg),
    ):
        pass
