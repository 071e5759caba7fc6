# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""Lidar sources: a local folder, and a URL list served on loopback (header by Range)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from _lidar_fixtures import copc_moved_to
from _loopback import REALDATA, Loopback, Route, server  # noqa: F401
from _s2_fixtures import write_tiny_config

from sporbar.config import load
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.registry import source
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict


def _demo_laz(tmp: Path) -> tuple[Path, list[Path]]:
    from sporbar.demo.landscape import make_landscape
    from sporbar.demo.lidar import write_lidar_tiles

    cfgp = write_tiny_config(tmp / "demo")
    cfg = load(cfgp)
    out = tmp / "demo-src"
    write_lidar_tiles(cfg, make_landscape(tuple(cfg.data["area"]["bbox"]), seed=42), out)
    return cfgp, sorted(out.rglob("*.laz"))


def _config(cfgp: Path, lidar: dict) -> Path:
    data = yaml.safe_load(cfgp.read_text())
    data["sources"]["lidar"] = lidar
    cfgp.write_text(yaml.safe_dump(data))
    return cfgp


def test_local_folder(tmp_path: Path) -> None:
    cfgp, lazs = _demo_laz(tmp_path)
    cfg = load(_config(cfgp, {"source": "local", "local": {"path": str(lazs[0].parent)}}))
    query, tiles = source(cfg, "lidar").search(cfg)
    assert tiles and all(t["id"].startswith("lidar_") for t in tiles)
    out = tmp_path / "raw/lidar" / tiles[0]["id"] / "item.json"
    d = source(cfg, "lidar").fetch(RunContext.current(), cfg, tiles[0], out, query=query)
    validate_item_dict(d)
    assert d["assets"]["data"]["href"].startswith("../") and d["properties"]["pc:count"] > 0


def test_urls_with_faults(server: Loopback, tmp_path: Path) -> None:
    cfgp, lazs = _demo_laz(tmp_path)
    lines = []
    for f in lazs:
        server.routes[f"/laz/{f.name}"] = Route(body=f.read_bytes())
        lines.append(server.url(f"/laz/{f.name}"))
    listing = tmp_path / "urls.txt"
    listing.write_text("# tiles\n" + "\n".join(lines) + "\n")
    cfg = load(_config(cfgp, {"source": "urls", "urls": {"path": str(listing),
                                                         "download": {"backoff": 0.01, "retries": 2}}}))
    query, tiles = source(cfg, "lidar").search(cfg)
    assert all("Range" in h for m, p, h in server.log)  # headers read with Range requests only
    first = tiles[0]["href"].split(server.base)[1]
    server.routes[first].faults = [("status", 503), ("cut", 5000)]
    out = tmp_path / "raw/lidar" / tiles[0]["id"] / "item.json"
    d = source(cfg, "lidar").fetch(RunContext.current(), cfg, tiles[0], out, query=query)
    validate_item_dict(d)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([f"{tiles[0]['id']}.laz", "item.json"])


@pytest.mark.skipif(not (REALDATA / "lidar").is_dir(), reason="../shared/realdata/lidar absent")
def test_wrong_crs_and_outside_area(server: Loopback, tmp_path: Path) -> None:
    cfgp, _ = _demo_laz(tmp_path)
    folder = tmp_path / "real"
    folder.mkdir()
    (folder / "autzen.laz").write_bytes((REALDATA / "lidar/autzen_trim.laz").read_bytes())
    cfg = load(_config(cfgp, {"source": "local", "local": {"path": str(folder)}}))
    with pytest.raises(NothingFoundError, match="no lidar tiles overlap"):
        source(cfg, "lidar").search(cfg)  # Oregon is not in the area
    entry = {"id": "lidar_636002_848935", "href": str(folder / "autzen.laz")}
    d = source(cfg, "lidar").fetch(RunContext.current(), cfg, entry, tmp_path / "raw/x/item.json")
    validate_item_dict(d)  # recorded in its own CRS (Oregon LCC, feet): WKT2, a footprint in Oregon
    assert d["properties"]["proj:code"] is None and "proj:wkt2" in d["properties"]
    assert -123.08 < d["bbox"][0] < d["bbox"][2] < -123.06


def test_truncated_local_laz_is_refused(tmp_path: Path) -> None:
    """Issue 12.7: a LAZ in the local folder cut short is not recorded with its checksum."""
    from sporbar.fetch.errors import IntegrityError

    cfgp, lazs = _demo_laz(tmp_path)
    cfg = load(_config(cfgp, {"source": "local", "local": {"path": str(lazs[0].parent)}}))
    query, tiles = source(cfg, "lidar").search(cfg)
    laz = Path(tiles[0]["href"])
    laz.write_bytes(laz.read_bytes()[: laz.stat().st_size * 2 // 3])
    out = tmp_path / "raw/lidar" / tiles[0]["id"] / "item.json"
    with pytest.raises(IntegrityError, match=f"{laz.name}: truncated"):
        source(cfg, "lidar").fetch(RunContext.current(), cfg, tiles[0], out, query=query)
    assert not out.exists()


@pytest.mark.skipif(not (REALDATA / "lidar").is_dir(), reason="../shared/realdata/lidar absent")
def test_remote_copc_is_read_by_range_requests_only_near_the_area(server: Loopback, tmp_path: Path) -> None:
    """A COPC in a URL list: only the octree nodes near the area are fetched; the subset is its points there."""
    import laspy
    import numpy as np
    import yaml

    copc = copc_moved_to(REALDATA / "lidar/simple.copc.laz", 268_800, 7_030_400)  # a real COPC, in the demo area
    moved = tmp_path / "moved.copc.laz"
    moved.write_bytes(copc)
    server.routes["/laz/simple.copc.laz"] = Route(body=copc, auth=("reader", "s3cret"))
    listing = tmp_path / "urls.txt"
    listing.write_text(server.url("/laz/simple.copc.laz") + "\n")
    cfgp, _ = _demo_laz(tmp_path)
    data = yaml.safe_load(cfgp.read_text())
    whole = laspy.read(str(moved))
    assert whole.header.mins[0] < 269_440 and whole.header.maxs[0] > 270_720
    data["area"]["bbox"] = area = [269_440, 7_031_040, 270_720, 7_032_960]  # inside the file, on 640 m tiles
    data["sources"]["lidar"] = {"source": "urls", "copc_margin": 100,
                                "urls": {"path": str(listing), "user_env": "T_USER", "password_env": "T_PASS"}}
    cfgp.write_text(yaml.safe_dump(data))
    cfg = load(cfgp)
    env = pytest.MonkeyPatch()
    env.setenv("T_USER", "reader")
    env.setenv("T_PASS", "s3cret")
    try:
        query, tiles = source(cfg, "lidar").search(cfg)
        assert tiles[0]["copc_query"] == [area[0] - 100, area[1] - 100, area[2] + 100, area[3] + 100]
        server.log.clear()
        out = tmp_path / "raw/lidar" / tiles[0]["id"] / "item.json"
        d = source(cfg, "lidar").fetch(RunContext.current(), cfg, tiles[0], out, query=query)
    finally:
        env.undo()
    validate_item_dict(d)
    fetched = [h["Range"] for m, p, h in server.log]
    assert fetched and all(r.startswith("bytes=") for r in fetched)  # range requests only, never the whole file
    q = d["properties"]["sporbar:copc_query"]
    assert q["bytes_read"] < len(copc) and q["requests"] == len(fetched)
    x, y, z = np.asarray(whole.x), np.asarray(whole.y), np.asarray(whole.z)
    b = q["bounds"]
    keep = (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
    sub = laspy.read(str(out.parent / f"{tiles[0]['id']}.laz"))
    assert 0 < sub.header.point_count == keep.sum() == q["points"] < len(x)
    got = np.sort(np.stack([sub.x, sub.y, sub.z], axis=1), axis=0)
    np.testing.assert_array_equal(got, np.sort(np.stack([x[keep], y[keep], z[keep]], axis=1), axis=0))
    assert sub.header.parse_crs().to_epsg() == 25833  # the CRS record travels with the points
    assert d["assets"]["data"]["href"].endswith(".laz") and "range requests" in d["properties"]["processing:lineage"]
