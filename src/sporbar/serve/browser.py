"""The runtime ``config.js`` of STAC Browser that ``sporbar serve`` writes next to its files.

STAC Browser 4 draws imagery on the item map only through a tile server (option
``buildTileUrlTemplate``) or client-side (``useTileLayerAsFallback``); with neither, the map
shows the footprint alone. With the STAC API (database mode) the template points at
titiler-pgstac below ``/tiles/``: an asset with ``classification:classes`` is drawn in its
legend colours (the same colormap as ``sporbar.stac.legend``), other single-band assets as
they are.
"""

from __future__ import annotations

import json
from typing import Any, Final

#: ``buildTileUrlTemplate(asset)``: ``TILES`` is replaced by the tiles base URL (JSON string)
_TILE_URL_TEMPLATE_JS: Final = """function (asset) {
    var item = asset.getContext ? asset.getContext() : null;
    if (!item || !item.id || !item.collection) { return null; }
    var query = "assets=" + encodeURIComponent(asset.getKey());
    var classes = asset.getMetadata("classification:classes");
    if (Array.isArray(classes)) {
      var colormap = {};
      classes.forEach(function (c) {
        var hint = String(c.color_hint || "").replace(/^#/, "");
        if (/^[0-9a-fA-F]{6}$/.test(hint)) { colormap[String(c.value)] = "#" + hint.toUpperCase(); }
      });
      query += "&colormap=" + encodeURIComponent(JSON.stringify(colormap));
    }
    return TILES + "/collections/" + encodeURIComponent(item.collection) + "/items/" +
      encodeURIComponent(item.id) + "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?" + query;
  }"""


def browser_config_js(*, catalog_url: str, title: str, path_prefix: str, tiles_url: str | None) -> str:
    """The body of ``/browser/config.js``: ``window.STAC_BROWSER_CONFIG = {...};``.

    Args:
        catalog_url: the STAC API root or the static catalog.json, absolute.
        title: the catalog title.
        path_prefix: where the browser is served (``/browser/``).
        tiles_url: absolute URL of the tile server (``.../tiles``); None draws no imagery on maps.

    Returns:
        JavaScript source.
    """
    conf: dict[str, Any] = {"catalogUrl": catalog_url, "catalogTitle": title, "pathPrefix": path_prefix}
    body = json.dumps(conf, sort_keys=True)
    if tiles_url is not None:
        template = _TILE_URL_TEMPLATE_JS.replace("TILES", json.dumps(tiles_url.rstrip("/")), 1)
        # the tile server draws every COG, also the classes the browser could not colour itself
        body = body[:-1] + ', "useTileLayerAsFallback": false, "buildTileUrlTemplate": ' + template + "}"
    return f"window.STAC_BROWSER_CONFIG = {body};\n"
