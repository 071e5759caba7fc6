"""Points -> per-cell statistics on a GeoBox, accumulated chunk by chunk.

All work is vectorised: cell indices come from one floor division per axis, sums and
counts from ``np.bincount`` and maxima from ``np.maximum.at``. No loop over points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.errors import GridError
from sporbar.lidar.read import GROUND, NOISE, VEGETATION, WATER, Points


@dataclass
class CellStats:
    """Running per-cell statistics of the points seen so far (flat arrays, row-major).

    Attributes:
        geobox: the grid (north-up, square cells).
        count: points per cell, noise excluded.
        ground_sum, ground_count: sum and number of ground (2) and water (9) heights.
        first_max: highest first return per cell, noise excluded (-inf where none).
        veg_max: highest vegetation (3, 4, 5) return per cell (-inf where none).
    """

    geobox: GeoBox
    count: np.ndarray = field(init=False)
    ground_sum: np.ndarray = field(init=False)
    ground_count: np.ndarray = field(init=False)
    first_max: np.ndarray = field(init=False)
    veg_max: np.ndarray = field(init=False)
    points: int = 0

    def __post_init__(self) -> None:
        """Check the grid and allocate the cell arrays.

        Raises:
            GridError: the grid is rotated or its cells are not square.
        """
        a = self.geobox.affine
        if a.b != 0 or a.d != 0 or a.e >= 0 or a.a != -a.e:
            raise GridError(f"lidar grid {self.geobox.crs} {tuple(a)[:6]}: must be north-up with square cells")
        n = self.size
        self.count = np.zeros(n, np.int64)
        self.ground_sum = np.zeros(n, np.float64)
        self.ground_count = np.zeros(n, np.int64)
        self.first_max = np.full(n, -np.inf)
        self.veg_max = np.full(n, -np.inf)

    @property
    def shape(self) -> tuple[int, int]:
        """(y, x) cells."""
        return tuple(self.geobox.shape.yx)  # type: ignore[return-value]

    @property
    def size(self) -> int:
        """Number of cells."""
        ny, nx = self.shape
        return ny * nx

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell index of each point and a mask of the points inside the grid."""
        a = self.geobox.affine
        ny, nx = self.shape
        col = np.floor((x - a.c) / a.a).astype(np.int64)
        row = np.floor((y - a.f) / a.e).astype(np.int64)
        inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        return row * nx + col, inside

    def add(self, pts: Points) -> None:
        """Accumulate one chunk of points."""
        idx, inside = self.cell_index(pts.x, pts.y)
        keep = inside & ~np.isin(pts.classification, NOISE)
        idx, z = idx[keep], pts.z[keep]
        cls, ret = pts.classification[keep], pts.return_number[keep]
        n = self.size
        self.points += int(idx.size)
        self.count += np.bincount(idx, minlength=n)
        g = (cls == GROUND) | (cls == WATER)
        self.ground_sum += np.bincount(idx[g], weights=z[g], minlength=n)
        self.ground_count += np.bincount(idx[g], minlength=n)
        first = ret == 1
        np.maximum.at(self.first_max, idx[first], z[first])
        v = np.isin(cls, VEGETATION)
        np.maximum.at(self.veg_max, idx[v], z[v])

    def grid(self, flat: np.ndarray) -> np.ndarray:
        """A flat per-cell array as (y, x)."""
        return flat.reshape(self.shape)
