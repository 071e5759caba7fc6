"""The national output grid: EPSG:25833 tiles aligned to whole metres.

A tile is named by its lower-left corner in metres, ``E<x>N<y>`` (e.g.
``E268800N7029760``), so a tile id says where it is without a lookup table.
The grid is an immutable value; tile geometry is computed, never stored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

from odc.geo import xy_
from odc.geo.geobox import GeoBox
from odc.geo.geom import BoundingBox
from odc.geo.gridspec import GridSpec

from sporbar.errors import GridError

_TILE_ID = re.compile(r"^E(?P<x>-?\d+)N(?P<y>-?\d+)$")


@dataclass(frozen=True)
class NationalGrid:
    """A tiling of a projected CRS into square tiles.

    Attributes:
        crs: the output CRS, e.g. ``"EPSG:25833"`` (metres).
        resolution: pixel size in metres.
        tile_size: tile edge length in metres; a whole multiple of ``resolution``.
    """

    crs: str = "EPSG:25833"
    resolution: int = 10
    tile_size: int = 20_000

    def __post_init__(self) -> None:
        """Reject a grid whose pixel or tile size is not positive.

        Raises:
            GridError: naming the grid.
        """
        if self.resolution <= 0 or self.tile_size <= 0:
            raise GridError(f"grid resolution and tile_size must be positive: {self}")
        if self.tile_size % self.resolution:
            raise GridError(
                f"grid.tile_size {self.tile_size} m is not a multiple of "
                f"grid.resolution {self.resolution} m"
            )

    @property
    def tile_pixels(self) -> int:
        """Tile edge length in pixels."""
        return self.tile_size // self.resolution

    @cached_property
    def gridspec(self) -> GridSpec:
        """The odc-geo GridSpec of this grid (origin at 0, 0)."""
        n = self.tile_pixels
        return GridSpec(self.crs, tile_shape=(n, n), resolution=self.resolution, origin=xy_(0, 0))

    def tile_id(self, ix: int, iy: int) -> str:
        """Tile id of tile index ``(ix, iy)``."""
        return f"E{ix * self.tile_size}N{iy * self.tile_size}"

    def tile_index(self, tile_id: str) -> tuple[int, int]:
        """Tile index ``(ix, iy)`` of ``tile_id``.

        Raises:
            GridError: the id is malformed or not on a tile corner of this grid.
        """
        m = _TILE_ID.match(tile_id)
        if not m:
            raise GridError(f"tile id {tile_id!r} is not of the form E<x>N<y> (metres)")
        x, y = int(m["x"]), int(m["y"])
        if x % self.tile_size or y % self.tile_size:
            raise GridError(
                f"tile id {tile_id!r} is not on the {self.tile_size} m grid of {self.crs}"
            )
        return x // self.tile_size, y // self.tile_size

    def geobox(self, tile_id: str) -> GeoBox:
        """The pixel grid (shape ``(y, x)``, affine, crs) of one tile."""
        ix, iy = self.tile_index(tile_id)
        return self.gridspec[ix, iy]

    def aligned(self, bbox: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """The area the tiles of ``bbox`` cover.

        That is ``bbox`` (minx, miny, maxx, maxy, grid CRS) grown to the edges of the tiles it touches.
        """
        ts = self.tile_size
        minx, miny, maxx, maxy = bbox
        return (math.floor(minx / ts) * ts, math.floor(miny / ts) * ts,
                math.ceil(maxx / ts) * ts, math.ceil(maxy / ts) * ts)

    def tiles(self, bbox: tuple[float, float, float, float]) -> list[str]:
        """Ids of the tiles that intersect ``bbox`` (minx, miny, maxx, maxy in grid CRS), sorted.

        Raises:
            GridError: the bbox is empty or inverted.
        """
        minx, miny, maxx, maxy = bbox
        if not (maxx > minx and maxy > miny):
            raise GridError(f"area bbox {list(bbox)} is empty or inverted (want minx<maxx, miny<maxy)")
        found = self.gridspec.tiles(BoundingBox(minx, miny, maxx, maxy, self.crs))
        return sorted(self.tile_id(ix, iy) for (ix, iy), _ in found)
