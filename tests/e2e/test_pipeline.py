"""End to end: the Snakemake workflow on a small demo area, then the catalog it made.

Slow (a few minutes on 2 cores): marked ``e2e``; `make test` runs it, `pytest -m e2e` runs it alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import asset_checksums, shared_stac_schemas, small_config, write_config
from conftest import run_snakemake as snakemake
from conftest import run_sporbar as sporbar

from sporbar.config import load
from sporbar.stac.layout import ItemLayout
from sporbar.stac.lineage import leaves, lineage
from sporbar.workflow import plan
from sporbar.workflow.blocks import current_item

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("e2e")
    root = work / "results"
    cfg_path = write_config(work / "config.yaml", small_config(root))
    r = snakemake("--configfile", str(cfg_path), cwd=work)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return {"work": work, "root": root, "config": cfg_path, "cfg": load(cfg_path)}


def _items(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("item.json") if "catalog" not in p.parts)


def test_every_output_file_has_an_item(run: dict) -> None:
    cfg, root = run["cfg"], run["root"]
    for p in plan.all_outputs(cfg):
        assert p.exists(), p
    covered: set[Path] = set()
    for item_path in _items(root):
        item = json.loads(item_path.read_text())
        for asset in item["assets"].values():
            covered.add((item_path.parent / asset["href"]).resolve())
    for stage in ("ard", "lidar", "training", "models", "maps"):
        for f in (root / stage).rglob("*"):
            if f.is_file() and f.name != "item.json":
                assert any(f.resolve() == c or c in f.resolve().parents for c in covered), (
                    f"{f} has no item")
    for f in (root / "raw").rglob("*"):
        if f.suffix in {".jp2", ".laz", ".gpkg"}:
            assert f.resolve() in covered, f"{f} has no item"


def test_catalog_verifies(run: dict) -> None:
    catalog = plan.path(run["cfg"], "catalog")
    schemas = shared_stac_schemas()  # always there in CI: a missing bundle fails, never skips
    assert (schemas / "schema_map.json").is_file(), f"{schemas}: the shared STAC schema bundle is missing"
    r = sporbar("verify", str(catalog), "--schemas", str(schemas))
    assert r.returncode == 0, r.stdout + r.stderr


def test_lineage_of_a_map_reaches_raw_data(run: dict) -> None:
    cfg = run["cfg"]
    tile = cfg.tiles[0]
    map_item = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=tile)
    graph = lineage(map_item, layout=ItemLayout.from_patterns(plan.PATTERNS))
    collections = {leaf.collection for leaf in leaves(graph)}
    assert {"sentinel-2-l2a-raw", "lidar-raw", "labels-raw"} <= collections
    r = sporbar("lineage", str(map_item))
    assert r.returncode == 0, r.stderr
    assert "sentinel-2-l2a-raw" in r.stdout and "lidar-raw" in r.stdout


def test_map_items_name_their_classes_and_model(run: dict) -> None:
    import numpy as np
    import rasterio

    cfg = run["cfg"]
    names = {int(c["value"]): c["name"] for c in cfg.data["classes"]}
    for tile in cfg.tiles:
        path = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=tile)
        props = json.loads(path.read_text())["properties"]
        with rasterio.open(path.parent / "classes.tif") as src:
            present = sorted(int(v) for v in np.unique(src.read(1)) if v != 0)
        assert props["sporbar:classes"] == [names[v] for v in present], tile
        model = current_item(cfg, "model", model=cfg.data["map"]["model"])
        assert props["sporbar:model"] == json.loads(model.read_text())["id"]


def test_models_beat_majority_baseline(run: dict) -> None:
    cfg = run["cfg"]
    for model_id in plan.model_ids(cfg):
        item = json.loads(current_item(cfg, "model", model=model_id).read_text())
        m = item["properties"]["sporbar:metrics"]
        assert m["overall_accuracy"] > m["baseline_accuracy"] + 0.25, (model_id, m)


def test_second_run_does_nothing(run: dict) -> None:
    r = snakemake("--configfile", str(run["config"]), "--dry-run", cwd=run["work"])
    assert r.returncode == 0, r.stderr
    assert "Nothing to be done" in r.stdout + r.stderr


def test_corrupted_asset_fails_verify(run: dict, tmp_path: Path) -> None:
    cfg = run["cfg"]
    tif = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=cfg.tiles[0]).parent / "classes.tif"
    backup = tmp_path / "classes.tif"
    shutil.copy2(tif, backup)
    try:
        data = bytearray(tif.read_bytes())
        data[-10] ^= 0xFF
        tif.write_bytes(bytes(data))
        r = sporbar("verify", str(plan.path(cfg, "catalog")))
        assert r.returncode == 1
        assert "classes" in r.stdout + r.stderr and "checksum" in r.stdout + r.stderr
    finally:
        shutil.copy2(backup, tif)


def test_rerun_after_a_licence_change_republishes(run: dict) -> None:
    """Only catalog.license changed: Snakemake deletes catalog.json and re-runs publish, which
    must replace its own catalog folder instead of refusing it (issue 12.1, the publish trap)."""
    cfg_path: Path = run["config"]
    original = cfg_path.read_text()
    data = yaml.safe_load(original)
    assert data["catalog"]["license"] == "NLOD-2.0"
    data["catalog"]["license"] = "CC-BY-4.0"
    catalog = plan.path(run["cfg"], "catalog")
    try:
        write_config(cfg_path, data)
        r = snakemake("--configfile", str(cfg_path), cwd=run["work"])
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
        table = (r.stdout + r.stderr).split("Job stats:")[1].split("total")[0]
        ran = {line.split()[0] for line in table.splitlines() if len(line.split()) == 2}
        assert "publish" in ran and not ran & {"ard", "predict", "train", "samples"}, ran
        maps = json.loads((catalog.parent / "land-ecology-maps" / "collection.json").read_text())
        assert maps["license"] == "CC-BY-4.0", maps["license"]
        r = sporbar("verify", str(catalog))
        assert r.returncode == 0, r.stdout + r.stderr
    finally:  # the tests after this one see the run as it was
        cfg_path.write_text(original)
        r = snakemake("--configfile", str(cfg_path), cwd=run["work"])
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    maps = json.loads((catalog.parent / "land-ecology-maps" / "collection.json").read_text())
    assert maps["license"] == "other"


def test_bad_config_fails_before_any_work(tmp_path: Path) -> None:
    data = small_config(tmp_path / "results")
    data["ard"]["bandz"] = ["B02"]
    cfg_path = write_config(tmp_path / "bad.yaml", data)
    r = snakemake("--configfile", str(cfg_path), cwd=tmp_path)
    assert r.returncode != 0
    assert "bandz" in r.stdout + r.stderr
    assert not (tmp_path / "results").exists()


def test_label_file_without_class_column_fails_before_any_work(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    labels = tmp_path / "field.gpkg"
    gpd.GeoDataFrame({"klasse": ["forest"]}, geometry=[box(268900, 7030500, 269000, 7030600)],
                     crs="EPSG:25833").to_file(labels, layer="labels")
    data = small_config(tmp_path / "results")
    data["sources"]["labels"] = {"source": "file", "path": str(labels), "class_column": "class_name"}
    cfg_path = write_config(tmp_path / "cfg.yaml", data)
    r = snakemake("--configfile", str(cfg_path), cwd=tmp_path)
    assert r.returncode != 0
    assert f"{labels}: label file has no class column 'class_name'" in r.stdout + r.stderr
    assert not (tmp_path / "results" / "raw").exists()
    r = sporbar("check-config", str(cfg_path))
    assert r.returncode == 1 and "columns: klasse" in r.stderr


def test_job_blocks_give_the_same_data(run: dict, tmp_path: Path) -> None:
    # 2 x 2 tiles per job: both tiles of the area in one job of each tile stage, same bytes out
    root = tmp_path / "results"
    cfg = small_config(root, job_block=2)
    r = snakemake("--configfile", str(write_config(tmp_path / "config.yaml", cfg)), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    table = (r.stdout + r.stderr).split("Job stats:")[1].split("total")[0]
    stats = dict(line.split() for line in table.splitlines() if len(line.split()) == 2)
    assert stats["ard"] == stats["predict"] == stats["lidar_products"] == "1"
    jobs = plan.Plan(load(tmp_path / "config.yaml"))
    assert len(jobs.blocks) == 1 and len(jobs.block_tiles(jobs.blocks[0])) == 2
    assert asset_checksums(root) == asset_checksums(run["root"])


def test_deleted_files_are_redone_by_a_rerun_and_reported_by_status(run: dict, tmp_path: Path) -> None:
    from sporbar.workflow.status import run_status

    cfg, work, config = run["cfg"], run["work"], str(run["config"])
    tile = cfg.tiles[0]
    scene_dir = plan.path(cfg, "raw_s2", scene=plan.scene_ids(cfg)[0]).parent
    victims = {  # a raw band, an ARD composite, a map tile: each item.json stays
        "fetch_s2": next(scene_dir.rglob("*_B04_10m.jp2")),
        "ard": next(plan.path(cfg, "ard", tile=tile).parent.glob("composite-*.tif")),
        "predict": plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=tile).parent / "classes.tif",
    }
    r = snakemake("-n", "--configfile", config, cwd=work)
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-3000:]
    for rule, victim in victims.items():
        kept = tmp_path / victim.name
        shutil.copy2(victim, kept)
        victim.unlink()
        try:
            r = snakemake("-n", "--configfile", config, cwd=work)
            out = r.stdout + r.stderr
            assert r.returncode == 0 and "Nothing to be done" not in out, out[-3000:]
            table = out.split("Job stats:")[1].split("total")[0]
            assert rule in dict(line.split() for line in table.splitlines() if len(line.split()) == 2), table
            states = run_status(cfg, work, use_slurm=False)
            missing = [s for stage in states.stages.values() for s in stage if s.state == "missing"]
            assert missing and all(str(victim) in s.detail for s in missing), [s.detail for s in missing]
            assert missing[0].unit.stage == rule
        finally:
            shutil.copy2(kept, victim)  # same bytes and mtime: the run is complete again
    r = snakemake("-n", "--configfile", config, cwd=work)
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-3000:]
