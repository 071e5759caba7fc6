"""Linear interpolation in a Delaunay triangulation (TIN), rasterised at cell centres.

The triangulation is Shewchuk's Triangle (the ``triangle`` package: robust predicates,
about ten times faster than Qhull on lidar-sized sets); the rasteriser is vectorised over
triangles: each triangle tests the cell centres of its bounding box, all pairs at once,
so the cost is a few numpy passes over (triangle, cell) pairs, not a loop over triangles. A cell centre
inside a triangle gets the plane through its three vertices there (barycentric weights);
cells inside no triangle (outside the convex hull, or in a triangle longer than
``max_edge``) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: triangles whose box holds more candidate cells than this are rasterised one by one
_SMALL_BOX = 64
#: triangles rasterised at once (bounds the candidate pairs held)
_BLOCK = 500_000


@dataclass(frozen=True)
class CellGrid:
    """Cell centres of a north-up raster: left and top edges (m), cell size (m), (rows, cols)."""

    left: float
    top: float
    res: float
    shape: tuple[int, int]


def triangulate(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Delaunay triangles (m, 3) of the points, vertex indices into ``x``/``y``.

    Duplicate points are used once; fewer than three points, or all on a line, give none.
    """
    import triangle  # the compiled triangulator, imported where it is used

    if x.size < 3:
        return np.empty((0, 3), np.int64)
    out = triangle.triangulate({"vertices": np.column_stack([x, y]).astype(np.float64)}, "Qz")
    tri = out.get("triangles")
    return np.empty((0, 3), np.int64) if tri is None else np.asarray(tri, np.int64)


def rasterise(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    tri: np.ndarray,
    grid: CellGrid,
    *,
    max_edge: float | None = None,
) -> np.ndarray:
    """The TIN of (x, y, z) with triangles ``tri`` at the cell centres of ``grid`` (float64, NaN outside).

    Args:
        x: vertex eastings, metres.
        y: vertex northings, metres.
        z: vertex heights.
        tri: triangles (m, 3) from :func:`triangulate`.
        grid: the raster.
        max_edge: triangles with a longer edge (m) are left out (gaps stay NaN); None: all.
    """
    ny, nx = grid.shape
    out = np.full(ny * nx, np.nan)
    if tri.size == 0:
        return out.reshape(ny, nx)
    # vertices in cell units, cell centres on integers: u east, v south
    u = (x - grid.left) / grid.res - 0.5
    v = (grid.top - y) / grid.res - 0.5
    tu, tv = u[tri], v[tri]
    if max_edge is not None:
        lim = (max_edge / grid.res) ** 2
        e = [(tu[:, i] - tu[:, j]) ** 2 + (tv[:, i] - tv[:, j]) ** 2 for i, j in ((0, 1), (1, 2), (2, 0))]
        ok = (e[0] <= lim) & (e[1] <= lim) & (e[2] <= lim)
        tri, tu, tv = tri[ok], tu[ok], tv[ok]
    c0 = np.maximum(np.ceil(tu.min(1)), 0).astype(np.int64)
    c1 = np.minimum(np.floor(tu.max(1)), nx - 1).astype(np.int64)
    r0 = np.maximum(np.ceil(tv.min(1)), 0).astype(np.int64)
    r1 = np.minimum(np.floor(tv.max(1)), ny - 1).astype(np.int64)
    w, h = c1 - c0 + 1, r1 - r0 + 1
    has = (w > 0) & (h > 0)
    tz = z[tri]
    small = has & (w * h <= _SMALL_BOX)
    idx = np.flatnonzero(small)
    for b in range(0, idx.size, _BLOCK):  # every (triangle, candidate cell) pair of a block at once
        t = idx[b:b + _BLOCK]
        n = w[t] * h[t]
        rep = np.repeat(t, n)
        k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
        _fill(out, nx, rep, c0[rep] + k % w[rep], r0[rep] + k // w[rep], tu, tv, tz)
    for big in np.flatnonzero(has & ~small).tolist():
        cc, rr = np.meshgrid(np.arange(c0[big], c1[big] + 1), np.arange(r0[big], r1[big] + 1))
        _fill(out, nx, np.full(cc.size, big), cc.ravel(), rr.ravel(), tu, tv, tz)
    return out.reshape(ny, nx)


def _fill(out: np.ndarray, nx: int, t: np.ndarray, col: np.ndarray, row: np.ndarray,
          tu: np.ndarray, tv: np.ndarray, tz: np.ndarray) -> None:
    """Set the cells (row, col) that lie inside triangles ``t`` to the triangles' planes there."""
    ax, ay = tu[t, 0], tv[t, 0]
    bx, by = tu[t, 1] - ax, tv[t, 1] - ay
    cx, cy = tu[t, 2] - ax, tv[t, 2] - ay
    px, py = col - ax, row - ay
    det = bx * cy - by * cx
    with np.errstate(invalid="ignore", divide="ignore"):
        wb = (px * cy - py * cx) / det
        wc = (bx * py - by * px) / det
    wa = 1.0 - wb - wc
    eps = -1e-9
    inside = (wa >= eps) & (wb >= eps) & (wc >= eps) & (det != 0)
    if inside.any():
        s = np.flatnonzero(inside)
        ts = t[s]
        out[row[s] * nx + col[s]] = wa[s] * tz[ts, 0] + wb[s] * tz[ts, 1] + wc[s] * tz[ts, 2]
