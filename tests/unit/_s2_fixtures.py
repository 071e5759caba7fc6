"""Fixtures of the Sentinel-2 tests: a tiny config (one 640 m tile, 3 dates), its demo source.

Import the fixtures into a test module with ``from _s2_fixtures import ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sporbar.config import Config, load
from sporbar.demo.landscape import make_landscape
from sporbar.demo.sentinel2 import write_scenes
from sporbar.workflow import plan

REPO = Path(__file__).resolve().parents[2]
REALDATA = REPO.parent / "shared" / "realdata" / "s2-safe-metadata"
TILE = "E268800N7029760"
BBOX = [268800, 7029760, 269440, 7030400]
DATES = ["2024-06-10", "2024-06-30", "2024-08-20"]


def write_tiny_config(folder: Path, **overrides: object) -> Path:
    """Write a tiny config YAML (one 640 m tile, 3 dates, 2 periods) into ``folder``."""
    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    data["root"] = str(folder / "results")
    data["area"]["bbox"] = BBOX
    data["grid"]["tile_size"] = 640
    data["demo"]["dates"] = DATES
    data["demo"]["cloud_fraction"] = 0.3
    data["ard"]["periods"] = [
        {"id": "early", "start": "2024-06-01", "end": "2024-07-05"},
        {"id": "late", "start": "2024-07-06", "end": "2024-09-30"},
    ]
    data["threads"] = 2
    data["sources"].pop("sentinel1", None)  # the S1 tests turn it on
    folder.mkdir(parents=True, exist_ok=True)
    data.update(overrides)
    terrain = data["ard"].setdefault("terrain", {})
    if terrain.get("method", "c-correction") != "none" and not terrain.get("dem"):  # no lidar here: a DEM file
        terrain["dem"] = str(write_demo_dem(folder / "dem.tif", data))
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_demo_dem(path: Path, data: dict[str, Any]) -> Path:
    """Write the demo landscape's terrain (EPSG:25833, 10 m) as a GeoTIFF: the terrain correction's config DEM."""
    from sporbar.raster import write_cog

    land = make_landscape(tuple(data["area"]["bbox"]), seed=data["demo"]["seed"])
    from odc.geo.geobox import GeoBox

    geobox = GeoBox(land.shape, land.transform, land.crs)
    write_cog(path, land.elevation, geobox, nodata=float("nan"), band_names=["elevation"])
    return path


def make_source(cfg: Config, out: Path) -> list[dict]:
    """Write the demo Sentinel-2 SAFE folders of ``cfg`` into ``out`` (an index.json too)."""
    import json

    scenes = write_scenes(
        cfg, make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"]), out
    )
    (out / "index.json").write_text(json.dumps({"sentinel2": scenes}), encoding="utf-8")
    return scenes


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    """(config path, Config) of the tiny area."""
    folder = tmp_path_factory.mktemp("tiny")
    path = write_tiny_config(folder)
    return path, load(path)


@pytest.fixture(scope="module")
def source(tiny: tuple[Path, Config], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny config's demo source folder (sentinel-2/*.SAFE + index.json)."""
    out = tmp_path_factory.mktemp("source")
    make_source(tiny[1], out)
    return out


@pytest.fixture(scope="module")
def raw(tiny: tuple[Path, Config], source: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Raw items of the tiny config's demo scenes (early, early, late), fetched from ``source``."""
    root = tmp_path_factory.mktemp("raw")
    paths = []
    for s in scene_ids(tiny[1]):
        p = root / s / "item.json"
        fetch_demo_scene(tiny[1], source, s, p)
        paths.append(p)
    return paths


def fetch_demo_scene(cfg: Config, source_dir: Path, scene: str, item_path: Path, **kw: Any) -> dict[str, Any]:
    """Fetch ``scene`` from the demo source folder ``source_dir`` as `sporbar fetch s2` does."""
    from sporbar.fetch.demo_s2 import SOURCE
    from sporbar.stac.record import RunContext

    entry = SOURCE.listing(source_dir=source_dir).entry(scene)
    return SOURCE.fetch(RunContext.current(config_hash=cfg.hash), cfg, entry, item_path, **kw)


def scene_ids(cfg: Config) -> list[str]:
    """The demo scene ids of ``cfg``."""
    return plan.scene_ids(cfg)
