"""End to end with real (non-demo) Sentinel-2 sources: the whole Snakemake DAG from search to catalog.

The demo generator writes SAFE folders for the small area; the workflow then reads them

* as a ``local`` archive (searched and indexed in place), and
* from a minimal STAC API on loopback (``/search`` answers items built from the SAFE
  metadata, whose assets are the band files served over HTTP with ``file:checksum``),

so the ``search_s2`` checkpoint, the search-driven ``fetch_s2`` and everything after it run
as they would on real data. In the STAC API run the lidar comes from a generated point-cloud
STAC API on the same server (``_pointcloud_api``: items from the demo LAZ headers, search
filtered by bbox/datetime and paged); elsewhere lidar and labels stay ``demo``. Marked
``e2e`` (about 1.5 min).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _loopback import Loopback, Route
from _pointcloud_api import PointCloudAPI
from _s1_fixtures import PRODUCT as S1_PRODUCT
from _s1_fixtures import REAL_S1, serve_hub
from conftest import SHARED, shared_stac_schemas, small_config, write_config
from conftest import run_snakemake as snakemake
from conftest import run_sporbar as sporbar

from sporbar.config import Config, load
from sporbar.demo.generate import generate
from sporbar.demo.names import demo_scene_ids
from sporbar.fetch.local import index
from sporbar.fetch.missions import SENTINEL2
from sporbar.fetch.safe import read_safe
from sporbar.io import sha256_multihash
from sporbar.stac.items.raw_s2 import raw_s2_item
from sporbar.stac.layout import ItemLayout
from sporbar.stac.lineage import leaves, lineage
from sporbar.workflow import plan

pytestmark = pytest.mark.e2e



# The local run also has Sentinel-1 GRD on (sources.sentinel1, DHuS): a loopback hub replays the
# recorded sentinelsat GRD search and serves the real S1 SAFE metadata as the product zip, so
# search_s1/fetch_s1 run and the S1 item is published (a few seconds more).
HAS_S1 = (REAL_S1 / "manifest.safe").is_file() and (SHARED / "realdata/dhus-cassettes").is_dir()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("e2e-local")
    root = work / "results"
    archive = work / "archive"
    data = small_config(root)
    data["sources"].pop("sentinel1", None)  # real Sentinel-2 and lidar sources only
    # the archive: the demo SAFE folders (and LAZ, labels, unused here) outside the results
    generate(load(write_config(work / "demo.yaml", data)), archive)
    data["sources"]["sentinel2"] = {"source": "local", "max_cloud_cover": 100,
                                    "local": {"path": str(archive / "sentinel-2")}}
    hub = Loopback()
    try:
        if HAS_S1:  # only the real product passes the IW VV+VH filters of the recorded search
            serve_hub(hub, drop_second=True)
            data["sources"]["sentinel1"] = {"source": "dhus", "sensor_mode": "IW", "polarisation": "VV VH",
                                            "dhus": {"api_url": hub.url("/apihub/")}}
            # the recorded product lies in France: fetched and catalogued, no ARD or features of it
            data["s1_ard"] = {"enabled": False}
        cfg_path = write_config(work / "config.yaml", data)
        r = snakemake("--configfile", str(cfg_path), cwd=work)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
        yield {"work": work, "root": root, "config": cfg_path, "cfg": load(cfg_path), "archive": archive}
    finally:
        hub.close()


ASSETS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL"]
GRANULE = "granule-metadata"  # MTD_TL.xml


def _serve_stac_api(server: Loopback, archive: Path) -> None:
    """A minimal STAC API: landing page, POST /search with one item per SAFE, the band files."""
    feats = []
    for name, safe in index(archive, SENTINEL2.archive_name):
        item = raw_s2_item(read_safe(safe)).to_dict(include_self_link=False)
        item["collection"] = "sentinel-2-l2a"
        props = item["properties"]
        props.update({f"s2:{k}": v for k, v in props.pop("sporbar:s2").items()})  # as STAC APIs serve them
        props["s2:product_uri"] = f"{name}.SAFE"
        item["id"] = f"{name[:3]}_{props['grid:code'].removeprefix('MGRS-')}_{name[11:19]}_0_L2A"  # Earth Search style
        # the bands, and the granule metadata (the corrections read its angle grids), named as Earth Search does
        item["assets"] = {("granule_metadata" if k == GRANULE else k): a for k, a in item["assets"].items()
                          if k in ASSETS or k == GRANULE}
        for a in item["assets"].values():
            f = Path(a["href"])
            route = f"/data/{name}/{f.name}"
            server.routes[route] = Route(body=f.read_bytes())
            a.update(href=server.url(route), **{"file:checksum": sha256_multihash(f), "file:size": f.stat().st_size})
        item["links"] = [{"rel": "self", "href": server.url(f"/v1/collections/sentinel-2-l2a/items/{item['id']}")}]
        feats.append(item)
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "loopback", "description": "test STAC API", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                       "https://api.stacspec.org/v1.0.0/item-search#query"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())
    server.routes["/v1/search"] = Route(content_type="application/geo+json", body=json.dumps(
        {"type": "FeatureCollection", "features": feats, "links": []}).encode())


@pytest.fixture(scope="module")
def stac_run(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("e2e-stac")
    root = work / "results"
    archive = work / "archive"
    data = small_config(root)
    data["sources"].pop("sentinel1", None)  # real Sentinel-2 and lidar sources only
    generate(load(write_config(work / "demo.yaml", data)), archive)
    server = Loopback()
    try:
        _serve_stac_api(server, archive / "sentinel-2")
        data["sources"]["sentinel2"] = {
            "source": "stac_api", "max_cloud_cover": 100,
            "stac_api": {"url": server.url("/v1"), "collection": "sentinel-2-l2a", "assets": [*ASSETS, GRANULE]},
        }
        pc = PointCloudAPI(server, prefix="/pc")  # lidar from a point-cloud STAC API too
        for laz in sorted((archive / "lidar").glob("*.laz")):
            pc.add(laz)
        data["sources"]["lidar"] = {"source": "stac_api", "stac_api": {"url": pc.url(""), "collection": pc.collection}}
        cfg_path = write_config(work / "config.yaml", data)
        r = snakemake("--configfile", str(cfg_path), cwd=work)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
        yield {"work": work, "root": root, "config": cfg_path, "cfg": load(cfg_path), "server": server, "pc": pc}
    finally:
        server.close()


def _check_run(run: dict, source: str) -> None:
    cfg: Config = run["cfg"]
    search = json.loads(plan.path(cfg, "s2_search").read_text())
    assert search["source"] == source
    ids = [s["id"] for s in search["scenes"]]
    assert ids == demo_scene_ids(cfg), ids  # all three demo dates found, in date order
    assert plan.scene_ids(cfg) == ids
    for scene in ids:
        item_path = plan.path(cfg, "raw_s2", scene=scene)
        assert item_path.exists(), item_path
        item = json.loads(item_path.read_text())
        assert item["properties"]["sporbar:source"]["kind"] == source
        assert {"B02", "B04", "SCL"} <= set(item["assets"])
        for key, asset in item["assets"].items():
            assert asset.get("file:checksum", "").startswith("1220"), (scene, key)
            assert (item_path.parent / asset["href"]).resolve().is_file(), (scene, key, asset["href"])
    for p in plan.all_outputs(cfg):
        assert p.exists(), p


def _verify(run: dict, *external: Path) -> None:
    catalog = plan.path(run["cfg"], "catalog")
    schemas = shared_stac_schemas()  # always there in CI: a missing bundle fails, never skips
    assert (schemas / "schema_map.json").is_file(), f"{schemas}: the shared STAC schema bundle is missing"
    named = [arg for folder in external for arg in ("--external", str(folder))]
    r = sporbar("verify", str(catalog), "--schemas", str(schemas), *named)
    assert r.returncode == 0, r.stdout + r.stderr
    published = catalog.parent / "sentinel-2-l2a-raw"
    for scene in plan.scene_ids(run["cfg"]):
        assert (published / scene / f"{scene}.json").is_file(), scene


def _lineage(run: dict) -> None:
    cfg: Config = run["cfg"]
    map_item = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=cfg.tiles[0])
    found = leaves(lineage(map_item, layout=ItemLayout.from_patterns(plan.PATTERNS)))
    assert {"sentinel-2-l2a-raw", "lidar-raw", "labels-raw"} <= {leaf.collection for leaf in found}
    s2_ids = {leaf.id for leaf in found if leaf.collection == "sentinel-2-l2a-raw"}
    assert s2_ids and s2_ids <= set(plan.scene_ids(cfg)), s2_ids


def _nothing_to_do(run: dict) -> None:
    r = snakemake("--configfile", str(run["config"]), "--dry-run", cwd=run["work"])
    assert r.returncode == 0, r.stderr
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-3000:]


def test_local_source_outputs(local_run: dict) -> None:
    _check_run(local_run, "local")
    # indexed in place: the raw items point into the archive, nothing copied
    raw = local_run["root"] / "raw" / "sentinel-2-l2a"
    assert not list(raw.rglob("*.jp2"))


def test_local_source_catalog_verifies(local_run: dict) -> None:
    # the archive indexed in place is outside the delivery: refused until the caller names it
    catalog = plan.path(local_run["cfg"], "catalog")
    refused = sporbar("verify", str(catalog))
    assert refused.returncode == 1 and "name it with --external DIR" in refused.stderr, refused.stderr[-2000:]
    _verify(local_run, local_run["archive"] / "sentinel-2")


def test_local_source_lineage_reaches_raw_s2(local_run: dict) -> None:
    _lineage(local_run)


def test_local_source_second_run_does_nothing(local_run: dict) -> None:
    _nothing_to_do(local_run)


@pytest.mark.skipif(not HAS_S1, reason="../shared/realdata s1-metadata or dhus-cassettes absent")
def test_local_run_fetches_and_publishes_sentinel1(local_run: dict) -> None:
    cfg: Config = local_run["cfg"]
    search = json.loads(plan.path(cfg, "s1_search").read_text())
    assert search["source"] == "dhus" and [s["id"] for s in search["scenes"]] == [S1_PRODUCT]
    raw = plan.path(cfg, "raw_s1", scene=S1_PRODUCT)
    item = json.loads(raw.read_text())
    assert item["properties"]["sar:product_type"] == "GRD" and item["properties"]["sporbar:source"]["kind"] == "dhus"
    assert raw in plan.all_outputs(cfg)
    assert not (local_run["root"] / "raw/sentinel-2-l2a" / S1_PRODUCT).exists()
    catalog = plan.path(cfg, "catalog")
    published = catalog.parent / "sentinel-1-grd-raw" / S1_PRODUCT / f"{S1_PRODUCT}.json"
    assert published.is_file() and (catalog.parent / "sentinel-1-grd-raw" / "collection.json").is_file()
    r = sporbar("lineage", str(published))
    assert r.returncode == 0 and S1_PRODUCT in r.stdout, r.stdout + r.stderr
    r = sporbar("summary", "-c", str(local_run["config"]))
    assert r.returncode == 0 and "sentinel-1-grd-raw 1" in r.stdout, r.stdout + r.stderr


def test_stac_api_source_outputs(stac_run: dict) -> None:
    _check_run(stac_run, "stac_api")
    server: Loopback = stac_run["server"]
    assert server.requests_to("/v1/search")
    # every wanted band of every scene downloaded once, beside its raw item
    for scene in plan.scene_ids(stac_run["cfg"]):
        folder = plan.path(stac_run["cfg"], "raw_s2", scene=scene).parent
        assert sorted(p.stem for p in folder.glob("*.jp2")) == sorted(ASSETS), scene


def test_stac_api_source_catalog_verifies(stac_run: dict) -> None:
    _verify(stac_run)


def test_stac_api_source_lineage_reaches_raw_s2(stac_run: dict) -> None:
    _lineage(stac_run)


def test_stac_api_source_second_run_does_nothing(stac_run: dict) -> None:
    _nothing_to_do(stac_run)


def test_stac_api_source_lidar_from_pointcloud_api(stac_run: dict) -> None:
    cfg: Config = stac_run["cfg"]
    pc: PointCloudAPI = stac_run["pc"]
    search = json.loads(plan.path(cfg, "lidar_search").read_text())
    assert search["source"] == "stac_api" and search["query"]["collection"] == pc.collection
    assert len(pc.searches) > 1  # paged
    tiles = [s["id"] for s in search["scenes"]]
    assert tiles and sorted(s["item_id"] for s in search["scenes"]) == sorted(i["id"] for i in pc.items)
    for tile in tiles:
        item = json.loads(plan.path(cfg, "raw_lidar", lidar_tile=tile).read_text())
        src = item["properties"]["sporbar:source"]
        assert src["kind"] == "stac_api" and src["checksum"] == item["assets"]["data"]["file:checksum"]
        assert pc.laz_gets(src["url"].rsplit("/", 1)[-1]) == 1
    for tile in cfg.tiles:
        assert plan.path(cfg, "lidar_products", tile=tile).exists()
