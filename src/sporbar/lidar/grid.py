"""Points -> per-cell statistics on a GeoBox, accumulated chunk by chunk.

All work is vectorised: cell indices come from one floor division per axis, sums and
counts from ``np.bincount`` and maxima from ``np.maximum.at``. No loop over points.

Which points count is decided by :class:`~sporbar.lidar.classes.PointClasses`: noise,
withheld (unless kept) and unknown classes are left out of every statistic and counted in
:attr:`CellStats.excluded`. The first returns kept are buffered (cell, position, height; 16
bytes each) for the area-based metrics, which need the DTM first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.errors import GridError
from sporbar.lidar.classes import Excluded, PointClasses, Role
from sporbar.lidar.read import Points


@dataclass
class FirstReturns:
    """The kept first returns of a tile: flat cell index, x/y from the grid origin (m), height (m)."""

    cell: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    z: np.ndarray


@dataclass
class CellStats:
    """Running per-cell statistics of the points seen so far (flat arrays, row-major).

    Attributes:
        geobox: the grid (north-up, square cells).
        classes: the use of each class code, and of withheld points.
        count: points per cell (excluded points left out).
        ground_sum, ground_count: sum and number of ground-class heights.
        first_max: highest first return per cell (-inf where none).
        veg_max: highest vegetation-class return per cell (-inf where none).
        points: points used (inside the grid, not excluded).
        excluded: points inside the grid left out, by reason.
    """

    geobox: GeoBox
    classes: PointClasses = field(default_factory=PointClasses.asprs)
    count: np.ndarray = field(init=False)
    ground_sum: np.ndarray = field(init=False)
    ground_count: np.ndarray = field(init=False)
    first_max: np.ndarray = field(init=False)
    veg_max: np.ndarray = field(init=False)
    points: int = 0
    excluded: Excluded = field(default_factory=Excluded)
    _roles: np.ndarray = field(init=False, repr=False)
    _first: list[tuple[np.ndarray, ...]] = field(init=False, repr=False)

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
        self._roles = self.classes.roles()
        self._first = []

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

    def _used(self, pts: Points, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(role of each point, mask of the points used); counts the excluded ones inside the grid."""
        role = self._roles[pts.classification]
        used = inside & (role != Role.NOISE) & (role != Role.UNKNOWN)
        self.excluded.noise += int(np.count_nonzero(inside & (role == Role.NOISE)))
        if not self.classes.keep_withheld:
            held = used & pts.withheld
            self.excluded.withheld += int(np.count_nonzero(held))
            used &= ~pts.withheld
        unknown = inside & (role == Role.UNKNOWN)
        if unknown.any():
            self.excluded.add_unknown(pts.classification[unknown])
        return role, used

    def add(self, pts: Points) -> None:
        """Accumulate one chunk of points.

        Subsets are taken by index (``take``), sums and maxima of a class over every point
        with the others masked to 0 / -inf: both faster than boolean-mask copies.
        """
        idx, inside = self.cell_index(pts.x, pts.y)
        role, keep = self._used(pts, inside)
        x, y, z, ret = pts.x, pts.y, pts.z, pts.return_number
        if not keep.all():  # usually every point is kept: no copies then
            sel = np.flatnonzero(keep)
            idx, x, y, z, ret, role = (a.take(sel) for a in (idx, x, y, z, ret, role))
        n = self.size
        self.points += int(idx.size)
        self.count += np.bincount(idx, minlength=n)
        g = role == Role.GROUND
        self.ground_sum += np.bincount(idx, weights=np.where(g, z, 0.0), minlength=n)
        self.ground_count += np.bincount(idx, weights=g, minlength=n).astype(np.int64)
        np.maximum.at(self.veg_max, idx, np.where(role == Role.VEGETATION, z, -np.inf))
        first = np.flatnonzero(ret == 1)
        fi, fz = idx.take(first), z.take(first)
        np.maximum.at(self.first_max, fi, fz)
        a = self.geobox.affine
        self._first.append((
            fi.astype(np.int32 if n < 2**31 else np.int64),
            (x.take(first) - a.c).astype(np.float32),
            (a.f - y.take(first)).astype(np.float32),
            fz.astype(np.float32),
        ))

    def first_returns(self) -> FirstReturns:
        """The kept first returns of every chunk so far, concatenated (the buffer is released)."""
        parts = self._first
        self._first = []
        if not parts:
            e = np.empty(0, np.float32)
            return FirstReturns(np.empty(0, np.int32), e, e, e)
        return FirstReturns(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

    def grid(self, flat: np.ndarray) -> np.ndarray:
        """A flat per-cell array as (y, x)."""
        return flat.reshape(self.shape)
