"""The inputs the bad-input trials damage, each built once (on first use) from the test helpers.

- ``lidar``: a one-tile run root as the pipeline lays it out (effective config, demo source with
  LAZ tiles and labels, raw lidar and labels items, the tile's lidar products), made by the real
  commands in-process, so ``reproduce`` can re-run its steps;
- ``ml``: the synthetic two-tile area of tests/unit/_ml_fixtures (ARD, lidar products, labels),
  its samples and a trained random forest;
- ``s2``: the tiny Sentinel-2 config and its demo source (SAFE folders);
- ``chain``: the small published catalog of tests/unit/_stac_fixtures.

Trials copy what they change into their own folder; these stay untouched.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class LidarRun:
    """A one-tile run root: lidar and labels steps done."""

    cfg_path: Path  # the effective config (what the pipeline's jobs get)
    root: Path
    tile: str
    raw_lidar: list[Path]
    raw_labels: Path
    products: Path
    labels_gpkg: Path  # the demo label file (source)


@dataclass
class MlRun:
    """The synthetic area with samples and a trained model."""

    area: Any  # _ml_fixtures.Area
    samples: Path
    model: Path


@dataclass
class S2Source:
    """The tiny Sentinel-2 config and its demo source folder."""

    cfg_path: Path
    source: Path
    scenes: list[str]


class Shared:
    """Lazily built, shared inputs below ``base`` (thread-safe: trials may run in parallel)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._lock = threading.Lock()
        self._built: dict[str, Any] = {}

    def _once(self, name: str, build: Callable[[Path], T]) -> T:
        with self._lock:
            if name not in self._built:
                folder = self.base / name
                folder.mkdir(parents=True, exist_ok=True)
                self._built[name] = build(folder)
            return self._built[name]  # type: ignore[no-any-return]

    @property
    def lidar(self) -> LidarRun:
        return self._once("lidar", _build_lidar)

    @property
    def ml(self) -> MlRun:
        return self._once("ml", _build_ml)

    @property
    def s2(self) -> S2Source:
        return self._once("s2", _build_s2)

    @property
    def chain(self) -> Any:
        return self._once("chain", _build_chain)

    def close(self) -> None:
        """Nothing to stop (the servers belong to trials); kept for symmetry with callers' cleanup."""


def _sporbar_in_process(*args: str) -> None:
    from click.testing import CliRunner

    from sporbar.cli.main import cli

    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output


def _build_lidar(folder: Path) -> LidarRun:
    from _lidar_fixtures import TILE, write_config

    from sporbar.config import load
    from sporbar.demo.labels import write_labels
    from sporbar.demo.landscape import make_landscape
    from sporbar.demo.lidar import write_lidar_tiles
    from sporbar.workflow import plan
    from sporbar.workflow.effective import write_effective_config

    cfg = load(write_config(folder))
    root = Path(cfg.root)
    effective = Path(write_effective_config(cfg))
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"])
    source = root / "demo-source"
    write_lidar_tiles(cfg, landscape, source)
    labels = write_labels(cfg, landscape, source)
    raw = []
    for t in plan.Plan(cfg).lidar_tiles_for(TILE):
        out = plan.path(cfg, "raw_lidar", lidar_tile=t)
        _sporbar_in_process("--rule", "fetch_lidar", "fetch", "lidar", "-c", str(effective), "--source-dir",
                            str(source), "--lidar-tile", t, "-o", str(out))
        raw.append(out)
    area = cfg.data["area"]["name"]
    raw_labels = plan.path(cfg, "raw_labels", area=area)
    _sporbar_in_process("--rule", "fetch_labels", "fetch", "labels", "-c", str(effective), "--source-dir",
                        str(source), "-o", str(raw_labels))
    products = plan.path(cfg, "lidar_products", tile=TILE)
    _sporbar_in_process("--rule", "lidar_products", "lidar", "-c", str(effective), "--tile", TILE, "-o",
                        str(products), *map(str, raw))
    return LidarRun(effective, root, TILE, raw, raw_labels, products, source / labels["path"])


def _build_ml(folder: Path) -> MlRun:
    from _ml_fixtures import make_area, train_model, write_samples

    area = make_area(folder)
    samples = write_samples(area)
    model, _ = train_model(area, "rf", samples)  # a version below models/rf
    return MlRun(area, samples, model)


def _build_s2(folder: Path) -> S2Source:
    from _s2_fixtures import make_source, write_tiny_config

    from sporbar.config import load

    cfg_path = write_tiny_config(folder)
    scenes = make_source(load(cfg_path), folder / "source")
    return S2Source(cfg_path, folder / "source", [s["id"] for s in scenes])


def _build_chain(folder: Path) -> Any:
    from _stac_fixtures import LAYOUT, build_chain

    from sporbar.stac.catalog import build_catalog

    chain = build_chain(folder)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return chain


def copy_tree(src: Path, dst: Path) -> Path:
    """A private copy of a folder (symlinks kept as links)."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
