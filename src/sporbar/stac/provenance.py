"""The Provenance value: who ran a step, where, with which code and config.

Builders never read the clock; the processing time comes in through here, and only
item metadata (never asset bytes) depends on it.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sporbar import __version__

# Libraries whose versions change outputs; recorded in processing:software.
KEY_PACKAGES = (
    "numpy", "rasterio", "xarray", "dask", "zarr", "odc-geo", "pystac", "geopandas",
    "scikit-learn", "torch", "laspy", "snakemake",
)

# In Provenance's class body the field ``datetime`` shadows the class: annotate with this alias.
_DateTime = datetime


@dataclass(frozen=True)
class SlurmJob:
    """The Slurm job a step ran in (from SLURM_* environment variables)."""

    job_id: str
    cluster: str | None
    node: str | None

    def to_dict(self) -> dict[str, str]:
        """As a JSON object with only the known fields."""
        d = {"job_id": self.job_id, "cluster": self.cluster, "node": self.node}
        return {k: v for k, v in d.items() if v}


@dataclass(frozen=True)
class Provenance:
    """Everything about a run that an item records besides its inputs.

    Attributes:
        software: package name -> version, sporbar first.
        host: host name the step ran on.
        datetime: processing time, UTC, ISO 8601 with 'Z'.
        code_version: git commit (``git:<sha>``, ``+dirty`` if modified) or package version.
        config_hash: sha256 hex of the validated config, or None outside the pipeline.
        image_digest: container image digest (SPORBAR_IMAGE_DIGEST), or None outside one.
        slurm: the Slurm job, or None outside Slurm.
    """

    software: dict[str, str]
    host: str
    datetime: str
    code_version: str
    config_hash: str | None = None
    image_digest: str | None = None
    slurm: SlurmJob | None = field(default=None)

    @property
    def facility(self) -> str:
        """``processing:facility``: the cluster, job and node, or the host."""
        if self.slurm:
            cluster = self.slurm.cluster or "slurm"
            return f"{cluster} (Slurm job {self.slurm.job_id} on {self.slurm.node or self.host})"
        return self.host

    @classmethod
    def current(cls, *, config_hash: str | None = None, now: _DateTime | None = None) -> Provenance:
        """Provenance of the running process. ``SOURCE_DATE_EPOCH`` fixes the time if set."""
        if now is None:
            epoch = os.environ.get("SOURCE_DATE_EPOCH")
            now = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
        job = os.environ.get("SLURM_JOB_ID")
        slurm = (
            SlurmJob(
                job_id=job,
                cluster=os.environ.get("SLURM_CLUSTER_NAME"),
                node=os.environ.get("SLURMD_NODENAME"),
            )
            if job
            else None
        )
        return cls(
            software=software_versions(),
            host=socket.gethostname(),
            datetime=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            code_version=code_version(),
            config_hash=config_hash,
            image_digest=os.environ.get("SPORBAR_IMAGE_DIGEST") or None,
            slurm=slurm,
        )


def software_versions() -> dict[str, str]:
    """Versions of sporbar and the key libraries installed."""
    out = {"sporbar": __version__}
    for name in KEY_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def code_version(checkout: Path | None = None) -> str:
    """``git:<commit>[+dirty]`` when sporbar runs from a git checkout, else ``sporbar==<version>``.

    Args:
        checkout: the repository to describe (default: the one this sporbar is imported from).
            ``+dirty`` means a tracked file below its ``src/`` differs from the commit.

    Returns:
        The code version recorded as ``sporbar:code_version``.
    """
    repo = checkout if checkout is not None else Path(__file__).resolve().parents[3]
    if (repo / ".git").exists():
        try:
            sha = subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "HEAD"],
                capture_output=True, text=True, check=True, timeout=10,
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "src"],
                capture_output=True, text=True, check=True, timeout=10,
            ).stdout.strip()
            return f"git:{sha}{'+dirty' if dirty else ''}"
        except (OSError, subprocess.SubprocessError):
            pass
    return f"sporbar=={__version__}"


def processing_properties(prov: Provenance) -> dict[str, Any]:
    """The provenance part of an item's properties (everything but the step)."""
    from sporbar.stac import extensions as ext

    props: dict[str, Any] = {
        ext.PROCESSING_SOFTWARE: dict(prov.software),
        ext.PROCESSING_FACILITY: prov.facility,
        ext.PROCESSING_DATETIME: prov.datetime,
        ext.SPORBAR_CODE_VERSION: prov.code_version,
    }
    if prov.config_hash:
        props[ext.SPORBAR_CONFIG_HASH] = prov.config_hash
    if prov.image_digest:
        props[ext.SPORBAR_IMAGE_DIGEST] = prov.image_digest
    if prov.slurm:
        props[ext.SPORBAR_SLURM] = prov.slurm.to_dict()
    return props
