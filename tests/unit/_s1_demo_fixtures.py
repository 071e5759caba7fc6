"""Fixtures of the Sentinel-1 tests: the tiny config of the S2 tests and its demo GRD products.

Import with ``from _s1_demo_fixtures import s1_source, tiny``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _s2_fixtures import tiny  # noqa: F401

from sporbar.config import Config
from sporbar.demo.landscape import make_landscape
from sporbar.demo.sentinel1 import write_s1_scenes


@pytest.fixture(scope="module")
def s1_source(tiny: tuple[Path, Config], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The tiny config's demo source folder with its Sentinel-1 products (sentinel-1/*.SAFE + index.json)."""
    cfg = tiny[1]
    out = tmp_path_factory.mktemp("s1source")
    scenes = write_s1_scenes(cfg, make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"]), out)
    (out / "index.json").write_text(json.dumps({"sentinel1": scenes}), encoding="utf-8")
    return out
