"""Commands import only what they need (issue 13): no timing here, only which modules load.

Each check runs a fresh interpreter and lists the heavy packages found in ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "dask", "distributed", "zarr", "odc.geo", "pystac", "rasterio", "jsonschema")


def _loaded(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


def test_help_imports_no_library() -> None:
    """`sporbar --help` lists every command (importing each command module) and loads none of them."""
    code = ("from sporbar.cli.main import cli\nfrom click.testing import CliRunner\n"
            "r = CliRunner().invoke(cli, ['--help'])\nassert r.exit_code == 0 and 'predict' in r.output, r.output")
    assert _loaded(code) == set()


@pytest.mark.parametrize(("modules", "not_loaded"), [
    # a random-forest map: no torch, no scikit-learn metrics, no Dask cluster client, no Zarr
    ("sporbar.cli.predict, sporbar.ml.run_predict", {"torch", "sklearn", "distributed", "zarr"}),
    ("sporbar.cli.train, sporbar.ml.run_train", {"torch", "distributed", "zarr"}),
    ("sporbar.cli.samples, sporbar.training.run", {"torch", "sklearn", "distributed", "zarr"}),
    ("sporbar.cli.lidar, sporbar.lidar.run", {"torch", "sklearn", "distributed", "zarr"}),
])
def test_stage_commands_import_only_what_they_use(modules: str, not_loaded: set[str]) -> None:
    assert not _loaded(f"import {modules}") & not_loaded
