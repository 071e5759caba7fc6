"""The runtime config.js of STAC Browser: the tile URL template of the class map (titiler-pgstac,
or the tiler over the files in static mode) and the background map."""

from __future__ import annotations

import json
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from sporbar.serve.browser import KARTVERKET_TOPO, basemap_options, browser_config_js

CLASSES = [
    {"value": 1, "name": "forest", "color_hint": "1B7837"},
    {"value": 5, "name": "water", "color_hint": "2166ac"},
]


def test_config_without_tile_server_draws_the_kartverket_background() -> None:
    js = browser_config_js(catalog_url="http://h/data/catalog/catalog.json", title="t", path_prefix="/browser/",
                           tiles_url=None)  # fmt: skip
    assert js.startswith("window.STAC_BROWSER_CONFIG = {") and "buildTileUrlTemplate" not in js
    conf = json.loads(js.removeprefix("window.STAC_BROWSER_CONFIG = ").rstrip(";\n"))
    assert conf.pop("sporbarBasemaps") == [basemap_options(KARTVERKET_TOPO)]
    assert conf == {"catalogTitle": "t", "catalogUrl": "http://h/data/catalog/catalog.json", "pathPrefix": "/browser/"}
    kartverket = basemap_options(KARTVERKET_TOPO)
    assert kartverket["is"] == "XYZ" and kartverket["url"].startswith("https://cache.kartverket.no/v1/wmts/")
    assert kartverket["url"].endswith("/topo/default/webmercator/{z}/{y}/{x}.png")


def test_background_from_the_config() -> None:
    wmts = {"type": "wmts", "url": "https://wmts.example/caps.xml", "layer": "topo", "matrix_set": "webmercator"}
    js = browser_config_js(catalog_url="http://h/api/", title="t", path_prefix="/browser/", tiles_url=None,
                           background=wmts)  # fmt: skip
    conf = json.loads(js.removeprefix("window.STAC_BROWSER_CONFIG = ").rstrip(";\n"))
    [options] = conf["sporbarBasemaps"]
    assert options["is"] == "WMTS" and options["url"] == wmts["url"]
    assert options["layer"] == "topo" and options["matrixSet"] == "webmercator"
    assert options["title"] == wmts["url"]  # no title: named by its URL in the layer menu


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the browser's template function")
def test_tile_template_draws_classes_in_legend_colours() -> None:
    js = browser_config_js(catalog_url="http://h/api/", title="t", path_prefix="/browser/", tiles_url="http://h/tiles")
    # a stand-in for stac-js's Asset (getContext, getKey, getMetadata), as ol-stac hands it over
    script = js.replace("window.", "globalThis.") + """
    const item = {id: "land-ecology-E1", collection: "land-ecology-maps"};
    const asset = (key, meta) => ({getContext: () => item, getKey: () => key, getMetadata: (f) => meta[f]});
    const f = globalThis.STAC_BROWSER_CONFIG.buildTileUrlTemplate;
    console.log(JSON.stringify([f(asset("classes", {"classification:classes": %s})), f(asset("confidence", {})),
                                f({getContext: () => null, getKey: () => "x", getMetadata: () => null})]));
    """ % json.dumps(CLASSES)  # noqa: UP031 - the JS braces would need escaping in an f-string
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True).stdout
    classes, confidence, orphan = json.loads(out)
    parts = urlsplit(classes)
    item_tiles = "/tiles/collections/land-ecology-maps/items/land-ecology-E1/tiles"
    assert parts.path == item_tiles + "/WebMercatorQuad/{z}/{x}/{y}.png"
    query = parse_qs(parts.query)
    assert query["assets"] == ["classes"]
    assert json.loads(query["colormap"][0]) == {"1": "#1B7837", "5": "#2166AC"}
    assert urlsplit(confidence).query == "assets=confidence"  # no classes: drawn as it is
    assert orphan is None  # an asset outside an item of the API: nothing to ask the tile server


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the browser's template function")
def test_static_tile_template_names_the_file_below_data() -> None:
    js = browser_config_js(catalog_url="http://h/data/catalog/catalog.json", title="t", path_prefix="/browser/",
                           tiles_url="http://h/tiles/files", file_tiles_of="/data/")  # fmt: skip
    script = js.replace("window.", "globalThis.") + """
    globalThis.location = {href: "http://h/browser/#/x", origin: "http://h"};
    const item = {id: "land-ecology-E1", collection: "land-ecology-maps"};
    const asset = (url, meta) => ({getContext: () => item, getKey: () => "classes", getMetadata: (f) => meta[f],
                                   getAbsoluteUrl: () => url});
    const f = globalThis.STAC_BROWSER_CONFIG.buildTileUrlTemplate;
    console.log(JSON.stringify([f(asset("http://h/data/maps/a%%20b/classes.tif", {"classification:classes": %s})),
                                f(asset("http://other/data/maps/classes.tif", {})),
                                f(asset("http://h/elsewhere/classes.tif", {}))]));
    """ % json.dumps(CLASSES)  # noqa: UP031 - the JS braces would need escaping in an f-string
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True).stdout
    here, other_host, outside_data = json.loads(out)
    parts = urlsplit(here)
    assert parts.netloc == "h" and parts.path == "/tiles/files/tiles/WebMercatorQuad/{z}/{x}/{y}.png"
    query = parse_qs(parts.query)
    assert query["url"] == ["/data/maps/a b/classes.tif"]
    assert json.loads(query["colormap"][0]) == {"1": "#1B7837", "5": "#2166AC"}
    assert other_host is None and outside_data is None  # only this server's files are drawn


@pytest.mark.parametrize(
    ("background", "named"),
    [
        ({"type": "wmts", "url": "https://wmts.example/caps.xml"}, "serve/background_map"),  # no layer
        ({"type": "png", "url": "https://tiles.example/{z}/{x}/{y}.png"}, "serve/background_map/type"),
        ({"title": "no url"}, "serve/background_map"),
        ({"url": "https://t/{z}/{x}/{y}.png", "colour": "red"}, "serve/background_map"),
    ],
)
def test_bad_background_map_is_named(tmp_path, background, named) -> None:
    from conftest import small_config

    from sporbar.config import validate
    from sporbar.errors import ConfigError

    data = small_config(tmp_path)
    data["serve"] = {"background_map": background}
    with pytest.raises(ConfigError, match=f"my.yaml: key {named}"):
        validate(data, source="my.yaml")
    data["serve"] = {"background_map": {"url": "https://t/{z}/{x}/{y}.png"}}
    assert validate(data)["serve"]["background_map"]["type"] == "xyz"  # the default
