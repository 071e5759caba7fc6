# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""STAC API source: recorded Earth Search responses replayed on loopback, assets served there."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from _loopback import REALDATA, Loopback, Route, load_cassette, replay_cassette, server  # noqa: F401
from _s2_fixtures import write_tiny_config

from sporbar.config import load
from sporbar.fetch import s2_stac_api
from sporbar.fetch.download import Policy
from sporbar.fetch.errors import IntegrityError, NothingFoundError
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict

pytestmark = pytest.mark.skipif(
    not (REALDATA / "stac-api-cassettes").is_dir(), reason="../shared/realdata/stac-api-cassettes absent"
)
RECORDED = "https://earth-search.aws.element84.com/v1"
TOKEN = "cdse-T0ken-zz81"
FAST = Policy(tries=2, retries=2, backoff=0.01, max_backoff=1.5, timeout=10, progress=False)
WANT = ["B02", "B04", "SCL", "granule-metadata"]


def _config(tmp: Path, server: Loopback, **extra) -> Path:
    path = write_tiny_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel2"] = {
        "source": "stac_api",
        "max_cloud_cover": 80,
        "date_range": {"start": "2023-10-08", "end": "2023-10-08"},
        "stac_api": {"url": server.url("/v1"), "collection": "sentinel-2-l2a", "assets": WANT,
                     "token_env": "SPORBAR_TEST_TOKEN", **extra},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_search_replays_recorded_earth_search(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_TEST_TOKEN", TOKEN)
    replay_cassette(server, load_cassette("stac-api-cassettes/test_multiple_collections.yaml"), RECORDED, "/v1")
    # the landing page is not in this cassette: serve a minimal conformant one
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "es", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                       "https://api.stacspec.org/v1.0.0/item-search#query"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())
    cfg = load(_config(tmp_path, server))
    query, scenes = s2_stac_api.search(cfg)
    ids = {s["item_id"] for s in scenes}
    assert "S2A_13TDE_20231008_0_L2A" in ids
    s2 = next(s for s in scenes if s["item_id"] == "S2A_13TDE_20231008_0_L2A")
    assert s2["id"].startswith("S2A_MSIL2A_20231008") and s2["cloud_cover"] <= 80
    posts = [h for m, p, h in server.log if p.startswith("/v1/search")]
    assert posts and all(h.get("Authorization") == f"Bearer {TOKEN}" for h in posts)
    assert TOKEN not in json.dumps(query)


def test_search_nothing_found(server: Loopback, tmp_path: Path) -> None:
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "es", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "method": "POST"}]}).encode())
    server.routes["/v1/search"] = Route(content_type="application/geo+json",
                                        body=b'{"type":"FeatureCollection","features":[],"links":[]}')
    with pytest.raises(NothingFoundError, match=r"dates 2023-10-08\.\.2023-10-08.*collection=sentinel-2-l2a"):
        s2_stac_api.search(load(_config(tmp_path, server)))


def _entry(server: Loopback) -> dict:
    inter = load_cassette("stac-api-cassettes/test_multiple_collections.yaml")
    feats = [f for i in inter for f in json.loads(i["response"]["body"]["string"]).get("features", [])]
    item = copy.deepcopy(next(f for f in feats if f["id"] == "S2A_13TDE_20231008_0_L2A"))
    for key, a in item["assets"].items():
        path = "/cogs/" + a["href"].rsplit("/", 1)[-1]
        body = (key * 5000).encode()
        a["href"] = server.url(path)
        server.routes[path] = Route(body=body, bearer=TOKEN)
        a["file:checksum"] = "1220" + hashlib.sha256(body).hexdigest()
        a["file:size"] = len(body)
    return {"id": s2_stac_api.scene_id(item), "item_id": item["id"], "item": item}


def test_fetch_assets_with_checksums_token_and_429(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_TEST_TOKEN", TOKEN)
    cfg_path = _config(tmp_path, server)
    cfg = load(cfg_path)
    entry = _entry(server)
    server.routes["/cogs/B04.tif"].faults = [("status", 429, {"Retry-After": "0"}), ("cut", 1000)]
    signed = []
    item_path = tmp_path / "results/raw/sentinel-2-l2a" / entry["id"] / "item.json"

    def sign(href: str) -> str:
        signed.append(href)
        return href + "?sig=SECRETSIG"

    d = s2_stac_api.fetch(RunContext.current(), cfg, entry, item_path, query={"q": 1}, pol=FAST, modifier=sign)
    validate_item_dict(d)
    assert sorted(d["assets"]) == sorted(WANT) and len(signed) == len(WANT)
    assert d["assets"]["B04"]["proj:transform"][2] == 399960
    assert d["assets"]["B04"]["raster:bands"][0]["scale"] == 0.0001
    assert d["properties"]["proj:code"] == "EPSG:32613" and d["properties"]["s2:mgrs_tile"] == "13TDE"
    assert "sha256:" in d["properties"]["sporbar:source"]["checksum"]
    for f in (tmp_path / "results").rglob("*"):
        if f.is_file():
            text = f.read_bytes()
            assert TOKEN.encode() not in text and b"SECRETSIG" not in text, f
    assert sorted(p.name for p in item_path.parent.iterdir()) == sorted(
        ["B02.tif", "B04.tif", "SCL.tif", "granule_metadata.xml", "item.json"]
    ) or len(list(item_path.parent.iterdir())) == 5


def test_fetch_wrong_checksum_names_product(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPORBAR_TEST_TOKEN", TOKEN)
    cfg = load(_config(tmp_path, server))
    entry = _entry(server)
    entry["item"]["assets"]["scl"]["file:checksum"] = "1220" + "0" * 64
    item_path = tmp_path / "results/raw/sentinel-2-l2a" / entry["id"] / "item.json"
    with pytest.raises(IntegrityError, match=rf"^{entry['id']}/SCL: download .* still corrupted after 2 tries"):
        s2_stac_api.fetch(RunContext.current(), cfg, entry, item_path, pol=FAST)
    assert not item_path.exists()
    assert not [p for p in item_path.parent.iterdir() if p.name.startswith("SCL") or p.suffix == ".part"]
