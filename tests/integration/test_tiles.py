"""Map tiles for real: PostgreSQL + pgstac, two real map tiles published, `sporbar serve`
(titiler-pgstac at /tiles/), read with owslib's WMTS client as QGIS would: the tiles are
PNGs whose pixels are the legend colours of the classes the map has there."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from _map_fixture import FOREST, HEATH, WATER, served_map_chain
from _services import Server, require_root

from sporbar.stac import extensions as ext

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

WEB_MERCATOR = "WebMercatorQuad"
LAYER_SUFFIX = f"_{WEB_MERCATOR}_classes-legend"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """PostgreSQL+pgstac with two real map tiles published, and `sporbar serve` on it."""
    require_root("the tiles test")
    with served_map_chain(tmp_path_factory.mktemp("tiles"), wait="/api/") as stack:
        yield stack


def _item_ids(stack: dict[str, Any]) -> list[str]:
    return [json.loads(p.read_text())["id"] for p in stack["chain"].maps]


def _tile_of(item: dict[str, Any], zoom: int) -> tuple[int, int, int]:
    """(z, x, y) web mercator tile holding the centre of the item's bbox."""
    import morecantile

    w, s, e, n = item["bbox"]
    t = morecantile.tms.get(WEB_MERCATOR).tile((w + e) / 2, (s + n) / 2, zoom)
    return t.z, t.x, t.y


def _pixels(png: bytes) -> np.ndarray:
    """(bands, rows, cols) of a PNG, read with GDAL (rasterio)."""
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:80]
    with warnings.catch_warnings():  # a web tile PNG carries no georeferencing
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return _read_png(MemoryFile, png)


def _read_png(memory_file: Any, png: bytes) -> np.ndarray:
    with memory_file(png) as mem, mem.open() as src:
        assert src.driver == "PNG"
        return np.asarray(src.read())


def _opaque_colours(png: bytes) -> dict[tuple[int, int, int], int]:
    """RGB -> count of the opaque pixels of an RGBA PNG."""
    px = _pixels(png)
    assert px.shape[0] == 4, f"expected RGBA, got {px.shape[0]} bands"
    rgb = px[:3, px[3] > 0].T
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    return {tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts, strict=True)}


def _status(server: Server, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.base + path, timeout=60) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _wmts(url: str) -> Any:
    from owslib.wmts import WebMapTileService

    return WebMapTileService(url)


def _get_tile(wmts: Any, layer: str, z: int, x: int, y: int) -> bytes:
    resp = wmts.gettile(layer=layer, tilematrixset=WEB_MERCATOR, tilematrix=str(z), row=y, column=x, format="image/png")
    data: bytes = resp.read()
    return data


def test_item_wmts_tile_has_legend_colours(stack) -> None:
    server, colours = stack["server"], stack["colours"]
    west = stack["chain"].maps[0]
    item = json.loads(west.read_text())
    wmts = _wmts(f"{server.base}/tiles/collections/{ext.COLLECTION_MAPS}/items/{item['id']}/WMTSCapabilities.xml")
    layer = f"{item['id']}{LAYER_SUFFIX}"
    assert layer in wmts.contents, sorted(wmts.contents)
    assert WEB_MERCATOR in wmts.tilematrixsets
    z, x, y = _tile_of(item, 15)
    got = _opaque_colours(_get_tile(wmts, layer, z, x, y))
    # the west tile is forest and water: both legend colours drawn, nothing else
    assert set(got) == {colours[FOREST], colours[WATER]}, (got, colours)
    assert min(got.values()) > 100


def test_mosaic_wmts_is_one_layer_of_all_map_tiles(stack) -> None:
    server, colours = stack["server"], stack["colours"]
    status, body = _status(server, f"/tiles/mosaics/{ext.COLLECTION_MAPS}")
    assert status == 200, body
    mosaic = json.loads(body)
    forest_hex = "#{:02X}{:02X}{:02X}".format(*colours[FOREST])
    assert mosaic["renders"]["classes-legend"]["colormap"][str(FOREST)] == forest_hex
    # QGIS is given this URL; it redirects to the registered search's capabilities
    wmts = _wmts(f"{server.base}/tiles/mosaics/{ext.COLLECTION_MAPS}/WMTSCapabilities.xml")
    layer = f"{mosaic['id']}{LAYER_SUFFIX}"
    assert layer in wmts.contents, sorted(wmts.contents)
    items = [json.loads(p.read_text()) for p in stack["chain"].maps]
    both = [min(i["bbox"][0] for i in items), min(i["bbox"][1] for i in items)]
    both += [max(i["bbox"][2] for i in items), max(i["bbox"][3] for i in items)]
    import morecantile

    got: dict[tuple[int, int, int], int] = {}
    for t in morecantile.tms.get(WEB_MERCATOR).tiles(*both, zooms=[14]):  # every tile the two map tiles touch
        for colour, n in _opaque_colours(_get_tile(wmts, layer, t.z, t.x, t.y)).items():
            got[colour] = got.get(colour, 0) + n
    assert set(got) == {colours[FOREST], colours[WATER], colours[HEATH]}, (got, colours)


def test_tile_outside_the_data_is_404_with_a_message(stack) -> None:
    server = stack["server"]
    west_id = _item_ids(stack)[0]
    far = "/tiles/WebMercatorQuad/12/2100/1100.png?assets=classes"  # the Alps, not Trøndelag
    status, body = _status(server, f"/tiles/collections/{ext.COLLECTION_MAPS}/items/{west_id}{far}")
    assert status == 404, body
    assert "outside" in body.lower(), body
    mosaic = json.loads(_status(server, f"/tiles/mosaics/{ext.COLLECTION_MAPS}")[1])
    status, body = _status(server, f"/tiles/searches/{mosaic['id']}{far}")
    assert status == 404, body
    assert "no assets found" in body.lower() or "no item" in body.lower(), body


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("items/{item}/tiles/WebMercatorQuad/zz/1/1.png?assets=classes", 422, "z"),
        ("items/{item}/tiles/NoSuchGrid/{zxy}.png?assets=classes", 422, "tileMatrixSetId"),
        ("items/{item}/tiles/WebMercatorQuad/{zxy}.png?assets=nosuchasset", 404, "nosuchasset"),
        ("items/{item}/tiles/WebMercatorQuad/{zxy}.png?assets=classes&colormap=%7B%22a%22%3A1%7D", 400, "colormap"),
        ("items/{item}/tiles/WebMercatorQuad/{zxy}.png?assets=classes&colormap=notjson", 400, "colormap"),
        ("items/{item}/tiles/WebMercatorQuad/{zxy}.png", 422, "assets"),
        ("items/no-such-item/tiles/WebMercatorQuad/{zxy}.png?assets=classes", 404, "no-such-item"),
    ],
)
def test_bad_tile_requests_are_4xx_with_a_message(stack, path: str, code: int, words: str) -> None:
    west = json.loads(stack["chain"].maps[0].read_text())
    zxy = "/".join(map(str, _tile_of(west, 15)))  # a tile with data: only the request is wrong
    url = f"/tiles/collections/{ext.COLLECTION_MAPS}/" + path.replace("{item}", west["id"]).replace("{zxy}", zxy)
    status, body = _status(stack["server"], url)
    assert status == code, body
    assert words.lower() in body.lower(), body


def test_mosaic_of_an_unknown_collection_is_404(stack) -> None:
    status, body = _status(stack["server"], "/tiles/mosaics/no-such-collection")
    assert status == 404, body
    assert "no-such-collection" in body, body
