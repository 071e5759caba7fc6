"""src/sporbar type-checks clean with the venv's mypy (pinned in the `test` extra; settings in
pyproject.toml's [tool.mypy]), so `make test` keeps it so. `make lint` runs the same check."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import REPO


def test_mypy_src_is_clean() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip(f"mypy is not installed in {sys.prefix}: pip install -e '.[test]'")
    # The incremental cache in the repo's .mypy_cache (gitignored): ~15 s cold on 2 cores, ~1 s warm.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(REPO / ".mypy_cache"), "src/sporbar"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mypy src/sporbar found type errors:\n{proc.stdout}{proc.stderr}"
