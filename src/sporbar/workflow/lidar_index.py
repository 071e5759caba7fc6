"""Which delivered lidar tiles each grid tile needs, and which job block fetches each.

Delivered lidar tiles follow their own tiling (the vendor's), not the output grid. Snakemake
asks per grid tile and per job block; a scan of every delivery per question would be
quadratic in the area (10,000 tiles x 10,000 deliveries), so the answers are built in one
pass over the deliveries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sporbar.grid import NationalGrid

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class LidarIndex:
    """Lidar deliveries against grid tiles and job blocks.

    Attributes:
        overlaps: grid tile -> delivered lidar tiles overlapping it or its buffer (touching edges do not count).
        owner: delivered lidar tile -> the job block that fetches it (the block holding its
            centre, clamped into the area).
        owned: job block -> the delivered lidar tiles it fetches, sorted.
    """

    overlaps: Mapping[str, tuple[str, ...]]
    owner: Mapping[str, str]
    owned: Mapping[str, tuple[str, ...]]


def build_lidar_index(
    grid: NationalGrid,
    tiles: Sequence[str],
    bounds: Mapping[str, Bounds],
    block_of: Callable[[str], str],
    buffer: float = 0.0,
) -> LidarIndex:
    """One pass over the deliveries: the cost is linear in their number and the area's tiles.

    Args:
        grid: the output grid.
        tiles: the area's grid tile ids, sorted (first lower-left, last upper-right).
        bounds: delivered lidar tile id -> (minx, miny, maxx, maxy) in the grid's CRS (metres).
        block_of: grid tile id -> id of the job block holding it.
        buffer: metres around a grid tile whose deliveries it also needs (``lidar.buffer``: the
            points of the neighbouring deliveries that make its edges seamless).

    Returns:
        The index.
    """
    ts, eps = grid.tile_size, 1e-6
    in_area = set(tiles)
    ix0, iy0 = grid.tile_index(tiles[0])
    ix1, iy1 = grid.tile_index(tiles[-1])
    ix0, ix1 = min(ix0, ix1), max(ix0, ix1)
    iy0, iy1 = min(iy0, iy1), max(iy0, iy1)
    overlaps: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for lt, (minx, miny, maxx, maxy) in bounds.items():
        for ix in range(math.floor((minx - buffer + eps) / ts), math.floor((maxx + buffer - eps) / ts) + 1):
            for iy in range(math.floor((miny - buffer + eps) / ts), math.floor((maxy + buffer - eps) / ts) + 1):
                t = grid.tile_id(ix, iy)
                if t in in_area:
                    overlaps.setdefault(t, []).append(lt)
        cx = min(max(math.floor((minx + maxx) / 2 / ts), ix0), ix1)
        cy = min(max(math.floor((miny + maxy) / 2 / ts), iy0), iy1)
        owner[lt] = block_of(grid.tile_id(cx, cy))
    owned: dict[str, list[str]] = {}
    for lt in sorted(owner):
        owned.setdefault(owner[lt], []).append(lt)
    return LidarIndex(
        overlaps={t: tuple(sorted(v)) for t, v in overlaps.items()},
        owner=owner,
        owned={b: tuple(v) for b, v in owned.items()},
    )
