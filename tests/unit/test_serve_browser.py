"""The runtime config.js of STAC Browser: the tile URL template of the class map."""

from __future__ import annotations

import json
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from sporbar.serve.browser import browser_config_js

CLASSES = [
    {"value": 1, "name": "forest", "color_hint": "1B7837"},
    {"value": 5, "name": "water", "color_hint": "2166ac"},
]


def test_static_config_has_no_tile_server() -> None:
    js = browser_config_js(catalog_url="http://h/data/catalog/catalog.json", title="t", path_prefix="/browser/",
                           tiles_url=None)  # fmt: skip
    assert js.startswith("window.STAC_BROWSER_CONFIG = {") and "buildTileUrlTemplate" not in js
    conf = json.loads(js.removeprefix("window.STAC_BROWSER_CONFIG = ").rstrip(";\n"))
    assert conf == {"catalogTitle": "t", "catalogUrl": "http://h/data/catalog/catalog.json", "pathPrefix": "/browser/"}


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
