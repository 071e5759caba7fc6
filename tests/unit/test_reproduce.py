"""`sporbar reproduce`: a real two-step chain (fetch lidar + fetch labels -> lidar products)
re-run from its items: identical when untouched; tampered inputs, outputs, config and code
version are each reported."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from _lidar_fixtures import TILE, write_config
from click.testing import CliRunner

from sporbar.config import load
from sporbar.demo.labels import write_labels
from sporbar.demo.landscape import make_landscape
from sporbar.demo.lidar import write_lidar_tiles
from sporbar.reproduce import AssetStatus, InputStatus, Reproducer, Verdict, catalog_items, summary
from sporbar.reproduce.compare import json_differences
from sporbar.workflow import plan
from sporbar.workflow.effective import write_effective_config


def _sporbar(*args: str) -> None:
    from sporbar.cli.main import cli

    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder ``<work>/results`` as the pipeline lays it out: config/effective-<hash>.yaml, demo-source,
    raw lidar and labels items, and the lidar products of one tile. Returns the root."""
    work = tmp_path_factory.mktemp("chain")
    cfg_path = write_config(work, area={"name": "test-repro", "bbox": [268800, 7029760, 269440, 7030400]})
    cfg = load(cfg_path)
    root = Path(cfg.root)
    effective = write_effective_config(cfg)
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"])
    source = root / "demo-source"
    write_lidar_tiles(cfg, landscape, source)
    write_labels(cfg, landscape, source)
    laz = []
    for t in plan.Plan(cfg).lidar_tiles_for(TILE):
        out = plan.path(cfg, "raw_lidar", lidar_tile=t)
        _sporbar("--rule", "fetch_lidar", "fetch", "lidar", "-c", effective, "--source-dir", str(source),
                 "--lidar-tile", t, "-o", str(out))
        laz.append(str(out))
    _sporbar("fetch", "labels", "-c", effective, "--source-dir", str(source),
             "-o", str(plan.path(cfg, "raw_labels", area="test-repro")))
    _sporbar("--rule", "lidar_products", "lidar", "-c", effective, "--tile", TILE,
             "-o", str(plan.path(cfg, "lidar_products", tile=TILE)), *laz)
    return root


@pytest.fixture
def copy(chain: Path, tmp_path: Path) -> Path:
    """A private copy of the run (a moved delivery: paths recorded in the items no longer exist)."""
    root = tmp_path / "moved" / "results"
    shutil.copytree(chain, root)
    return root


def _product(root: Path) -> Path:
    return root / "lidar" / "products" / TILE / "item.json"


def test_untouched_items_are_identical(chain: Path) -> None:
    rep = Reproducer()
    raw = sorted((chain / "raw").rglob("item.json"))
    for item in (raw[0], raw[-1]):  # labels, one lidar tile (fetch labels / fetch lidar)
        r = rep.reproduce(item)
        assert r.verdict == Verdict.IDENTICAL, r.render()
        assert r.assets and all(a.status == AssetStatus.IDENTICAL for a in r.assets)
    r = rep.reproduce(_product(chain))
    assert r.verdict == Verdict.IDENTICAL, r.render()
    assert r.command == "lidar" and r.call.endswith("[rule lidar_products]")
    assert len(r.inputs) == 4 and all(i.status == InputStatus.OK for i in r.inputs)
    assert {a.key for a in r.assets} >= {"dtm", "dsm", "chm", "density"}
    assert "bit-for-bit" in r.render() and not r.problems


def test_moved_delivery_still_reproduces(copy: Path) -> None:
    r = Reproducer().reproduce(_product(copy))
    assert r.verdict == Verdict.IDENTICAL, r.render()


def test_tampered_input_is_reported(copy: Path) -> None:
    laz = sorted((copy / "raw" / "lidar").rglob("*.laz"))[0]
    data = bytearray(laz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    laz.write_bytes(bytes(data))
    r = Reproducer().reproduce(_product(copy))
    assert r.verdict == Verdict.INPUT_CHANGED, r.render()
    bad = [i for i in r.inputs if i.status == InputStatus.CHANGED]
    assert len(bad) == 1 and laz.parent.name in bad[0].item and "data" in bad[0].detail
    assert not r.assets  # not re-run from a changed input


def test_missing_input_is_reported(copy: Path) -> None:
    shutil.rmtree(sorted((copy / "raw" / "lidar").iterdir())[0])
    r = Reproducer().reproduce(_product(copy))
    assert r.verdict == Verdict.MISSING_INPUT, r.render()


def test_changed_output_pixel_is_reported(copy: Path) -> None:
    dtm = _product(copy).parent / "dtm.tif"
    with rasterio.open(dtm) as src:
        profile, arr = src.profile, src.read()
    arr[0, 10, 10] += 2.5
    dtm.unlink()
    with rasterio.open(dtm, "w", **profile) as dst:
        dst.write(arr)
    r = Reproducer().reproduce(_product(copy))
    assert r.verdict == Verdict.DIFFERENT, r.render()
    res = {a.key: a for a in r.assets}
    assert res["dtm"].status == AssetStatus.DIFFERENT
    assert "1 of 4096 pixels differ, max |diff| 2.5" in res["dtm"].detail
    assert "does not match its file:checksum" in res["dtm"].detail
    assert all(res[k].status == AssetStatus.IDENTICAL for k in ("dsm", "chm", "density"))


def test_changed_non_raster_output_is_reported(copy: Path) -> None:
    item = sorted((copy / "raw" / "labels").rglob("item.json"))[0]
    gpkg = item.parent / "labels.gpkg"
    gpkg.write_bytes(gpkg.read_bytes() + b"\0")
    r = Reproducer().reproduce(item)
    assert r.verdict == Verdict.DIFFERENT, r.render()
    (labels,) = r.assets
    assert labels.status == AssetStatus.DIFFERENT and "size" in labels.detail and "checksum" in labels.detail


def test_changed_config_is_reported(copy: Path) -> None:
    (cfg,) = (copy / "config").glob("effective-*.yaml")  # the run's effective config, edited
    data = yaml.safe_load(cfg.read_text())
    data["demo"]["lidar_density"] = 2.0
    cfg.write_text(yaml.safe_dump(data))
    r = Reproducer().reproduce(_product(copy))
    assert r.verdict == Verdict.CONFIG_CHANGED, r.render()
    assert "CHANGED" in r.config and any("config differs" in p for p in r.problems)


def test_code_version_difference_is_a_warning(copy: Path) -> None:
    item = _product(copy)
    d = json.loads(item.read_text())
    d["properties"]["sporbar:code_version"] = "git:0000000000000000000000000000000000000000"
    item.write_text(json.dumps(d))
    r = Reproducer().reproduce(item)
    assert r.verdict == Verdict.IDENTICAL, r.render()
    assert any("code version differs" in w for w in r.warnings)
    assert "DIFFERS" in r.render()


def test_cli_single_item_and_all(chain: Path, tmp_path: Path) -> None:
    from sporbar.cli.reproduce import reproduce

    res = CliRunner().invoke(reproduce, [str(_product(chain)), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert "verdict: IDENTICAL (bit-for-bit)" in res.output
    assert json.loads((tmp_path / "r.json").read_text())[0]["verdict"] == Verdict.IDENTICAL
    # a catalog made by `sporbar publish` in the run root: catalog copies of the items point at the data
    catalog = chain / "catalog" / "catalog.json"
    raw = sorted(str(p) for p in (chain / "raw").rglob("item.json"))
    items = [raw[0], raw[-1]]  # labels and one lidar tile: quick to re-run
    (effective,) = (chain / "config").glob("effective-*.yaml")
    _sporbar("publish", "-c", str(effective), "-o", str(catalog), *items)
    assert len(catalog_items(catalog)) == len(items)
    res = CliRunner().invoke(reproduce, ["--all", str(catalog)])
    assert res.exit_code == 0, res.output
    assert f"reproduced bit-for-bit: {len(items)} of {len(items)} items (100.0%)" in res.output
    res = CliRunner().invoke(reproduce, [])
    assert res.exit_code != 0 and "either ITEM or --all" in res.output


@pytest.mark.timeout(300)
def test_hrefs_outside_the_delivery_are_never_opened(copy: Path, tmp_path: Path) -> None:
    # issue 12.8: reproduce must not open what an item points to outside the delivery (the run
    # root); FIFOs out there would block any open
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("dtm.tif", "data.laz"):
        os.mkfifo(outside / name)
    item = _product(copy)
    d = json.loads(item.read_text())
    d["assets"]["dtm"]["href"] = (outside / "dtm.tif").as_uri()
    item.write_text(json.dumps(d))
    r = Reproducer().reproduce(item)
    assert r.verdict == Verdict.NOT_REPRODUCIBLE, r.render()
    assert r.problems == [
        f"{item}: item {d['id']!r} asset 'dtm' href {(outside / 'dtm.tif').as_uri()!r} points outside the "
        f"delivery {copy}; reproduce does not open it"
    ]
    # an input whose asset points outside: the input is not opened either
    d["assets"]["dtm"]["href"] = "./dtm.tif"
    item.write_text(json.dumps(d))
    laz_item = sorted((copy / "raw" / "lidar").rglob("item.json"))[0]
    raw = json.loads(laz_item.read_text())
    raw["assets"]["data"]["href"] = os.path.relpath(outside / "data.laz", laz_item.parent)
    laz_item.write_text(json.dumps(raw))
    r = Reproducer().reproduce(item)
    assert r.verdict == Verdict.NOT_REPRODUCIBLE and not r.assets, r.render()
    assert [i.status for i in r.inputs].count(InputStatus.OUTSIDE) == 1
    assert any("asset 'data' href" in p and "outside the delivery" in p for p in r.problems)


def test_url_asset_is_named_and_not_opened(copy: Path) -> None:
    # found by tests/reliability/bad_input.py: a URL asset href was reported as "delivered file is gone"
    item = _product(copy)
    d = json.loads(item.read_text())
    url = "http://127.0.0.1:9/dtm.tif"  # nothing listens on the discard port
    d["assets"]["dtm"]["href"] = url
    item.write_text(json.dumps(d))
    r = Reproducer().reproduce(item)
    assert r.verdict == Verdict.DIFFERENT, r.render()
    (dtm,) = [a for a in r.assets if a.key == "dtm"]
    assert dtm.status == AssetStatus.MISSING
    assert dtm.detail == (f"delivered href {url!r} is a URL, outside the delivery; reproduce does not open it; "
                          "reproduced checksum equals the recorded one")


def test_summary_and_json_differences() -> None:
    assert json_differences({"a": [1, 2.0], "b": float("nan")}, {"a": [1, 2.5], "b": float("nan")}) == ["$.a[1]"]
    assert summary([]).startswith("reproduced bit-for-bit: 0 of 0")
    a, b = np.array([1.0, np.nan, 3.0]), np.array([1.0, np.nan, 3.5])
    from sporbar.reproduce.compare import _array_diff

    assert _array_diff(a, b) == (1, 0.5, 3)
