"""The import layers (pyproject.toml's [tool.importlinter] contracts) and ruff's rules hold on
the tree, so `make test` keeps them as `make lint` does. Both tools are pinned in the `test` extra."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def _tool(name: str) -> str:
    """The venv's console script ``name`` (beside this interpreter), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed in {sys.prefix}: pip install -e '.[test]'")
    return found


def test_import_layers_hold() -> None:
    # The graph is built from this tree's src/, whatever sporbar the venv has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"lint-imports found imports across the layers:\n{proc.stdout}{proc.stderr}"


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "src", "tests", "benchmarks"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"ruff check found problems:\n{proc.stdout}{proc.stderr}"
