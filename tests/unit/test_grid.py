"""The national grid: tile ids, geoboxes, tiles covering an area."""

from __future__ import annotations

import pytest

from sporbar.errors import GridError
from sporbar.grid import NationalGrid


@pytest.mark.parametrize("tile_size", [640, 1280, 20000])
def test_tile_roundtrip_and_alignment(tile_size: int) -> None:
    grid = NationalGrid(tile_size=tile_size)
    tile = grid.tile_id(210, 5492)
    gbox = grid.geobox(tile)
    assert grid.tile_index(tile) == (210, 5492)
    assert tuple(gbox.shape.yx) == (tile_size // 10, tile_size // 10)
    left, bottom = gbox.extent.boundingbox.left, gbox.extent.boundingbox.bottom
    assert tile == f"E{int(left)}N{int(bottom)}"
    assert left % tile_size == 0 and bottom % tile_size == 0
    assert str(gbox.crs) == "EPSG:25833"


def test_tiles_cover_bbox_exactly() -> None:
    grid = NationalGrid(tile_size=1280)
    assert grid.tiles((268800, 7029760, 271360, 7032320)) == [
        "E268800N7029760", "E268800N7031040", "E270080N7029760", "E270080N7031040"]
    # a bbox inside one tile gives that tile only
    assert grid.tiles((268900, 7029800, 269000, 7029900)) == ["E268800N7029760"]


def test_bad_tile_ids() -> None:
    grid = NationalGrid(tile_size=1280)
    with pytest.raises(GridError, match="not of the form"):
        grid.tile_index("33VWR")
    with pytest.raises(GridError, match="not on the 1280 m grid"):
        grid.tile_index("E268801N7029760")
    with pytest.raises(GridError, match="not a multiple"):
        NationalGrid(tile_size=1285)
    with pytest.raises(GridError, match="empty or inverted"):
        grid.tiles((10, 10, 0, 0))


def test_grid_is_a_hashable_value() -> None:
    assert NationalGrid(tile_size=640) == NationalGrid(tile_size=640)
    assert len({NationalGrid(tile_size=640), NationalGrid(tile_size=640)}) == 1
