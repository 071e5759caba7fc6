# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""Sentinel-1 GRD sources (sources.sentinel1): `sporbar search s1` + `fetch s1` on loopback.

DHuS: the recorded sentinelsat GRD search replayed by the loopback hub, the real S1 SAFE
metadata served as the product zip. STAC API: the recorded Earth Search response (real S1
items among S2 ones) for the filters, and an Earth Search-shaped item of the real product
for the fetch. Local: the real product as a folder and as a zip.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from _loopback import REALDATA, Loopback, Route, load_cassette, replay_cassette, server  # noqa: F401
from _s1_fixtures import (
    PRODUCT,
    RECORDED_IW_VV_VH,
    real_s1_safe,
    serve_hub,
    serve_stac_api,
    stac_item,
    zip_safe,
)
from _s2_fixtures import write_tiny_config

from sporbar.cli import main as cli_main
from sporbar.config import load
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch import local, s1_stac_api
from sporbar.fetch.download import Policy
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.search import write_search
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan

SECRET = "s1-hub-pa55-Zq4"
FAST = Policy(tries=2, retries=2, backoff=0.01, max_backoff=1, timeout=10, progress=False)
METADATA = {"annotation-vv", "calibration-vv", "noise-vv", "annotation-vh", "calibration-vh", "noise-vh",
            "manifest"}


def _config(tmp: Path, s1: dict) -> Path:
    path = write_tiny_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel1"] = s1
    path.write_text(yaml.safe_dump(data))
    return path


def _dhus(server: Loopback, **filters) -> dict:
    return {"source": "dhus", "date_range": {"start": "2014-10-10", "end": "2014-12-31"},
            "dhus": {"api_url": server.url("/apihub/"), "download": {"backoff": 0.01, "retries": 1}}, **filters}


def _check_item(d: dict, item_path: Path) -> None:
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == PRODUCT
    assert p["sar:product_type"] == "GRD" and p["sar:instrument_mode"] == "IW"
    assert p["sar:polarizations"] == ["VV", "VH"] and p["sar:frequency_band"] == "C"
    assert p["sat:orbit_state"] == "ascending" and p["sat:relative_orbit"] == 59
    assert set(d["assets"]) >= METADATA
    for key, a in d["assets"].items():
        assert a["file:checksum"].startswith("1220"), key
        assert (item_path.parent / a["href"]).resolve().is_file(), key


def test_dhus_search_and_fetch_s1_through_the_cli(server: Loopback, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    real_s1_safe()
    md5 = serve_hub(server, auth=("alice", SECRET))
    cfg_path = _config(tmp_path, _dhus(server, sensor_mode="IW", polarisation="VV VH"))
    cfg = load(cfg_path)
    sj = plan.path(cfg, "s1_search")
    cli_main.main(["search", "s1", "-c", str(cfg_path), "-o", str(sj)])
    # the OpenSearch query carries the S1 filters and no cloud cover
    searches = [(p, h) for m, p, h in server.log if urlsplit(p).path == "/apihub/search"]
    assert searches and "Authorization" in searches[-1][1]
    q = parse_qs(urlsplit(searches[-1][0]).query)["q"][0]
    for want in ('producttype:"GRD"', 'platformname:"Sentinel-1"', 'sensoroperationalmode:"IW"',
                 'polarisationmode:"VV VH"', "Intersects(POLYGON"):
        assert want in q, q
    assert "cloudcover" not in q
    # the hub answered 19 GRD products of all modes: only the two IW VV+VH ones are kept, by date
    doc = json.loads(sj.read_text())
    assert doc["source"] == "dhus"
    assert [s["id"] for s in doc["scenes"]] == [RECORDED_IW_VV_VH[1], PRODUCT]
    assert doc["query"]["sensor_mode"] == "IW" and doc["query"]["polarisation"] == "VV VH"
    assert "max_cloud_cover" not in doc["query"]
    assert plan.s1_scene_ids(cfg) == [RECORDED_IW_VV_VH[1], PRODUCT]

    out = plan.path(cfg, "raw_s1", scene=PRODUCT)
    assert out.parent.parent.name == "sentinel-1-grd"
    cli_main.main(["fetch", "s1", "-c", str(cfg_path), "--scene", PRODUCT, "-o", str(out)])
    d = json.loads(out.read_text())
    _check_item(d, out)
    src = d["properties"]["sporbar:source"]
    assert src["kind"] == "dhus" and src["checksum"] == f"md5:{md5}"
    assert src["url"].startswith(server.base) and src["query"]["sensor_mode"] == "IW"
    assert d["properties"]["processing:expression"]["expression"]["command"] == "sporbar fetch s1"
    assert sorted(p.name for p in out.parent.iterdir()) == [f"{PRODUCT}.SAFE", "item.json"]
    assert not (tmp_path / "results" / "raw" / "sentinel-2-l2a").exists()
    captured = capsys.readouterr()
    for f in (tmp_path / "results").rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    assert SECRET not in captured.out + captured.err


def test_dhus_s1_nothing_found_names_aoi_dates_filters(server: Loopback, tmp_path: Path, capsys) -> None:
    real_s1_safe()
    serve_hub(server)
    cfg_path = _config(tmp_path, _dhus(server, sensor_mode="IW", polarisation="HH"))  # all are dual-pol
    with pytest.raises(SystemExit) as ex:
        cli_main.main(["search", "s1", "-c", str(cfg_path), "-o", str(tmp_path / "search.json")])
    assert ex.value.code == 1
    err = capsys.readouterr().err
    name = load(cfg_path).data["area"]["name"]
    for want in (name, "2014-10-10..2014-12-31", "sensor_mode=IW", "polarisation=HH", "product_type=GRD",
                 "sources.sentinel1"):
        assert want in err, (want, err)
    assert "cloud" not in err
    assert not (tmp_path / "search.json").exists()


def test_fetch_s1_refuses_a_sentinel2_product_name(server: Loopback, tmp_path: Path) -> None:
    from sporbar.fetch import dhus

    cfg = load(_config(tmp_path, _dhus(server)))
    s2 = "S2B_MSIL2A_20240610T104031_N0510_R094_T32VNR_20240610T130000"
    with pytest.raises(InputDataError, match="Sentinel-2 product.*sporbar fetch s2"):
        dhus.fetch(RunContext.current(), cfg, {"id": s2, "uuid": "x"},
                   tmp_path / "raw/sentinel-1-grd" / s2 / "item.json", mission=SENTINEL1, pol=FAST)
    assert not server.log  # refused before any request


def _es_landing(server: Loopback) -> None:
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "es", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())


@pytest.mark.skipif(not (REALDATA / "stac-api-cassettes").is_dir(),
                    reason="../shared/realdata/stac-api-cassettes absent")
def test_stac_api_search_filters_recorded_earth_search_items(server: Loopback, tmp_path: Path) -> None:
    """The recorded Earth Search page holds 3 real S1 IW HH items among S2 ones."""
    page = load_cassette("stac-api-cassettes/TestCLISearch.test_filter[inprocess].yaml")[1]
    body = json.loads(page["response"]["body"]["string"])
    body["links"] = [lk for lk in body["links"] if lk["rel"] != "next"]  # the next page is not recorded
    page["response"]["body"]["string"] = json.dumps(body)
    replay_cassette(server, [page], "https://earth-search.aws.element84.com/v1", "/v1")
    _es_landing(server)
    s1 = {"source": "stac_api", "date_range": {"start": "2025-07-31", "end": "2025-07-31"},
          "stac_api": {"url": server.url("/v1")}, "polarisation": "HH"}
    query, scenes = s1_stac_api.search(load(_config(tmp_path, s1)))
    assert len(scenes) == 3
    # named by s1:product_identifier (with the CRC the item ids lack), in date order
    assert [s["id"] for s in scenes] == [
        "S1A_IW_GRDH_1SSH_20250731T135608_20250731T135637_060328_077F7E_E763",
        "S1A_IW_GRDH_1SSH_20250731T135637_20250731T135702_060328_077F7E_35B5",
        "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E_0C44",
    ]
    assert {s["polarisation"] for s in scenes} == {"HH"} and query["collections"] == ["sentinel-1-grd"]
    s1["polarisation"] = "VV VH"
    with pytest.raises(NothingFoundError, match="polarisation=VV VH"):
        s1_stac_api.search(load(_config(tmp_path / "b", s1)))


def test_stac_api_search_and_fetch_s1(server: Loopback, tmp_path: Path) -> None:
    real_s1_safe()
    items = [stac_item(server), stac_item(server, mode="EW", item_id="S1A_EW_GRDM_1SDH_20210809T170000_X"),
             stac_item(server, pols=("HH", "HV"), item_id="S1A_IW_GRDH_1SDH_20210809T170000_Y")]
    serve_stac_api(server, items)
    s1 = {"source": "stac_api", "polarisation": "VV VH", "date_range": {"start": "2021-08-09", "end": "2021-08-09"},
          "stac_api": {"url": server.url("/v1"), "assets": ["annotation", "calibration", "noise", "manifest"],
                       "download": {"backoff": 0.01}}}
    cfg_path = _config(tmp_path, s1)
    cfg = load(cfg_path)
    sj = plan.path(cfg, "s1_search")
    cli_main.main(["search", "s1", "-c", str(cfg_path), "-o", str(sj)])
    assert plan.s1_scene_ids(cfg) == [PRODUCT]  # the EW and the HH+HV items are filtered out
    out = plan.path(cfg, "raw_s1", scene=PRODUCT)
    cli_main.main(["fetch", "s1", "-c", str(cfg_path), "--scene", PRODUCT, "-o", str(out)])
    d = json.loads(out.read_text())
    _check_item(d, out)
    assert set(d["assets"]) == METADATA
    assert "proj:epsg" not in d["properties"]
    assert d["properties"]["s1:product_identifier"] == PRODUCT
    # the API's file:checksum was checked and is recorded; the download is the real file
    ann = next((real_s1_safe() / "annotation").glob("s1a-iw-grd-vv-*.xml"))
    src = d["properties"]["sporbar:source"]
    assert src["kind"] == "stac_api"
    assert f"annotation-vv=sha256:{hashlib.sha256(ann.read_bytes()).hexdigest()}" in src["checksum"].split(";")
    assert (out.parent / d["assets"]["annotation-vv"]["href"]).read_bytes() == ann.read_bytes()


def test_stac_api_fetch_names_the_missing_asset(server: Loopback, tmp_path: Path) -> None:
    real_s1_safe()
    item = stac_item(server)
    s1 = {"source": "stac_api", "stac_api": {"url": server.url("/v1")}}  # default: measurement too
    cfg = load(_config(tmp_path, s1))
    entry = {"id": PRODUCT, "item": item}
    with pytest.raises(MissingInputError, match=r"no measurement asset for VV \(tried vv, VV, measurement-vv"):
        s1_stac_api.fetch(RunContext.current(), cfg, entry, tmp_path / "out" / "item.json", pol=FAST)
    assert not (tmp_path / "out" / "item.json").exists()


def test_local_archive_folder_in_place_zip_extracted(tmp_path: Path) -> None:
    safe = real_s1_safe()
    archive = tmp_path / "archive"
    shutil.copytree(safe, archive / "folders" / safe.name)
    s1 = {"source": "local", "local": {"path": str(archive)},
          "date_range": {"start": "2021-08-01", "end": "2021-08-31"}}
    cfg = load(_config(tmp_path, s1))
    # the folder's footprint (central France) does not touch the area: nothing found, and said so
    with pytest.raises(NothingFoundError, match=r"1 products indexed") as err:
        local.S1_SOURCE.search(cfg)
    assert "sensor_mode=IW" in str(err.value) and "2021-08-01..2021-08-31" in str(err.value)
    # issue 12.10: a zip's footprint is read as well (its metadata files only): not found either
    shutil.rmtree(archive / "folders")
    (archive / f"{PRODUCT}.zip").write_bytes(zip_safe(safe))
    with pytest.raises(NothingFoundError, match=r"1 products indexed"):
        local.S1_SOURCE.search(cfg)
    # listed anyway (a search of another area): extracted beside the item and recorded
    query = {"path": str(archive)}
    scenes = [{"id": PRODUCT, "path": str(archive / f"{PRODUCT}.zip"), "datetime": "2021-08-09T17:39:53+00:00"}]
    write_search(plan.path(cfg, "s1_search"), "local", query, scenes)
    out = plan.path(cfg, "raw_s1", scene=PRODUCT)
    d = local.S1_SOURCE.fetch(RunContext.current(), cfg, scenes[0], out, query=query)
    _check_item(d, out)
    assert d["properties"]["sporbar:source"]["checksum"].startswith("1220")
    assert (out.parent / f"{PRODUCT}.SAFE" / "manifest.safe").is_file()
    # a bad zip is refused with its path
    (archive / f"{PRODUCT}.zip").write_bytes(b"not a zip")
    with pytest.raises(InputDataError, match=f"{PRODUCT}.zip: not a zip"):
        local.S1_SOURCE.fetch(RunContext.current(), cfg, scenes[0], tmp_path / "other" / "item.json")


def test_local_archive_filters_mode_polarisation_and_dates(tmp_path: Path, caplog) -> None:
    """Names decide first: an EW, a single-pol, an SLC and an out-of-range product are not even opened;
    the one that passes is opened and left out for its footprint (central France, not the area)."""
    safe = real_s1_safe()
    archive = tmp_path / "archive"
    archive.mkdir()
    body = zip_safe(safe)
    others = ["S1A_EW_GRDM_1SDV_20210809T173953_20210809T174018_039156_049F13_AAAA",
              "S1A_IW_GRDH_1SSV_20210809T173953_20210809T174018_039156_049F13_BBBB",
              "S1A_IW_GRDH_1SDV_20220809T173953_20220809T174018_039156_049F13_CCCC",
              "S1A_IW_SLC__1SDV_20210809T173953_20210809T174018_039156_049F13_DDDD"]
    for name in [PRODUCT, *others]:
        (archive / f"{name}.zip").write_bytes(body)
    s1 = {"source": "local", "local": {"path": str(archive)}, "polarisation": "VV VH",
          "date_range": {"start": "2021-08-01", "end": "2021-08-31"}}
    with caplog.at_level("INFO", logger="sporbar.fetch.local"), pytest.raises(NothingFoundError, match="5 products"):
        local.S1_SOURCE.search(load(_config(tmp_path, s1)))
    opened = [r.getMessage() for r in caplog.records if "footprint does not touch the area" in r.getMessage()]
    assert len(opened) == 1 and PRODUCT in opened[0], opened


def test_truncated_calibration_xml_is_refused(tmp_path: Path) -> None:
    """Issue 12.7: a file the reader never parses (calibration LUTs) is still checked against the manifest."""
    from sporbar.fetch.errors import IntegrityError

    archive = tmp_path / "archive"
    safe = Path(shutil.copytree(real_s1_safe(), archive / real_s1_safe().name))
    cal = sorted((safe / "annotation" / "calibration").glob("calibration-*vv*.xml"))[0]
    cal.write_bytes(cal.read_bytes()[:1000])
    cfg = load(_config(tmp_path, {"source": "local", "local": {"path": str(archive)}}))
    out = plan.path(cfg, "raw_s1", scene=PRODUCT)
    with pytest.raises(IntegrityError, match=rf"{cal.name}: 1000 bytes, .*manifest"):
        local.S1_SOURCE.fetch(RunContext.current(), cfg, {"id": PRODUCT, "path": str(safe)}, out)
    assert not out.exists()
