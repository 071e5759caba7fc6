"""Provenance: what an item records about where and how it was made."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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


def test_code_version_names_commit_or_package() -> None:
    v = code_version()
    assert v.startswith("git:") or v.startswith("sporbar==")
