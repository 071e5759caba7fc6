"""The runtime ``config.js`` of STAC Browser that ``sporbar serve`` writes next to its files.

STAC Browser 4 draws imagery on the item map only through a tile server (option
``buildTileUrlTemplate``) or client-side (``useTileLayerAsFallback``); with neither, the map
shows the footprint alone. With the STAC API (database mode) the template points at
titiler-pgstac below ``/tiles/``; in static mode at the tiler over the files
(``sporbar.serve.file_tiles``, ``/tiles/files``). Either way an asset with
``classification:classes`` is drawn in its legend colours (the same colormap as
``sporbar.stac.legend``), other single-band assets as they are.

The background map under the item maps comes from ``serve.background_map`` in the config
(default :data:`KARTVERKET_TOPO`) as ``sporbarBasemaps``, which the build's
``basemaps.config.js`` (web/stac-browser) hands to STAC Browser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from sporbar.serve.signin import TOKEN_COOKIE

#: Kartverket's open topographic map: its WMTS ("topo", web-mercator tile matrix set) read
#: through the REST tile template, which needs no GetCapabilities request before the first tile
KARTVERKET_TOPO: Final[Mapping[str, str]] = {
    "type": "xyz",
    "title": "Topografisk norgeskart (Kartverket)",
    "url": "https://cache.kartverket.no/v1/wmts/1.0.0/topo/default/webmercator/{z}/{y}/{x}.png",
    "attribution": "© Kartverket",
}

#: ``buildTileUrlTemplate(asset)``: ``__TILES__`` is replaced by the tiles base URL (JSON
#: string), ``__FILES__`` by whether it is the tiler over the files, ``__DATA__`` by their URL path
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
    if (__FILES__) {
      // static mode: the tiler over the files reads the asset's file below /data/ on this server
      var href = new URL(asset.getAbsoluteUrl(), window.location.href);
      if (href.origin !== window.location.origin || href.pathname.indexOf(__DATA__) !== 0) { return null; }
      return __TILES__ + "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?url=" +
        encodeURIComponent(decodeURIComponent(href.pathname)) + "&" + query;
    }
    return __TILES__ + "/collections/" + encodeURIComponent(item.collection) + "/items/" +
      encodeURIComponent(item.id) + "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?" + query;
  }"""


#: with sign-in (``authConfig``): STAC Browser sends the token as a header on its own requests;
#: this mirrors it into the session cookie :data:`~sporbar.serve.signin.TOKEN_COOKIE` (SameSite
#: Strict), which map tiles and downloads carry, reloads the page when it changes (STAC Browser
#: fetched its lists with the old credentials), and on a reload that finds the cookie shows the
#: user signed in again (``auth/updateCredentials``), since STAC Browser forgets it
_SIGNIN_STATE_JS: Final = """(function () {
  var name = __COOKIE__;
  function cookie() {
    var m = document.cookie.match(new RegExp("(?:^|; *)" + name + "=([^;]*)"));
    var v = m ? decodeURIComponent(m[1]) : "";
    return v.indexOf("Bearer ") === 0 && v.length > 7 ? v : null;
  }
  function setCookie(v) {
    document.cookie = name + "=" + (v ? encodeURIComponent(v) : "") + "; path=/; SameSite=Strict" +
      (v ? "" : "; max-age=0");
  }
  var seen = cookie(), ready = false, restoring = false, tries = 0;
  setInterval(function () {
    var root = document.getElementById("stac-browser"), vm = root && root.__vue__, store = vm && vm.$store;
    if (!store) { return; }
    if (!ready) {
      var method = store.getters["auth/method"];
      if (seen === null || store.getters["auth/isLoggedIn"] || ++tries > 300) { ready = true; }
      else if (!restoring && method && typeof method.getComponent === "function" && method.getComponent()) {
        restoring = true;
        store.dispatch("auth/updateCredentials", seen.slice(7)).then(function () { ready = true; });
      }
      return;
    }
    var header = (store.state.requestHeaders || {}).Authorization || null;
    if (header !== seen) { seen = header; setCookie(header); window.location.reload(); }
  }, 200);
})();
"""


def basemap_options(background: Mapping[str, Any]) -> dict[str, Any]:
    """OpenLayers source options of the background map, as STAC Browser's basemaps take them.

    Args:
        background: ``serve.background_map`` of the config: ``type`` (``xyz``: ``url`` is a
            tile template; ``wmts``: ``url`` is a GetCapabilities document and ``layer``,
            optionally ``matrix_set``, name the layer), ``title``, ``attribution``.

    Returns:
        ``{"is": "XYZ"|"WMTS", "url", "title", "attributions", "projection", ...}``.
    """
    options: dict[str, Any] = {
        "is": "WMTS" if background.get("type") == "wmts" else "XYZ",
        "url": background["url"],
        "title": background.get("title") or background["url"],
        "attributions": background.get("attribution") or "",
        "projection": "EPSG:3857",
        # the map is a WebGL layer: tiles from another origin must come with CORS
        "crossOrigin": "anonymous",
    }
    if options["is"] == "WMTS":
        options["layer"] = background["layer"]
        if background.get("matrix_set"):
            options["matrixSet"] = background["matrix_set"]
    return options


def browser_config_js(
    *,
    catalog_url: str,
    title: str,
    path_prefix: str,
    tiles_url: str | None,
    file_tiles_of: str | None = None,
    background: Mapping[str, Any] | None = None,
    auth_config: Mapping[str, Any] | None = None,
) -> str:
    """The body of ``/browser/config.js``: ``window.STAC_BROWSER_CONFIG = {...};``.

    Args:
        catalog_url: the STAC API root or the static catalog.json, absolute.
        title: the catalog title.
        path_prefix: where the browser is served (``/browser/``).
        tiles_url: absolute URL of the tile server (``.../tiles``, or ``.../tiles/files`` over
            the files); None draws no imagery on maps.
        file_tiles_of: with the tiler over the files, the URL path of the data root (``/data/``)
            whose files it draws; None for titiler-pgstac.
        background: ``serve.background_map`` of the config; None: :data:`KARTVERKET_TOPO`.
        auth_config: STAC Browser's ``authConfig`` (:func:`sporbar.serve.signin.browser_auth_config`);
            None offers no sign-in.

    Returns:
        JavaScript source.
    """
    conf: dict[str, Any] = {
        "catalogUrl": catalog_url,
        "catalogTitle": title,
        "pathPrefix": path_prefix,
        "sporbarBasemaps": [basemap_options(background or KARTVERKET_TOPO)],
    }
    if auth_config is not None:
        conf["authConfig"] = dict(auth_config)
    body = json.dumps(conf, sort_keys=True)
    if tiles_url is not None:
        template = (
            _TILE_URL_TEMPLATE_JS.replace("__TILES__", json.dumps(tiles_url.rstrip("/")))
            .replace("__FILES__", "true" if file_tiles_of else "false")
            .replace("__DATA__", json.dumps(file_tiles_of or "/"))
        )
        # the tile server draws every COG, also the classes the browser could not colour itself
        body = body[:-1] + ', "useTileLayerAsFallback": false, "buildTileUrlTemplate": ' + template + "}"
    script = f"window.STAC_BROWSER_CONFIG = {body};\n"
    if auth_config is not None:
        script += _SIGNIN_STATE_JS.replace("__COOKIE__", json.dumps(TOKEN_COOKIE))
    return script
