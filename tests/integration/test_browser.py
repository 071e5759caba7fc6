"""STAC Browser, for real: built with npm (web/build.sh), served by `sporbar serve --static`,
driven by headless Chromium (Debian's chromium, Playwright): open the catalog, open a map
item, see its thumbnail and its lineage link; a screenshot is kept in tests/artifacts/."""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _services import (
    ARTIFACTS,
    BROWSER_NODE_MODULES,
    REPO,
    Server,
    build_browser,
    ensure_chromium,
    require_root,
    stac_fixtures,
)

from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

_fx = stac_fixtures()
MAP_ID = f"land-ecology-{_fx.TILE}"
OPEN_ITEM = REPO / "web" / "e2e" / "open_item.cjs"
COLLECTION_TITLE = "Land-ecology maps"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _add_thumbnail(item_json: Path) -> None:
    """Give the map item a thumbnail asset as the predict step writes it (sporbar.stac.preview)."""
    (item_json.parent / "thumbnail.png").write_bytes(_png(64, 64, (0x1B, 0x78, 0x37)))
    d = json.loads(item_json.read_text())
    d["assets"]["thumbnail"] = {
        "href": "./thumbnail.png",
        "type": "image/png",
        "roles": ["thumbnail"],
        "title": "Thumbnail",
    }
    item_json.write_text(json.dumps(d, indent=2))
    _fx.vouch_for_file(item_json, "thumbnail")  # recorded with its checksum, as record_item does


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """STAC Browser built, chromium there, and a small static catalog with a map item."""
    require_root("the STAC Browser test")
    dist, build_s = build_browser()
    if not (BROWSER_NODE_MODULES / "playwright-core").is_dir():
        pytest.fail(f"{BROWSER_NODE_MODULES}/playwright-core missing: web/build.sh runs npm ci, which installs it")
    chromium = ensure_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    chain = _fx.build_chain(tmp)
    _add_thumbnail(chain.map)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=_fx.LAYOUT)
    item_copy = chain.catalog.parent / ext.COLLECTION_MAPS / MAP_ID / f"{MAP_ID}.json"
    return {"dist": dist, "build_s": build_s, "chromium": chromium, "chain": chain, "tmp": tmp, "item": item_copy}


def _open_item(
    site: dict[str, Any], server: Server, name: str, *, item_id: str = MAP_ID, map_shot: Path | None = None
) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    cmd = [
        "node", str(OPEN_ITEM),
        "--url", server.base + "/browser/",
        "--collection", COLLECTION_TITLE,
        "--item", item_id,
        "--screenshot", str(shot),
        "--chromium", site["chromium"],
    ]  # fmt: skip
    if map_shot is not None:
        cmd += ["--map-screenshot", str(map_shot)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"open_item.cjs gave no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(f"\nscreenshot: {shot}\nresult: {ARTIFACTS / (name + '.json')}")
    build, load, item = site["build_s"], result.get("pageLoadMs"), result.get("itemLoadMs")
    print(f"STAC Browser build {build:.1f} s; page load {load} ms; item {item} ms")
    return result


def test_browser_static_catalog_map_item(site) -> None:
    chain = site["chain"]
    item = json.loads(site["item"].read_text())
    lineage_links = [link for link in item["links"] if link["href"].endswith("lineage.svg")]
    assert lineage_links, (
        f"{site['item']}: the map item has no link to lineage.svg; `sporbar publish` should add it "
        "(rel related, see sporbar.stac.catalog._lineage_pictures)"
    )
    server = Server(
        ["--static", "--catalog", str(chain.catalog), "--data-root", str(chain.root)], log=site["tmp"] / "serve.log"
    )
    try:
        server.wait("/browser/")
        config_js = server.get("/browser/config.js").decode()
        assert f"{server.base}/data/catalog/catalog.json" in config_js
        result = _open_item(site, server, "stac-browser-static-map-item")
    finally:
        server.stop()

    assert not result["errors"], result["errors"]
    assert result["title"] == MAP_ID
    assert "#/" in result["itemUrl"]  # hash history mode: no SPA fallback needed
    thumbs = [t for t in result["thumbnails"] if t["src"].endswith("/thumbnail.png")]
    assert thumbs, f"no thumbnail <img> on the item page: {result['thumbnails']}"
    assert all(t["naturalWidth"] == 64 for t in thumbs), thumbs  # the PNG really loaded
    assert any(t["visible"] for t in thumbs), thumbs  # shown (Thumbnails tab) in the screenshot
    assert any(link["href"].endswith("/lineage.svg") for link in result["lineageLinks"]), result["lineageLinks"]
    assert not [r for r in result["failedRequests"] if "/data/" in r], result["failedRequests"]
    assert Path(result["screenshot"]).stat().st_size > 10_000
    assert result["pageLoadMs"] < 30_000
    _assert_card_pictures(result)


def _assert_card_pictures(result: dict[str, Any]) -> None:
    """Every collection card on the root page shows a picture that loaded."""
    cards = result["cardImages"]
    assert cards, "no picture on the collection cards"
    assert all(c["naturalWidth"] > 0 for c in cards), cards  # every picture really loaded
    assert any("/preview.png" in c["src"] for c in cards), cards  # footprints where items have no thumbnail
    assert any(c["src"].endswith("/thumbnail.png") for c in cards), cards  # the maps' own thumbnail


def _pixels_near(png: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels of a screenshot are within ``tolerance`` of ``rgb`` in every channel."""
    import warnings

    import numpy as np
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png.read_bytes()) as mem, mem.open() as src:
            px = src.read()[:3].astype(int)
    diff = np.abs(px - np.array(rgb, dtype=int)[:, None, None]).max(axis=0)
    return int((diff <= tolerance).sum())


@pytest.fixture(scope="module")
def api_stack(site: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Two real map tiles published into pgstac; `sporbar serve` with the API, tiles and the browser."""
    from _map_fixture import served_map_chain

    tmp = site["tmp"] / "api"
    tmp.mkdir()
    with served_map_chain(tmp, wait="/browser/") as stack:
        yield stack


def test_browser_api_map_item_draws_the_class_map(site, api_stack) -> None:
    from _map_fixture import FOREST, WATER

    server, colours = api_stack["server"], api_stack["colours"]
    west_id = json.loads(api_stack["chain"].maps[0].read_text())["id"]
    map_shot = ARTIFACTS / "stac-browser-api-map-item-map.png"
    result = _open_item(site, server, "stac-browser-api-map-item", item_id=west_id, map_shot=map_shot)
    assert not result["errors"], result["errors"]
    assert result["title"] == west_id
    tiles = result["tileRequests"]
    assert tiles, f"the map requested no tile from /tiles/: {result['failedRequests']}"
    # the item page draws the item; the collection page before it drew both map tiles
    assert any(f"/tiles/collections/{ext.COLLECTION_MAPS}/items/{west_id}/tiles/" in t for t in tiles), tiles
    assert all("assets=classes&colormap=" in t for t in tiles), tiles  # the class map, in legend colours
    # tiles the map asks for beyond the item's edge are 404 (outside the data); nothing fails otherwise
    failed = [r for r in result["failedRequests"] if not (r.startswith("404 ") and "/tiles/" in r)]
    assert not failed, failed
    # the map panel shows the class map in the legend colours: the west tile is forest and water
    assert result.get("mapScreenshot"), result
    forest, water = _pixels_near(map_shot, colours[FOREST]), _pixels_near(map_shot, colours[WATER])
    print(f"map panel: {forest} forest and {water} water pixels; first tile after {result['mapLoadMs']} ms")
    assert forest > 2000 and water > 2000, (forest, water)
    _assert_card_pictures(result)
