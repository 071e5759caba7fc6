"""A tiny real provenance chain for the catalog / verify / lineage tests.

raw S2 scene ─┐
              ├─> ard tile ─┬────────────────> map tile
raw lidar ────┘ (*)         └─> training ─> model ─┘
raw labels ───────────────────────┘

(*) the lidar tile is an input of the ard item only to give the graph a second
raw leaf cheaply. Every item is written with ``record_item`` over small real files;
the ard item has a Zarr-like directory asset. Like the real stages, items carry no
``collection`` field (it needs a collection link), so publish infers it from the path.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pystac
from conftest import SHARED, small_config, write_config

from sporbar.config import Config, load
from sporbar.stac import extensions as ext
from sporbar.stac.layout import ItemLayout
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan

SCENE = "S2A_MSIL2A_20240601T104031_N0510_R094_T32VNR_20240601T130000"
LIDAR_TILE = "lidar_268500_7030000"
TILE = "E268800N7030400"
MODEL = "rf"
GEOM = {
    "type": "Polygon",
    "coordinates": [[[10.0, 63.2], [10.1, 63.2], [10.1, 63.3], [10.0, 63.3], [10.0, 63.2]]],
}
BBOX = [10.0, 63.2, 10.1, 63.3]
# where the workflow writes each collection's items (the CLI hands the same layout down)
LAYOUT = ItemLayout.from_patterns(plan.PATTERNS)


@dataclass
class Chain:
    """Paths of the chain's items (source item.json files) and its config."""

    cfg: Config
    cfg_path: Path
    root: Path
    raw_s2: Path
    raw_lidar: Path
    raw_labels: Path
    ard: Path
    training: Path
    model: Path
    map: Path

    @property
    def items(self) -> list[Path]:
        """Every source item path."""
        return [
            self.raw_s2,
            self.raw_lidar,
            self.raw_labels,
            self.ard,
            self.training,
            self.model,
            self.map,
        ]

    @property
    def catalog(self) -> Path:
        """Where publish writes the root catalog."""
        return plan.path(self.cfg, "catalog")


def _item(
    item_id: str,
    assets: dict[str, str],
    *,
    geometry: bool = True,
    dt: str = "2024-06-01T10:40:31Z",
) -> pystac.Item:
    item = pystac.Item(
        id=item_id,
        geometry=GEOM if geometry else None,
        bbox=BBOX if geometry else None,
        datetime=pystac.utils.str_to_datetime(dt),
        properties={},
    )
    for key, href in assets.items():
        item.add_asset(key, pystac.Asset(href=href, media_type=ext.JSON, roles=["data"]))
    return item


def _record(cfg: Config, item: pystac.Item, path: Path, inputs: list[Path], what: str) -> Path:
    prov = Provenance(
        software={"sporbar": "0.1.0", "pystac": "1.15.2"},
        host="test-host",
        datetime="2024-10-01T00:00:00Z",
        code_version="sporbar==0.1.0",
        config_hash=cfg.hash,
    )
    d = record_item(
        item, path, inputs=inputs, step=Step(lineage=what, command="test"), provenance=prov
    )
    validate_item_dict(d)
    return path


def _file(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"./{path.name}"


def build_chain(tmp: Path) -> Chain:
    """Write the chain below ``tmp/results`` and return its paths."""
    root = tmp / "results"
    cfg_path = write_config(tmp / "config.yaml", small_config(root))
    cfg = load(cfg_path)
    p = {
        "raw_s2": plan.path(cfg, "raw_s2", scene=SCENE),
        "raw_lidar": plan.path(cfg, "raw_lidar", lidar_tile=LIDAR_TILE),
        "raw_labels": plan.path(cfg, "raw_labels", area="test-area"),
        "ard": plan.path(cfg, "ard", tile=TILE),
        "training": plan.path(cfg, "training", area="test-area", version="v1"),
        "model": plan.path(cfg, "model", model=MODEL, version="v1"),
        "map": plan.path(cfg, "map", product="land-ecology", tile=TILE),
    }
    d = {k: v.parent for k, v in p.items()}

    s2 = _item(
        SCENE,
        {
            "B04": _file(d["raw_s2"] / "B04.jp2", b"\x00\x00\x00\x0cjP  red band"),
            "metadata": _file(d["raw_s2"] / "MTD_MSIL2A.xml", b"<xml/>\n"),
        },
    )
    _record(cfg, s2, p["raw_s2"], [], "Fetched Sentinel-2 L2A scene unchanged.")
    lidar = _item(
        LIDAR_TILE, {"data": _file(d["raw_lidar"] / "points.laz", b"LASF" + bytes(range(64)))}
    )
    _record(cfg, lidar, p["raw_lidar"], [], "Fetched lidar tile unchanged.")
    labels = _item(
        "labels-test-area",
        {"labels": _file(d["raw_labels"] / "labels.gpkg", b"SQLite format 3\x00")},
    )
    _record(cfg, labels, p["raw_labels"], [], "Fetched label polygons.")

    cube = d["ard"] / "cube.zarr"
    (cube / "band" / "0").parent.mkdir(parents=True)
    (cube / "zarr.json").write_text('{"zarr_format": 3}\n')
    (cube / "band" / "0").write_bytes(b"\x01\x02\x03")
    ard = _item(
        f"ard-{TILE}",
        {
            "composite-early": _file(d["ard"] / "composite-early.tif", b"II*\x00" + bytes(100)),
            "cube": "./cube.zarr",
        },
    )
    _record(
        cfg,
        ard,
        p["ard"],
        [p["raw_s2"], p["raw_lidar"]],
        "Cloud-masked median composite of Sentinel-2 L2A on the 10 m grid.",
    )
    training = _item(
        "training-test-area",
        {"samples": _file(d["training"] / "samples.parquet", b"PAR1samplesPAR1")},
    )
    _record(
        cfg,
        training,
        p["training"],
        [p["ard"], p["raw_labels"]],
        "Stratified samples of ARD features at label polygons.",
    )
    model = _item(
        f"model-{MODEL}",
        {
            "model": _file(d["model"] / "model.joblib", b"joblib-bytes"),
            "metrics": _file(d["model"] / "metrics.json", b'{"accuracy": 0.9}\n'),
        },
        geometry=False,
    )
    model.properties["sporbar:metrics"] = {"overall_accuracy": 0.9}
    _record(cfg, model, p["model"], [p["training"]], "Random forest trained on the samples.")
    mp = _item(
        f"land-ecology-{TILE}",
        {
            "classes": _file(d["map"] / "classes.tif", b"II*\x00classes"),
            "confidence": _file(d["map"] / "confidence.tif", b"II*\x00confidence"),
        },
        dt="2024-09-30T00:00:00Z",
    )
    mp.properties.update({"sporbar:classes": ["forest", "mire"], "sporbar:model": f"model-{MODEL}"})
    _record(cfg, mp, p["map"], [p["ard"], p["model"]], "Classes predicted by model rf.")
    return Chain(cfg=cfg, cfg_path=cfg_path, root=root, **p)


def snapshot(paths: list[Path]) -> dict[Path, bytes]:
    """Bytes of each file, to prove that nothing changed them."""
    return {p: p.read_bytes() for p in paths}


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file below ``folder``."""
    return {
        f.relative_to(folder).as_posix(): f.read_bytes()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def shared_validator() -> ModuleType | None:
    """``../shared/stac-schemas/validate.py`` as a module, or None if ../shared is absent."""
    path = SHARED / "stac-schemas" / "validate.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("shared_stac_validate", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def json_files(folder: Path) -> list[Path]:
    """Every JSON file below ``folder``, sorted."""
    return sorted(folder.rglob("*.json"))


def load_json(path: Path) -> Any:
    """Parse a JSON file."""
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def vouch_for_file(item_path: Path, key: str) -> None:
    """Make the item at ``item_path`` record the current size and checksum of asset ``key``'s file.

    For tests of what a stage does with a damaged file that its item vouches for: otherwise the
    stage's input check (``read_input_item``) refuses the file before its reader sees it.
    """
    from sporbar.io import sha256_multihash, size_of

    d = json.loads(item_path.read_text())
    target = (item_path.parent / d["assets"][key]["href"]).resolve()
    d["assets"][key].update({ext.FILE_CHECKSUM: sha256_multihash(target), ext.FILE_SIZE: size_of(target)})
    item_path.write_text(json.dumps(d, indent=2, sort_keys=True))
