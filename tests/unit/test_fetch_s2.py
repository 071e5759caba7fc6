"""``sporbar fetch s2``: copy a demo SAFE product and record a valid raw item."""

from __future__ import annotations

import json

import pytest
import rasterio
from _s2_fixtures import fetch_demo_scene, make_source, scene_ids, source, tiny, write_tiny_config  # noqa: F401
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.config import load
from sporbar.errors import MissingInputError, OutputExistsError
from sporbar.stac.validate import validate_item_dict


def _run(tiny, source, scene, out, *extra):  # noqa: F811
    return CliRunner().invoke(
        cli,
        [
            "fetch",
            "s2",
            "-c",
            str(tiny[0]),
            "--source-dir",
            str(source),
            "--scene",
            scene,
            "-o",
            str(out),
            *extra,
        ],
    )


def test_fetch_writes_valid_raw_item(tiny, source, tmp_path):  # noqa: F811
    scene = scene_ids(tiny[1])[1]
    out = tmp_path / "raw" / scene / "item.json"
    r = _run(tiny, source, scene, out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text(encoding="utf-8"))
    validate_item_dict(d)
    assert d["id"] == scene and d["properties"]["platform"] == "sentinel-2b"
    assert (
        d["properties"]["proj:code"] == "EPSG:32632"
        and d["properties"]["processing:level"] == "L2A"
    )
    assert d["properties"]["datetime"].startswith("2024-06-30T10:40:31")
    assert 0 <= d["properties"]["eo:cloud_cover"] <= 100
    assert {
        "B01",
        "B02",
        "B08",
        "B8A",
        "B12",
        "SCL",
        "metadata",
        "granule-metadata",
        "manifest",
    } <= set(d["assets"])
    for key, a in d["assets"].items():
        assert a["file:checksum"].startswith("1220") and a["file:size"] > 0, key
        assert (out.parent / a["href"]).is_file(), key
    b04 = d["assets"]["B04"]
    assert b04["raster:bands"][0] == {
        "data_type": "uint16",
        "nodata": 0,
        "offset": -0.1,
        "scale": 0.0001,
        "spatial_resolution": 10,
    }
    assert b04["eo:bands"][0]["common_name"] == "red" and b04["proj:shape"][0] > 0
    assert (
        d["assets"]["B05"]["proj:transform"][0] == 20
        and d["assets"]["B01"]["proj:transform"][0] == 60
    )
    lon, lat = d["geometry"]["coordinates"][0][0]
    assert 10 < lon < 11 and 63 < lat < 64
    # the item stactools-sentinel2 made, without its clock time and s2:* (in sporbar:s2)
    props = d["properties"]
    assert "created" not in props and not [k for k in props if k.startswith("s2:")]
    assert props["grid:code"] == "MGRS-32VNR" and props["sat:relative_orbit"] == 94
    assert props["sporbar:s2"]["product_uri"] == f"{scene}.SAFE"
    assert 0 < props["view:incidence_angle"] < 15 and "view:sun_elevation" in props
    assert {"inspire-metadata", "datastrip-metadata"} <= set(d["assets"])

    again = _run(tiny, source, scene, out)
    assert isinstance(again.exception, OutputExistsError)
    assert _run(tiny, source, scene, out, "--overwrite").exit_code == 0


def test_unknown_scene_names_source_and_scene(tiny, source, tmp_path):  # noqa: F811
    r = _run(tiny, source, "S2A_MSIL2A_NOPE", tmp_path / "item.json")
    assert isinstance(r.exception, MissingInputError)
    assert str(source) in str(r.exception) and "S2A_MSIL2A_NOPE" in str(r.exception)
    assert not (tmp_path / "item.json").exists()


def test_help():
    r = CliRunner().invoke(cli, ["fetch", "s2", "--help"])
    assert r.exit_code == 0, r.output
    assert "--source-dir" in r.output


def test_band_grids_match_the_files_on_a_non_square_granule(tmp_path):
    """proj:shape/proj:transform come from the granule geocoding, rows and columns not swapped."""
    cfg = load(write_tiny_config(tmp_path / "cfg", area={"name": "wide", "bbox": [268800, 7029760, 270080, 7030400]}))
    make_source(cfg, tmp_path / "src")
    scene = scene_ids(cfg)[0]
    out = tmp_path / "raw" / scene / "item.json"
    d = fetch_demo_scene(cfg, tmp_path / "src", scene, out)
    validate_item_dict(d)
    for key, a in d["assets"].items():
        if "proj:shape" not in a:
            continue
        with rasterio.open(out.parent / a["href"]) as ds:
            assert ds.height != ds.width, key
            assert a["proj:shape"] == [ds.height, ds.width], key
            assert a["proj:transform"] == list(ds.transform)[:6], key
            assert a["proj:bbox"] == list(ds.bounds), key


def test_truncated_source_band_is_refused_not_recorded(tiny, tmp_path):  # noqa: F811
    """Issue 12.7: a band cut short in the source SAFE is caught against the manifest's size and MD5."""
    from sporbar.fetch.errors import IntegrityError

    source_dir = tmp_path / "src"
    make_source(tiny[1], source_dir)
    scene = scene_ids(tiny[1])[0]
    band = next((source_dir / "sentinel-2" / f"{scene}.SAFE").glob("GRANULE/*/IMG_DATA/R10m/*_B04_10m.jp2"))
    band.write_bytes(band.read_bytes()[: band.stat().st_size // 2])
    out = tmp_path / "raw" / scene / "item.json"
    r = _run(tiny, source_dir, scene, out)
    assert isinstance(r.exception, IntegrityError), r.output
    assert band.name in str(r.exception) and "manifest" in str(r.exception)
    assert not out.exists() and not (out.parent / f"{scene}.SAFE").exists()


@pytest.mark.parametrize(("file", "text", "words"), [
    ("index.json", '{"sentinel2": [', "demo source index is not JSON"),
    ("search.json", '{"scenes": [', "search result is not JSON"),
    ("search.json", "{}", "search result has no 'scenes'"),
    ("search.json", "[]", "search result is JSON of type list, not an object"),
])
def test_damaged_index_or_search_result_is_named(tiny, source, tmp_path, file, text, words):  # noqa: F811
    """Found by tests/reliability/bad_input.py: a damaged index.json or search.json gave a JSONDecodeError or
    KeyError traceback."""
    import shutil

    from sporbar.errors import InputDataError

    scene = scene_ids(tiny[1])[0]
    if file == "index.json":
        src = shutil.copytree(source, tmp_path / "src")
        (src / file).write_text(text)
        r = _run(tiny, src, scene, tmp_path / "out" / "item.json")
        damaged = src / file
    else:
        damaged = tmp_path / file
        damaged.write_text(text)
        r = CliRunner().invoke(cli, ["fetch", "s2", "-c", str(tiny[0]), "--source", "dhus", "--search", str(damaged),
                                     "--scene", scene, "-o", str(tmp_path / "out" / "item.json")])
    assert isinstance(r.exception, InputDataError), r.output
    assert str(r.exception).startswith(f"{damaged}: {words}")
    assert not (tmp_path / "out" / "item.json").exists()
