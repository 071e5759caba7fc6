"""The local Slurm cluster fixture of the tests in tests/slurm.

Import it into a test module with ``from _cluster import cluster  # noqa: F401``. It installs
(apt) and starts the single-node cluster with ``slurm/local/cluster.sh`` and stops it at the
end of the module. Skipped only where the cluster cannot be installed at all (not root, no
apt-get).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from conftest import REPO

CLUSTER_SH = REPO / "slurm" / "local" / "cluster.sh"


def cluster_sh(action: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run ``slurm/local/cluster.sh ACTION``."""
    return subprocess.run(["bash", str(CLUSTER_SH), action], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def cluster():
    """A running single-node Slurm cluster (installed and started here, stopped afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster needs root (apt-get install, daemons)")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("no apt-get and no Slurm installed: cannot install the local Slurm cluster")
    r = cluster_sh("install")
    assert r.returncode == 0, f"cluster.sh install failed:\n{r.stdout}\n{r.stderr}"
    t0 = time.monotonic()
    r = cluster_sh("start", timeout=300)
    assert r.returncode == 0, f"cluster.sh start failed:\n{r.stdout}\n{r.stderr}"
    print(f"slurm cluster up in {time.monotonic() - t0:.1f} s: {r.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["scancel", "--full", "-u", "root"], capture_output=True, timeout=30)
        cluster_sh("stop", timeout=120)
