# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""DHuS source: recorded OpenSearch responses replayed on loopback; demo SAFE zips as products."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from _loopback import REALDATA, Loopback, Route, load_cassette, replay_cassette, server  # noqa: F401
from _s2_fixtures import make_source, write_tiny_config

from sporbar.config import load
from sporbar.errors import InputDataError
from sporbar.fetch import dhus
from sporbar.fetch.download import Policy
from sporbar.fetch.errors import AuthError, NothingFoundError
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.search import read_search, write_search
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict

pytestmark = pytest.mark.skipif(
    not (REALDATA / "dhus-cassettes").is_dir(), reason="../shared/realdata/dhus-cassettes absent"
)
RECORDED = "https://apihub.copernicus.eu/apihub"
SECRET = "dhus-pa55-Wq9"
FAST = Policy(tries=2, retries=2, backoff=0.01, max_backoff=1, timeout=10, progress=False)


def _config(tmp: Path, server: Loopback, **dhus_settings) -> Path:
    path = write_tiny_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel2"] = {
        "source": "dhus",
        "max_cloud_cover": 10,
        "date_range": {"start": "2018-12-12", "end": "2018-12-28"},
        "dhus": {"api_url": server.url("/apihub/"), **dhus_settings},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_search_replays_recorded_response(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    replay_cassette(server, load_cassette("dhus-cassettes/test_s2_cloudcover.yaml"), RECORDED, "/apihub")
    cfg = load(_config(tmp_path, server))
    query, scenes = dhus.search(cfg)
    assert len(scenes) == 5
    assert "S2B_MSIL1C_20181219T142029_N0207_R010_T20MPS_20181219T160056" in {s["id"] for s in scenes}
    assert all(s["href"].startswith(server.base) for s in scenes)
    from urllib.parse import parse_qs, urlsplit

    req = server.log[-1]
    q = parse_qs(urlsplit(req[1]).query)["q"][0]
    assert 'producttype:"S2MSI2A"' in q and "cloudcoverpercentage" in q and "Intersects(POLYGON" in q
    assert "Authorization" in req[2]
    out = write_search(tmp_path / "search.json", "dhus", query, scenes)
    assert read_search(tmp_path / "search.json") == out
    assert SECRET not in (tmp_path / "search.json").read_text()


def test_search_nothing_found_names_aoi_dates_filters(server: Loopback, tmp_path: Path) -> None:
    inter = [i for i in load_cassette("dhus-cassettes/test_area_relation.yaml")
             if '"opensearch:totalResults":"0"' in i["response"]["body"]["string"]]
    assert inter, "the cassette has a zero-hit response"
    replay_cassette(server, inter, RECORDED, "/apihub")
    cfg = load(_config(tmp_path, server))
    with pytest.raises(NothingFoundError) as err:
        dhus.search(cfg)
    msg = str(err.value)
    assert "2018-12-12..2018-12-28" in msg and "product_type=S2MSI2A" in msg and "cloud cover <= 10" in msg
    assert cfg.data["area"]["name"] in msg


def test_search_401(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    server.routes["/apihub/search"] = Route(auth=("u", "p"))
    with pytest.raises(AuthError, match=r"SPORBAR_DHUS_USER and \$SPORBAR_DHUS_PASSWORD"):
        dhus.search(load(_config(tmp_path, server)))


def _zip_safe(safe: Path, evil: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(safe.rglob("*")):
            if f.is_file():
                zf.write(f, f"{safe.name}/{f.relative_to(safe).as_posix()}")
        if evil:
            zf.writestr(f"{safe.name}/../../evil.txt", "x")
    return buf.getvalue()


def _serve_product(server: Loopback, uuid: str, body: bytes, faults=()) -> None:
    md5 = hashlib.md5(body).hexdigest()
    server.routes[f"/apihub/odata/v1/Products('{uuid}')"] = Route(
        body=json.dumps({"d": {"Id": uuid, "Checksum": {"Algorithm": "MD5", "Value": md5.upper()}}}).encode(),
        content_type="application/json", auth=("alice", SECRET))
    server.routes[f"/apihub/odata/v1/Products('{uuid}')/$value"] = Route(
        body=body, faults=list(faults), auth=("alice", SECRET))


def test_fetch_product_resumes_checks_md5_and_leaks_nothing(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    cfg_path = _config(tmp_path, server)
    cfg = load(cfg_path)
    scenes = make_source(cfg, tmp_path / "src")
    scene = scenes[0]["id"]
    safe = tmp_path / "src" / "sentinel-2" / f"{scene}.SAFE"
    uuid = "0f3c1a2b-aaaa-bbbb-cccc-123456789abc"
    _serve_product(server, uuid, _zip_safe(safe), faults=[("status", 503), ("cut", 200_000)])
    entry = {"id": scene, "uuid": uuid}
    item_path = tmp_path / "results/raw/sentinel-2-l2a" / scene / "item.json"
    d = dhus.fetch(RunContext.current(), cfg, entry, item_path, query={"q": "x"}, pol=FAST)
    validate_item_dict(d)
    assert d["id"] == scene and "B04" in d["assets"] and "SCL" in d["assets"]
    src = d["properties"]["sporbar:source"]
    assert src["kind"] == "dhus" and src["checksum"].startswith("md5:") and src["url"].startswith(server.base)
    assert sorted(p.name for p in item_path.parent.iterdir()) == [f"{scene}.SAFE", "item.json"]
    for f in (tmp_path / "results").rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    assert SECRET not in cfg_path.read_text()


def test_fetch_zip_with_traversal_is_refused(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    cfg = load(_config(tmp_path, server))
    scene = make_source(cfg, tmp_path / "src")[0]["id"]
    uuid = "evil-0000"
    _serve_product(server, uuid, _zip_safe(tmp_path / "src/sentinel-2" / f"{scene}.SAFE", evil=True))
    item_path = tmp_path / "results/raw/sentinel-2-l2a" / scene / "item.json"
    with pytest.raises(InputDataError, match="would be written outside") as err:
        dhus.fetch(RunContext.current(), cfg, {"id": scene, "uuid": uuid}, item_path, pol=FAST)
    assert SECRET not in str(err.value)
    assert list(item_path.parent.iterdir()) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_failed_fetch_leaves_no_extracted_safe(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    """Issue 12.10: a downloaded product whose metadata is broken is not left unzipped in raw/."""
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    cfg = load(_config(tmp_path, server))
    scene = make_source(cfg, tmp_path / "src")[0]["id"]
    safe = tmp_path / "src/sentinel-2" / f"{scene}.SAFE"
    next(safe.glob("GRANULE/*/MTD_TL.xml")).write_text("<broken", encoding="utf-8")
    uuid = "0f3c1a2b-dddd-bbbb-cccc-123456789abc"
    _serve_product(server, uuid, _zip_safe(safe))
    item_path = tmp_path / "results/raw/sentinel-2-l2a" / scene / "item.json"
    with pytest.raises(InputDataError, match="MTD_TL.xml"):
        dhus.fetch(RunContext.current(), cfg, {"id": scene, "uuid": uuid}, item_path, pol=FAST)
    assert list(item_path.parent.iterdir()) == []


def test_secret_never_leaks_through_the_cli(server: Loopback, tmp_path: Path, monkeypatch, capsys, caplog) -> None:
    """search + fetch + a refused fetch through `sporbar`: grep items, search.json, logs, config, errors."""
    import logging

    from sporbar.cli import main as cli_main

    monkeypatch.setitem(cli_main.COMMANDS, "search", "search:search")  # until main.py registers it
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)
    replay_cassette(server, load_cassette("dhus-cassettes/test_s2_cloudcover.yaml"), RECORDED, "/apihub")
    cfg_path = _config(tmp_path, server, download={"backoff": 0.01, "retries": 1, "tries": 1})
    cfg = load(cfg_path)
    root = Path(cfg.data["root"])
    sj = root / "raw/sentinel-2-l2a/search.json"
    scene = make_source(cfg, tmp_path / "src")[0]["id"]
    cli_main.main(["-vv", "search", "s2", "-c", str(cfg_path), "-o", str(sj)])
    # make the first searched product a demo SAFE served by the loopback hub
    doc = json.loads(sj.read_text())
    doc["scenes"][0]["id"] = scene
    sj.write_text(json.dumps(doc))
    _serve_product(server, doc["scenes"][0]["uuid"], _zip_safe(tmp_path / "src/sentinel-2" / f"{scene}.SAFE"))
    out = root / "raw/sentinel-2-l2a" / scene / "item.json"
    cli_main.main(["-vv", "fetch", "s2", "-c", str(cfg_path), "--source", "dhus", "--scene", scene, "-o", str(out)])
    # a wrong password: refused at once, message names the env vars, not the value
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET + "-wrong")
    with pytest.raises(SystemExit):
        cli_main.main(["fetch", "s2", "-c", str(cfg_path), "--source", "dhus", "--scene", scene,
                       "-o", str(out), "--overwrite"])
    captured = capsys.readouterr()
    assert "SPORBAR_DHUS_PASSWORD" in captured.err
    texts = [captured.out, captured.err, caplog.text, cfg_path.read_text()]
    written = [f for f in tmp_path.rglob("*") if f.is_file() and f.suffix in (".json", ".log", ".yaml", ".xml")]
    texts += [f.read_text(errors="replace") for f in written]
    for t in texts:
        assert SECRET not in t
    assert json.loads(out.read_text())["id"] == scene


def test_fetch_s1_grd_product_gets_the_s1_item(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    """A Sentinel-1 GRD zip (the real SAFE metadata) is described by raw_s1_item, not the S2 builder."""
    import shutil

    from sporbar.workflow.plan import PATTERNS

    s1 = REALDATA / "s1-metadata" / "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8.SAFE"
    if not (s1 / "manifest.safe").is_file():
        pytest.skip(f"{s1} absent")
    monkeypatch.setenv("SPORBAR_DHUS_USER", "alice")
    monkeypatch.setenv("SPORBAR_DHUS_PASSWORD", SECRET)
    path = _config(tmp_path, server)  # GRD is searched in sources.sentinel1, not sentinel2
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel1"] = {"source": "dhus", "dhus": {"api_url": server.url("/apihub/")}}
    path.write_text(yaml.safe_dump(data))
    cfg = load(path)
    safe = Path(shutil.copytree(s1, tmp_path / "src" / s1.name))
    scene = s1.name.removesuffix(".SAFE")
    uuid = "5e1a1a2b-aaaa-bbbb-cccc-123456789abc"
    _serve_product(server, uuid, _zip_safe(safe))
    item_path = tmp_path / "results" / PATTERNS["raw_s1"].format(scene=scene)
    d = dhus.fetch(RunContext.current(), cfg, {"id": scene, "uuid": uuid}, item_path, query={"q": "x"}, pol=FAST,
                   mission=SENTINEL1)
    validate_item_dict(d)
    assert d["id"] == scene and d["properties"]["sar:product_type"] == "GRD"
    assert d["properties"]["sat:relative_orbit"] == 59 and "annotation-vv" in d["assets"]
    assert d["properties"]["sporbar:source"]["kind"] == "dhus"
    assert "Sentinel-1 product" in d["properties"]["processing:lineage"]
    assert sorted(p.name for p in item_path.parent.iterdir()) == [f"{scene}.SAFE", "item.json"]
