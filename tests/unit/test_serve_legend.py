"""The legend colours of the classification extension as tile colormaps and renders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import HTTPException

from sporbar.grid import NationalGrid
from sporbar.serve.legend import class_colormap, legend_renders, render_query
from sporbar.serve.tiles import colormap_params, local_href
from sporbar.stac.items.map import map_item

CLASSES = [
    {"value": 2, "name": "mire", "color": "#b8860b"},
    {"value": 1, "name": "forest", "color": "#1b7837"},
    {"value": 3, "name": "heath"},
]


def _map_assets() -> dict:
    grid = NationalGrid(tile_size=640)
    tile = grid.tile_id(420, 10985)
    item = map_item(
        "land-ecology",
        tile,
        geobox=grid.geobox(tile),
        classes=CLASSES,
        start=datetime(2024, 5, 1, tzinfo=UTC),
        end=datetime(2024, 9, 30, tzinfo=UTC),
        bbox_wgs84=[10.0, 63.0, 10.1, 63.1],
    )
    return item.to_dict(include_self_link=False)["assets"]


def test_colormap_from_the_map_items_classes() -> None:
    classes = _map_assets()["classes"]["classification:classes"]
    # sorted by value, hex upper case; the class without a colour is left out (transparent)
    assert class_colormap(classes) == {1: "#1B7837", 2: "#B8860B"}


def test_colormap_skips_malformed_hints() -> None:
    assert class_colormap([{"value": 4, "color_hint": "zz0000"}, {"value": 5, "color_hint": "12345"}]) == {}


def test_one_legend_render_per_classified_asset() -> None:
    renders = legend_renders(_map_assets())
    assert list(renders) == ["classes-legend"]  # confidence and margin carry no classes
    assert renders["classes-legend"]["assets"] == ["classes"]
    query = render_query(renders["classes-legend"])
    assert query["assets"] == ["classes"]
    assert json.loads(str(query["colormap"])) == {"1": "#1B7837", "2": "#B8860B"}
    # titiler's own parser reads it back as RGBA
    cmap = colormap_params(colormap_name=None, colormap=str(query["colormap"]))
    assert cmap[1][:3] == (0x1B, 0x78, 0x37)


@pytest.mark.parametrize("bad", ['{"a": "#ffffff"}', '{"1": "nocolour"}', "[1, 2", '{"1": 5}'])
def test_malformed_colormap_is_400(bad: str) -> None:
    with pytest.raises(HTTPException) as err:
        colormap_params(colormap_name=None, colormap=bad)
    assert err.value.status_code == 400
    assert "colormap" in str(err.value.detail).lower()


def test_data_hrefs_map_to_the_data_root(tmp_path: Path) -> None:
    assert local_href("/data/maps/x/classes.tif", tmp_path, "/data") == str(tmp_path.resolve() / "maps/x/classes.tif")
    assert local_href("https://example.org/a.tif", tmp_path, "/data") == "https://example.org/a.tif"
    with pytest.raises(HTTPException) as err:
        local_href("/data/../etc/passwd", tmp_path, "/data")
    assert err.value.status_code == 404
