# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""Lidar sources: a local folder, and a URL list served on loopback (header by Range)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
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
