"""sporbar verify: schemas, links, provenance fields and checksums, offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _stac_fixtures import LAYOUT, TILE, build_chain, load_json
from click.testing import CliRunner
from conftest import SHARED, shared_stac_schemas

from sporbar.cli.main import cli
from sporbar.io import sha256_multihash
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog
from sporbar.stac.verify import verify_catalog


@pytest.fixture
def published(tmp_path: Path):
    chain = build_chain(tmp_path)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return chain


def _copy(chain, collection: str, item_id: str) -> Path:
    return chain.catalog.parent / collection / item_id / f"{item_id}.json"


def test_clean_catalog_passes(published) -> None:
    report = verify_catalog(published.catalog)
    assert report.ok, report.problems
    assert (report.n_catalogs, report.n_collections, report.n_items, report.n_assets) == (
        1,
        7,
        7,
        20,  # 11 item assets, the map collection's tile index (GeoPackage, FlatGeobuf), 7 collection previews
    )
    assert report.summary() == "OK: 7 items, 20 assets checked"


def test_single_item_checks_its_lineage(published) -> None:
    report = verify_catalog(published.map)  # a source item, outside the catalog
    assert report.ok, report.problems
    assert report.n_items == 7 and report.n_catalogs == 0
    one = verify_catalog(published.raw_lidar)
    assert one.ok and one.n_items == 1 and one.n_assets == 1


def test_corrupt_asset_is_named(published) -> None:
    tif = published.ard.parent / "composite-early.tif"
    data = bytearray(tif.read_bytes())
    data[10] ^= 0xFF
    tif.write_bytes(bytes(data))
    (published.ard.parent / "cube.zarr" / "band" / "0").write_bytes(b"\x09\x09\x09")
    cube = tif.parent / "cube.zarr"
    report = verify_catalog(published.catalog)
    ard_copy = _copy(published, ext.COLLECTION_ARD, f"ard-{TILE}")
    assert report.problems == [
        f"{ard_copy.resolve()}: asset 'composite-early' checksum mismatch (file {tif.resolve()})",
        f"{ard_copy.resolve()}: asset 'cube' checksum mismatch (file {cube.resolve()})",
    ]
    assert report.summary().startswith("FAILED: 2 problem(s)")


def test_size_and_missing_asset(published) -> None:
    (published.model.parent / "metrics.json").write_text('{"accuracy": 0.95}\n')
    (published.map.parent / "confidence.tif").unlink()
    report = verify_catalog(published.catalog)
    text = "\n".join(report.problems)
    assert "model-rf.json: asset 'metrics' size mismatch" in text
    assert "model-rf.json: asset 'metrics' checksum mismatch" in text
    assert f"land-ecology-{TILE}.json: asset 'confidence' file missing" in text


def test_deleted_input_item_breaks_derived_from(published) -> None:
    published.raw_s2.unlink()
    report = verify_catalog(published.map)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"{published.ard.resolve()}: derived_from link ")
    assert "is broken" in report.problems[0]
    scene_copy = next((published.catalog.parent / ext.COLLECTION_S2_RAW).glob("*/*.json"))
    scene_copy.unlink()
    in_cat = verify_catalog(published.catalog)
    text = "\n".join(in_cat.problems)
    assert "collection.json: item link" in text and f"ard-{TILE}.json: derived_from link" in text


def test_provenance_fields_required(published) -> None:
    path = _copy(published, ext.COLLECTION_MODELS, "model-rf")
    d = load_json(path)
    del d["properties"][ext.PROCESSING_LINEAGE]
    del d["assets"]["metrics"][ext.FILE_CHECKSUM]
    d["properties"]["datetime"] = 5  # schema violation
    path.write_text(json.dumps(d))
    problems = verify_catalog(published.catalog).problems
    assert (
        f"{path.resolve()}: property 'processing:lineage' missing (provenance not recorded)"
        in problems
    )
    assert any(
        p.startswith(f"{path.resolve()}: asset 'metrics' has no file:checksum") for p in problems
    )
    assert any(
        p.startswith(f"{path.resolve()}: invalid STAC: [") and "datetime" in p for p in problems
    )


def test_unreadable_start(tmp_path: Path) -> None:
    report = verify_catalog(tmp_path / "nope.json")
    assert not report.ok and "not found" in report.problems[0]


def test_cli_verify(published) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", str(published.catalog)])
    assert ok.exit_code == 0 and ok.output.strip() == "OK: 7 items, 20 assets checked"
    item = runner.invoke(cli, ["verify", str(published.map)])
    assert item.exit_code == 0 and item.output.startswith("OK:")
    if (SHARED / "stac-schemas" / "schema_map.json").is_file():
        shared = runner.invoke(
            cli, ["verify", str(published.catalog), "--schemas", str(shared_stac_schemas())]
        )
        assert shared.exit_code == 0, shared.output
    (published.map.parent / "classes.tif").write_bytes(b"changed")
    bad = runner.invoke(cli, ["verify", str(published.catalog)])
    assert bad.exit_code == 1
    lines = bad.stderr.strip().splitlines()
    assert (
        "asset 'classes' size mismatch" in lines[0]
        and "asset 'classes' checksum mismatch" in lines[1]
    )
    assert lines[-1].startswith("FAILED: 2 problem(s)")
    assert bad.stdout == ""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("form", ["relative", "absolute", "file-url", "symlink"])
def test_hrefs_outside_the_delivery_are_errors_and_never_opened(published, tmp_path: Path, form: str) -> None:
    # issue 12.8: a delivered catalog must not point outside itself, even with a matching checksum
    outside = tmp_path.parent / f"outside-{form}"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_bytes(b"root:x:0:0\n")
    checksum, size = sha256_multihash(secret), secret.stat().st_size
    fifo = outside / "fifo"  # opening it would block: verify must not even open it
    os.mkfifo(fifo)
    path = _copy(published, ext.COLLECTION_MODELS, "model-rf")
    d = load_json(path)
    hrefs = {
        "relative": os.path.relpath(secret, path.parent),
        "absolute": str(secret),
        "file-url": secret.as_uri(),
    }
    if form == "symlink":
        link = path.parent / "metrics-link.json"
        link.symlink_to(secret)
        hrefs["symlink"] = "./metrics-link.json"
    d["assets"]["metrics"].update({"href": hrefs[form], ext.FILE_CHECKSUM: checksum, ext.FILE_SIZE: size})
    d["assets"]["model"]["href"] = os.path.relpath(fifo, path.parent)
    path.write_text(json.dumps(d))
    report = verify_catalog(published.catalog)
    assert not report.ok
    outside_problems = [p for p in report.problems if "outside the delivery" in p]
    assert len(outside_problems) == 2, report.problems
    metrics, model = sorted(outside_problems)
    assert metrics.startswith(f"{path.resolve()}: item 'model-rf' asset 'metrics' href {hrefs[form]!r}")
    assert model.startswith(f"{path.resolve()}: item 'model-rf' asset 'model' href ")
    assert str(report.root) in metrics and report.root == published.root.parent  # the folder of config.yaml


def test_derived_from_outside_the_delivery_is_not_walked(published, tmp_path: Path) -> None:
    stray = tmp_path.parent / "stray-item.json"
    stray.write_text(json.dumps(load_json(published.raw_lidar)))
    path = _copy(published, ext.COLLECTION_ARD, f"ard-{TILE}")
    d = load_json(path)
    d["links"].append({"rel": ext.DERIVED_FROM, "href": stray.as_uri(), "type": "application/json"})
    path.write_text(json.dumps(d))
    report = verify_catalog(published.catalog)
    assert [p for p in report.problems if "outside the delivery" in p] == [
        f"{path.resolve()}: derived_from link href {stray.as_uri()!r} points outside the delivery "
        f"{report.root} (a delivered catalog must not point outside itself; not opened; if it is an archive "
        "indexed in place, name it with --external DIR)"
    ]
    assert report.n_items == 7  # the stray item was not walked into


def test_external_archive_named_by_the_caller_is_allowed_and_checked(published, tmp_path: Path) -> None:
    # a 'local' source indexes a Sentinel archive in place: its raw items point outside the
    # delivery. Only the caller can allow that folder, and its files are still checksummed.
    archive = tmp_path.parent / "s2-archive"
    archive.mkdir()
    band = archive / "B04.jp2"
    band.write_bytes(b"band bytes")
    copy = _copy(published, ext.COLLECTION_MODELS, "model-rf")
    home = published.root / "models" / "rf" / "v1" / "item.json"  # the item beside the data (via)
    for path in (copy, home):
        d = load_json(path)
        d["assets"]["metrics"].update(
            {"href": os.path.relpath(band, path.parent), ext.FILE_CHECKSUM: sha256_multihash(band),
             ext.FILE_SIZE: band.stat().st_size}
        )
        path.write_text(json.dumps(d))
    refused = verify_catalog(published.catalog)
    assert [p for p in refused.problems if "outside the delivery" in p and "--external DIR" in p]
    allowed = verify_catalog(published.catalog, external=[archive])
    assert allowed.ok, allowed.problems
    assert allowed.n_external_assets == 1
    assert f"1 of them in the external archive(s) {archive.resolve()}" in allowed.summary()
    ran = CliRunner().invoke(cli, ["verify", str(published.catalog), "--external", str(archive)])
    assert ran.exit_code == 0, ran.output
    band.write_bytes(b"changed!!!")  # same size: only the checksum can catch it
    changed = verify_catalog(published.catalog, external=[archive])
    assert [p for p in changed.problems if "asset 'metrics' checksum mismatch" in p], changed.problems


def test_item_changed_at_the_data_location_is_caught(published) -> None:
    # issue 12.7: the stages read the item beside the data, not the catalog copy; a checksum
    # changed there after publishing must fail verify of the catalog
    d = load_json(published.ard)
    d["assets"]["composite-early"][ext.FILE_CHECKSUM] = "1220" + "0" * 64
    published.ard.write_text(json.dumps(d))
    report = verify_catalog(published.catalog)
    copy = _copy(published, ext.COLLECTION_ARD, f"ard-{TILE}").resolve()
    assert report.problems == [
        f"{copy}: asset 'composite-early': the item at the data location ({published.ard.resolve()}) records "
        f"file:checksum '1220{'0' * 64}', the catalog copy "
        f"{load_json(copy)['assets']['composite-early'][ext.FILE_CHECKSUM]!r} (changed after publishing)"
    ]


def test_url_asset_is_named_not_silently_passed(published) -> None:
    # found by tests/reliability/bad_input.py: a URL href in a delivery only showed as a count
    url = "http://127.0.0.1:9/passwd"
    copy = _copy(published, ext.COLLECTION_MODELS, "model-rf")
    for path in (copy, published.model):  # the catalog copy and the item beside the data agree
        d = load_json(path)
        d["assets"]["metrics"]["href"] = url
        path.write_text(json.dumps(d))
    ran = CliRunner().invoke(cli, ["verify", str(published.catalog)])
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.splitlines() == [
        f"warning: {copy.resolve()}: item 'model-rf' asset 'metrics' href {url!r} is a URL: not checked offline "
        "(not part of the delivery)"
    ]
    assert ran.stdout.startswith("OK: 7 items, ") and ran.stdout.strip().endswith(", 1 remote (URL) assets not checked")
