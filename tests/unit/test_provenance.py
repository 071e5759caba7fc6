"""Provenance: what an item records about where and how it was made."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sporbar import __version__
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance, code_version, processing_properties


def test_slurm_job_is_the_facility(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_CLUSTER_NAME", "saga")
    monkeypatch.setenv("SLURMD_NODENAME", "c1-23")
    prov = Provenance.current(config_hash="abc")
    props = processing_properties(prov)
    assert props[ext.PROCESSING_FACILITY] == "saga (Slurm job 4242 on c1-23)"
    assert props[ext.SPORBAR_SLURM] == {"job_id": "4242", "cluster": "saga", "node": "c1-23"}
    assert props[ext.SPORBAR_CONFIG_HASH] == "abc"


def test_outside_slurm_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    prov = Provenance.current()
    assert prov.facility == prov.host and ext.SPORBAR_SLURM not in processing_properties(prov)


def test_time_is_utc_and_can_be_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert Provenance.current().datetime == "1970-01-01T00:00:00Z"
    when = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert Provenance.current(now=when).datetime == "2024-06-01T12:00:00Z"


def test_image_digest_and_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPORBAR_IMAGE_DIGEST", "sha256:feed")
    prov = Provenance.current()
    assert processing_properties(prov)[ext.SPORBAR_IMAGE_DIGEST] == "sha256:feed"
    assert {"sporbar", "rasterio", "torch", "scikit-learn"} <= set(prov.software)


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def test_code_version_is_head_and_dirty_when_src_changed(tmp_path: Path) -> None:
    repo = tmp_path / "checkout"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "mod.py").write_text("x = 1\n")
    (repo / "README.md").write_text("readme\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert code_version(repo) == f"git:{head}"
    (repo / "README.md").write_text("changed outside src\n")
    (repo / "src" / "new.py").write_text("untracked\n")
    assert code_version(repo) == f"git:{head}"  # only tracked files below src/ count
    (repo / "src" / "mod.py").write_text("x = 2\n")
    assert code_version(repo) == f"git:{head}+dirty"
    _git(repo, "commit", "-q", "-am", "second")
    assert code_version(repo) == f"git:{_git(repo, 'rev-parse', 'HEAD')}"


def test_code_version_outside_a_checkout_is_the_package(tmp_path: Path) -> None:
    assert code_version(tmp_path) == f"sporbar=={__version__}"


def test_running_code_version_is_this_checkout() -> None:
    import sporbar

    repo = Path(sporbar.__file__).resolve().parents[2]
    if not (repo / ".git").exists():
        pytest.skip(f"{repo}: sporbar is installed, not a git checkout")
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=no", "src")
    assert code_version() == f"git:{_git(repo, 'rev-parse', 'HEAD')}" + ("+dirty" if dirty else "")
