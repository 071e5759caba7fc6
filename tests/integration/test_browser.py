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
#: its Norwegian title (the template's translations.nb): what the static catalog and the API show in bokmål
COLLECTION_TITLE_NB = "Landøkologiske kart"


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
    site: dict[str, Any],
    server: Server,
    name: str,
    *,
    item_id: str = MAP_ID,
    collection: str = COLLECTION_TITLE_NB,
    map_shot: Path | None = None,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    cmd = [
        "node", str(OPEN_ITEM),
        "--url", server.base + "/browser/",
        "--collection", collection,
        "--item", item_id,
        "--screenshot", str(shot),
        "--chromium", site["chromium"],
    ]  # fmt: skip
    if map_shot is not None:
        cmd += ["--map-screenshot", str(map_shot)]
    cmd += extra or []
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
        assert f"{server.base}/data/catalog/catalog.nb.json" in config_js  # bokmål first
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
    # the STAC API answers in the browser's language (sporbar.serve.language): Norwegian titles in
    # bokmål, English ones once the language menu says English
    result = _open_item(
        site, server, "stac-browser-api-map-item", item_id=west_id, map_shot=map_shot,
        extra=["--switch-language", "English"],
    )  # fmt: skip
    assert not result["errors"], result["errors"]
    assert result["title"] == west_id
    assert result["ui"]["lang"] == "nb", result["ui"]
    assert COLLECTION_TITLE_NB in result["cardTitles"] and COLLECTION_TITLE not in result["cardTitles"], result
    switched = result["switched"]  # on the root page: the cards come again from the API, in English
    assert switched["lang"] == "en", switched
    assert not switched["errors"], switched["errors"]
    assert COLLECTION_TITLE in switched["cardTitles"] and COLLECTION_TITLE_NB not in switched["cardTitles"], switched
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


# --- STAC Browser as staff use it: Norwegian first, a background map, static class maps, deep links

BACKGROUND_RGB = (0xFF, 0x00, 0xFF)  # the local background's tiles: magenta, a colour no legend uses


class _BackgroundTiles:
    """A local XYZ tile source on loopback (Kartverket's WMTS is unreachable from the tests):
    every tile is a magenta PNG, sent with CORS (the browser draws it with WebGL)."""

    def __init__(self) -> None:
        import http.server
        import threading

        tile = _png(256, 256, BACKGROUND_RGB)
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config_with_background(cfg_path: Path, url: str, out: Path) -> Path:
    """The chain's config with ``serve.background_map`` set to the XYZ template ``url``."""
    import yaml

    data = yaml.safe_load(cfg_path.read_text())
    data.setdefault("serve", {})["background_map"] = {"type": "xyz", "url": url, "title": "Test background"}
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


@pytest.fixture(scope="module")
def static_maps(site: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Two real map tiles in a static catalog (no database) and a local background tile source."""
    from _map_fixture import build_map_chain, class_colours
    from click.testing import CliRunner

    from sporbar.cli.publish import publish

    tmp = site["tmp"] / "static-maps"
    tmp.mkdir()
    chain = build_map_chain(tmp)
    built = CliRunner().invoke(publish, ["-c", str(chain.cfg_path), "-o", str(chain.catalog), *map(str, chain.maps)])
    assert built.exit_code == 0, built.output
    background = _BackgroundTiles()
    try:
        yield {"chain": chain, "colours": class_colours(chain.cfg), "tmp": tmp, "background": background}
    finally:
        background.stop()


def _static_server(static_maps: dict[str, Any], config: Path, name: str) -> Server:
    chain = static_maps["chain"]
    args = ["--static", "--catalog", str(chain.catalog), "--data-root", str(chain.root), "-c", str(config)]
    server = Server(args, log=static_maps["tmp"] / f"{name}.log")
    server.wait("/browser/")
    return server


def test_browser_staff_view_static(site, static_maps) -> None:
    """Bokmål by default and English on request; the background map and the class map drawn
    without a database (tiles over the files); a deep link that survives a reload."""
    from _map_fixture import FOREST, WATER

    chain, colours, background = static_maps["chain"], static_maps["colours"], static_maps["background"]
    config = _config_with_background(
        chain.cfg_path, f"http://{background.host}/{{z}}/{{x}}/{{y}}.png", static_maps["tmp"] / "bg.yaml"
    )
    west_id = json.loads(chain.maps[0].read_text())["id"]
    map_shot = ARTIFACTS / "stac-browser-staff-map.png"
    server = _static_server(static_maps, config, "staff")
    try:
        config_js = server.get("/browser/config.js").decode()
        assert background.host in config_js and "/tiles/files" in config_js, config_js
        result = _open_item(
            site, server, "stac-browser-staff", item_id=west_id, map_shot=map_shot,
            extra=["--background", background.host, "--reload", "1", "--switch-language", "English"],
        )  # fmt: skip
    finally:
        server.stop()
    assert not result["errors"], result["errors"]
    # the interface is Norwegian bokmål, and the menu offers exactly bokmål and English; the
    # collection cards show the collections' Norwegian titles
    assert COLLECTION_TITLE_NB in result["cardTitles"] and COLLECTION_TITLE not in result["cardTitles"], result
    assert "Landøkologiske klassifikatorer" in result["cardTitles"], result["cardTitles"]
    ui = result["ui"]
    assert ui["lang"] == "nb", ui
    assert ui["languageButton"] == "Språk: Norsk bokmål", ui
    assert sorted(ui.get("languages", [])) == ["English", "Norsk bokmål / Norwegian Bokmål"], ui
    assert "Bla gjennom" in ui["bodyText"] or "Samlinger" in ui["bodyText"], ui["bodyText"]
    # ... and switches to English, cards included
    switched = result["switched"]
    assert switched["lang"] == "en" and switched["languageButton"] == "Language: English", switched
    assert COLLECTION_TITLE in switched["cardTitles"] and COLLECTION_TITLE_NB not in switched["cardTitles"], switched
    assert not switched["errors"], switched["errors"]
    # the background tiles came from the configured (local) source and are drawn
    assert result["backgroundRequests"] and background.requests, result["failedRequests"]
    # the class map is drawn from the COG through the tiles over the files, in legend colours
    tiles = result["tileRequests"]
    assert tiles and all("/tiles/files/tiles/WebMercatorQuad/" in t and "colormap=" in t for t in tiles), tiles
    magenta = _pixels_near(map_shot, BACKGROUND_RGB)
    forest, water = _pixels_near(map_shot, colours[FOREST]), _pixels_near(map_shot, colours[WATER])
    print(f"map panel: {magenta} background, {forest} forest, {water} water pixels; "
          f"class map drawn {result['mapDrawnMs']} ms after opening the item")  # fmt: skip
    assert magenta > 2000, magenta
    assert forest > 2000 and water > 2000, (forest, water)
    failed = [r for r in result["failedRequests"] if not (r.startswith("404 ") and "/tiles/" in r)]
    assert not failed, failed
    # the item's URL, reloaded, shows the same item
    reload = result["reload"]
    # (STAC Browser may add its state, ?.language=nb, to the URL)
    assert reload["url"].split("?")[0] == reload["before"].split("?")[0], reload
    assert reload["title"] == west_id and f"/{west_id}.json" in reload["url"], reload
    print(f"deep link loaded: item shown after {reload['shownMs']} ms, class map drawn after {reload['mapDrawnMs']} ms")
    assert reload["mapDrawnMs"] is not None, "the reloaded item page drew no class map tile"


def test_browser_class_map_without_background(site, static_maps) -> None:
    """The background source is down (nothing listens): the page works and the class map is drawn."""
    from _map_fixture import FOREST, WATER
    from _services import free_port

    chain, colours = static_maps["chain"], static_maps["colours"]
    down = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"
    config = _config_with_background(chain.cfg_path, down, static_maps["tmp"] / "bg-down.yaml")
    west_id = json.loads(chain.maps[0].read_text())["id"]
    map_shot = ARTIFACTS / "stac-browser-no-background-map.png"
    server = _static_server(static_maps, config, "no-background")
    try:
        result = _open_item(site, server, "stac-browser-no-background", item_id=west_id, map_shot=map_shot)
    finally:
        server.stop()
    assert not result["errors"], result["errors"]
    assert result["title"] == west_id
    forest, water = _pixels_near(map_shot, colours[FOREST]), _pixels_near(map_shot, colours[WATER])
    assert forest > 2000 and water > 2000, (forest, water)
