"""Shared test helpers: small configs derived from the demo config, the shared data folder."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_CONFIG = REPO / "config" / "config.yaml"
BIN = Path(sys.executable).parent  # the venv's bin: snakemake and sporbar of this install

# Helper modules shared across folders (tests/unit/_*_fixtures.py, tests/integration/_loopback.py
# ...) import from any folder, whichever part of the suite runs. Appended, so that `conftest`
# stays this file.
for _folder in ("unit", "integration"):
    if str(REPO / "tests" / _folder) not in sys.path:
        sys.path.append(str(REPO / "tests" / _folder))


def run_snakemake(*args: str, cwd: Path, timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    """Run this repo's Snakefile on 2 cores in ``cwd`` with the venv first on PATH."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", "2", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def run_sporbar(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``sporbar`` command."""
    return subprocess.run([str(BIN / "sporbar"), *args], capture_output=True, text=True, timeout=300)


def small_config(root: Path, **overrides: Any) -> dict[str, Any]:
    """The demo config shrunk to two 640 m tiles and few dates, rooted at ``root``."""
    cfg = yaml.safe_load(DEMO_CONFIG.read_text())
    cfg = copy.deepcopy(cfg)
    cfg["root"] = str(root)
    cfg["area"] = {"name": "test-area", "bbox": [268800, 7030400, 270080, 7031040]}
    cfg["grid"]["tile_size"] = 640
    cfg["demo"].update(dates=["2024-06-01", "2024-06-25", "2024-08-10"], lidar_density=1.0,
                       lidar_tile_size=500)
    cfg["training"].update(samples_per_class=150, block_size=320, folds=3)
    cfg["models"] = [
        {"id": "rf", "kind": "random_forest", "n_estimators": 60},
        {"id": "mlp", "kind": "torch_mlp", "epochs": 40, "hidden": 32},
        {"id": "hgb", "kind": "hgb", "max_iter": 50},
    ]
    cfg.update(overrides)
    return cfg


def asset_checksums(root: Path) -> dict[str, dict[str, str]]:
    """{item path below root: {asset key: file:checksum}} of every item outside the catalog."""
    out = {}
    for p in sorted(root.rglob("item.json")):
        rel = p.relative_to(root)
        if "catalog" in rel.parts:
            continue
        assets = json.loads(p.read_text())["assets"]
        out[str(rel)] = {k: a.get("file:checksum") for k, a in sorted(assets.items())}
    return out


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    """Write ``cfg`` as YAML to ``path``."""
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


_SCHEMAS: list[Path] = []


def shared_stac_schemas() -> Path:
    """../shared/stac-schemas plus the schemas sporbar bundles beyond it (the language extension's).

    The shared bundle is read-only, so this is a copy in a temporary folder (made once per
    process, removed at exit) whose ``schema_map.json`` maps those URLs as well; validation
    against it is real for every extension sporbar declares. When ../shared/stac-schemas is
    absent, that (missing) path is returned for the caller to check.
    """
    import atexit
    import shutil
    import tempfile

    from sporbar.stac.validate import default_schema_dir

    shared = SHARED / "stac-schemas"
    if not (shared / "schema_map.json").is_file():
        return shared
    if not _SCHEMAS:
        tmp = Path(tempfile.mkdtemp(prefix="sporbar-shared-schemas-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        bundle = tmp / "stac-schemas"
        shutil.copytree(shared, bundle, copy_function=shutil.copyfile)
        for folder in [bundle, *(d for d in bundle.rglob("*") if d.is_dir())]:
            folder.chmod(0o755)  # copied read-only as the shared folder is
        mapping = json.loads((shared / "schema_map.json").read_text())
        ours = json.loads((default_schema_dir() / "schema_map.json").read_text())
        for url, rel in ours.items():
            if url not in mapping:
                (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(default_schema_dir() / rel, bundle / rel)
                mapping[url] = rel
        (bundle / "schema_map.json").write_text(json.dumps(mapping, indent=2))
        _SCHEMAS.append(bundle)
    return _SCHEMAS[0]


@pytest.fixture
def shared_dir() -> Path:
    """../shared (real metadata, schemas); skips the test when it is not beside the repo."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present: the shared test data is needed for this test")
    return SHARED
