# ruff: noqa: F811  (fixtures are imported from _loopback/_lidar_fixtures; tests/unit owns `conftest`)
"""Lidar from a point-cloud STAC API on loopback: `sporbar search lidar` then `sporbar fetch lidar`.

The API (``_pointcloud_api``) is generated from the demo LAZ tiles of the one-tile test
area and filters by bbox and datetime for real, so a client sending the wrong area or
dates gets the wrong items. Besides the four tiles in the area it holds a tile far away,
one just east of the area (inside the area's WGS84 bbox, outside the area itself) and a
2024 re-flight of an area tile (outside the configured 2023 date range).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from _lidar_fixtures import Area, area, write_config  # noqa: F401
from _loopback import REALDATA, Loopback, server  # noqa: F401
from _pointcloud_api import PointCloudAPI, las_header, multihash, rewrite_laz
from odc.geo.geom import box
from shapely.geometry import box as sbox
from shapely.geometry import shape

from sporbar.config import load
from sporbar.fetch import lidar_files
from sporbar.fetch.errors import IntegrityError
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan

SPORBAR = Path(sys.executable).parent / "sporbar"
TOKEN = "pc-T0ken-77q"
DATES = {"start": "2023-01-01", "end": "2023-12-31"}


@dataclass
class Laz:
    tiles: list[Path]  # the demo tiles of the area
    far: Path  # 5 km east
    near: Path  # 10 m east of the area: in its WGS84 bbox, not in the area
    wrong_crs: Path  # an area tile whose header says EPSG:25832


def _tid(path: Path) -> str:
    h = las_header(path.read_bytes())
    return f"lidar_{math.floor(h.mins[0])}_{math.floor(h.mins[1])}"


@pytest.fixture(scope="module")
def laz(area: Area, tmp_path_factory: pytest.TempPathFactory) -> Laz:
    tiles = sorted((area.source / "lidar").glob("*.laz"))
    assert len(tiles) == 4, tiles
    out = tmp_path_factory.mktemp("pc-laz")
    east = next(t for t in tiles if t.stem.startswith("lidar_269000_7029500"))
    near = rewrite_laz(east, out / "near.laz", dx=269450 - 269000)
    h = las_header(near.read_bytes())
    assert h.mins[0] > area.cfg.data["area"]["bbox"][2]
    return Laz(tiles, rewrite_laz(east, out / "far.laz", dx=5000), near,
               rewrite_laz(tiles[0], out / "wrong_crs.laz", epsg=25832))


def _config(tmp: Path, api: PointCloudAPI, **stac: object) -> tuple[Path, Path]:
    """(config path, results root) with lidar from ``api``."""
    path = write_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["sources"]["lidar"] = {"source": "stac_api", "stac_api": {
        "url": api.url(""), "collection": api.collection, "token_env": "SPORBAR_PC_TOKEN",
        "download": {"tries": 2, "retries": 1, "backoff": 0.01}, **stac}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, Path(data["root"])


def _sporbar(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPORBAR_PC_TOKEN": TOKEN}
    return subprocess.run([str(SPORBAR), *args], capture_output=True, text=True, timeout=120, env=env)


def _error(r: subprocess.CompletedProcess[str]) -> str:
    """The error line the CLI printed last (log warnings come before it)."""
    return r.stderr.strip().splitlines()[-1]


def _search(cfg_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = plan.path(load(cfg_path), "lidar_search")
    return _sporbar("search", "lidar", "-c", str(cfg_path), "-o", str(out)), out


def _fetch(cfg_path: Path, tile: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    item = plan.path(load(cfg_path), "raw_lidar", lidar_tile=tile)
    return _sporbar("fetch", "lidar", "-c", str(cfg_path), "--lidar-tile", tile, "-o", str(item), *extra), item


def _api(server: Loopback, laz: Laz) -> PointCloudAPI:
    api = PointCloudAPI(server, bearer=TOKEN)
    for i, f in enumerate(laz.tiles):  # both projection extension versions, 4- and 6-number proj:bbox
        api.add(f, proj="code" if i % 2 == 0 else "epsg", bbox6=i % 2 == 0)
    api.add(laz.far, item_id="far-east")
    api.add(laz.near, item_id="near-east")
    api.add(laz.tiles[0], item_id="reflight-2024", when="2024-05-02T09:00:00Z")
    return api


def test_search_and_fetch_via_cli(server: Loopback, laz: Laz, area: Area, tmp_path: Path) -> None:
    api = _api(server, laz)
    cfg_path, root = _config(tmp_path, api, date_range=DATES)
    r, search_json = _search(cfg_path)
    assert r.returncode == 0, r.stderr

    # the area's WGS84 bbox was sent with the 2023 dates, and all pages were read
    bb = box(*area.cfg.data["area"]["bbox"], "EPSG:25833").to_crs("EPSG:4326").boundingbox
    assert len(api.searches) >= 3 and any(s.get("token") for s in api.searches), api.searches
    for s in api.searches:
        assert s["collections"] == [api.collection] and s["datetime"].startswith("2023-01-01")
        assert sbox(*s["bbox"]).contains(sbox(*bb)) and sbox(*s["bbox"]).area < 2 * sbox(*bb).area, s
    near = next(i for i in api.items if i["id"] == "near-east")
    assert shape(near["geometry"]).intersects(sbox(*bb))  # the server returns it: the client drops it

    doc = json.loads(search_json.read_text())
    want = {_tid(f): f for f in laz.tiles}
    assert sorted(s["id"] for s in doc["scenes"]) == sorted(want)
    assert {s["item_id"] for s in doc["scenes"]} == {f.stem for f in laz.tiles}  # not the 2024 re-flight
    assert doc["query"]["collection"] == api.collection and doc["query"]["datetime"].startswith("2023-01-01")
    assert TOKEN not in search_json.read_text()

    for tile, src in want.items():
        r, item_path = _fetch(cfg_path, tile)
        assert r.returncode == 0, r.stderr
        d = json.loads(item_path.read_text())
        validate_item_dict(d)
        data = src.read_bytes()
        got = item_path.parent / d["assets"]["data"]["href"]
        assert got.resolve() == (item_path.parent / f"{tile}.laz").resolve() and got.read_bytes() == data
        assert d["assets"]["data"]["file:checksum"] == multihash(data)
        assert d["properties"]["proj:code"] == "EPSG:25833"
        assert d["properties"]["pc:count"] == las_header(data).point_count
        assert d["properties"]["datetime"].startswith("2023-08-15")
        source = d["properties"]["sporbar:source"]
        assert source["kind"] == "stac_api" and source["url"] == api.url(f"/laz/{src.stem}.laz")
        assert source["checksum"] == multihash(data) and source["query"] == doc["query"]
        assert api.laz_gets(f"{src.stem}.laz") == 1
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for m, p, h in server.log)
    for f in root.rglob("*"):
        assert not f.is_file() or TOKEN.encode() not in f.read_bytes(), f
    assert not api.laz_gets("far-east.laz") and not api.laz_gets("near-east.laz")

    # a second fetch: refused without --overwrite; with it, the verified file is not downloaded again
    tile, src = next(iter(want.items()))
    r, item_path = _fetch(cfg_path, tile)
    assert r.returncode == 1 and "output exists" in r.stderr
    r, item_path = _fetch(cfg_path, tile, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert api.laz_gets(f"{src.stem}.laz") == 1
    validate_item_dict(json.loads(item_path.read_text()))


def test_newest_delivery_wins_without_date_range(server: Loopback, laz: Laz, tmp_path: Path) -> None:
    api = _api(server, laz)
    cfg_path, _ = _config(tmp_path, api)
    r, search_json = _search(cfg_path)
    assert r.returncode == 0, r.stderr
    assert all("datetime" not in s for s in api.searches)
    scenes = {s["id"]: s for s in json.loads(search_json.read_text())["scenes"]}
    assert sorted(scenes) == sorted(_tid(f) for f in laz.tiles)
    assert scenes[_tid(laz.tiles[0])]["item_id"] == "reflight-2024"


def test_file_crs_differs_from_item(server: Loopback, laz: Laz, tmp_path: Path) -> None:
    api = PointCloudAPI(server, bearer=TOKEN)
    api.add(laz.wrong_crs, item_id="mislabelled")  # the item says EPSG:25833, the file EPSG:25832
    cfg_path, _ = _config(tmp_path, api)
    r, _ = _search(cfg_path)
    assert r.returncode == 0, r.stderr
    tile = _tid(laz.wrong_crs)
    r, item_path = _fetch(cfg_path, tile)
    assert r.returncode == 1
    laz_path = item_path.parent / f"{tile}.laz"
    assert _error(r).startswith(f"Error: {laz_path}: lidar CRS is EPSG:25832"), r.stderr
    assert "not the CRS its STAC item declares" in r.stderr and "item mislabelled declares EPSG:25833" in r.stderr
    assert api.url("/laz/mislabelled.laz") in r.stderr and "Traceback" not in r.stderr
    assert not item_path.parent.exists() or not list(item_path.parent.iterdir())


def test_corrupt_and_truncated_downloads(server: Loopback, laz: Laz, tmp_path: Path) -> None:
    a, b, c = laz.tiles[:3]
    api = PointCloudAPI(server, bearer=TOKEN)
    api.add(a)
    api.add(b, serve=b.read_bytes()[: b.stat().st_size // 2])  # always truncated; file:size/checksum say so
    api.add(c, serve=c.read_bytes()[:-4096], checksum=False, size=False)  # truncated, nothing to check against
    api.laz_route(f"{a.stem}.laz").faults = [("corrupt",)]  # first byte flipped once
    cfg_path, _ = _config(tmp_path, api)
    assert _search(cfg_path)[0].returncode == 0

    r, item_path = _fetch(cfg_path, _tid(a))  # checksum mismatch: deleted, fetched again
    assert r.returncode == 0, r.stderr
    assert api.laz_gets(f"{a.stem}.laz") == 2
    assert (item_path.parent / f"{_tid(a)}.laz").read_bytes() == a.read_bytes()

    for src, why in ((b, "size"), (c, "truncated LAS/LAZ file")):
        tile = _tid(src)
        r, item_path = _fetch(cfg_path, tile)
        assert r.returncode == 1
        assert _error(r).startswith(f"Error: {tile}: download from {api.url(f'/laz/{src.stem}.laz')} "
                                   "still corrupted after 2 tries"), r.stderr
        assert why in r.stderr and "Traceback" not in r.stderr
        assert api.laz_gets(f"{src.stem}.laz") == 2
        assert not item_path.parent.exists() or not list(item_path.parent.iterdir())  # nothing left, no .part


def test_nothing_in_area(server: Loopback, laz: Laz, tmp_path: Path) -> None:
    api = PointCloudAPI(server)
    api.add(laz.far, item_id="far-east")
    cfg_path, _ = _config(tmp_path, api, date_range=DATES)
    r, search_json = _search(cfg_path)
    assert r.returncode == 1 and not search_json.exists()
    assert "no lidar tiles overlap the area test-lidar" in r.stderr
    assert "collection=lidar-pointcloud" in r.stderr and "datetime=2023-01-01/2023-12-31" in r.stderr


@pytest.mark.skipif(not (REALDATA / "lidar").is_dir(), reason="../shared/realdata/lidar absent")
@pytest.mark.parametrize("name", ["simple.las", "simple.laz", "simple.copc.laz", "autzen_trim.laz"])
def test_truncation_check_on_real_files(name: str, tmp_path: Path) -> None:
    data = (REALDATA / "lidar" / name).read_bytes()
    whole, cut = tmp_path / name, tmp_path / f"cut-{name}"
    whole.write_bytes(data)
    lidar_files.check_complete(whole)
    for n in (16, len(data) // 2):  # into the LAZ chunk table / the COPC hierarchy EVLR / the points
        cut.write_bytes(data[:-n])
        with pytest.raises(IntegrityError, match=rf"^cut-{name}: truncated LAS/LAZ file"):
            lidar_files.check_complete(cut)
    cut.write_bytes(data[:100])
    with pytest.raises(IntegrityError, match=rf"^cut-{name}: not a readable LAS/LAZ file"):
        lidar_files.check_complete(cut)
