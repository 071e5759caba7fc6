"""The lidar stage's per-point and per-cell loops, compiled (:mod:`sporbar.lidar.jit`).

Each kernel is one pass over its points, triangles or cells where numpy needed several passes
and temporaries. They do the same floating-point operations in the same order as the numpy
formulations they replaced (documented in the callers), so the products keep their bytes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sporbar.lidar.classes import Role
from sporbar.lidar.jit import njit

#: a cell centre this far (in barycentric weight) outside a triangle still counts as inside
_EPS = -1e-9
#: :class:`sporbar.lidar.classes.Role` values, as plain integers for the kernels
ROLE_UNKNOWN, ROLE_NOISE = int(Role.UNKNOWN), int(Role.NOISE)
ROLE_GROUND, ROLE_VEGETATION = int(Role.GROUND), int(Role.VEGETATION)


@njit
def dense_span(span: int, n: int) -> bool:
    """Whether ``n`` points in cells numbered over ``span`` are thinned in one array of the span (else by sorting)."""
    return span <= 8 * n + (1 << 20)


@njit
def lowest_in_cells(ids: np.ndarray, n: int, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Index of the point of lowest (z, x, y), the first on ties, in each of the cells 0..n-1 that has points.

    Args:
        ids: the cell (0..n-1) of each point.
        n: number of cells.
        x: eastings.
        y: northings.
        z: heights.

    Returns:
        Point indices (int64), one per cell with points, in cell order.
    """
    best = np.full(n, -1, np.int64)
    for i in range(ids.size):
        c = ids[i]
        b = best[c]
        if b < 0 or sorts_before(z[i], x[i], y[i], z[b], x[b], y[b]):
            best[c] = i
    return best[best >= 0]


@njit
def sorts_before(z: float, x: float, y: float, bz: float, bx: float, by: float) -> bool:
    """Whether (z, x, y) sorts before (bz, bx, by)."""
    return z < bz or (z == bz and (x < bx or (x == bx and y < by)))


@njit
def tin_raster(u: np.ndarray, v: np.ndarray, z: np.ndarray, tri: np.ndarray, ny: int, nx: int,
               limit: float) -> np.ndarray:
    """The TIN at the cell centres of an (ny, nx) raster, flat float64, NaN outside every triangle.

    Vertices are in cell units with cell centres on integers (u east, v south). A cell centre
    inside a triangle (barycentric weights >= -1e-9) gets the plane through its vertices there;
    triangles are drawn in their order, so a cell on an edge shared by two takes the later one's
    value (the two planes agree there up to rounding).

    Args:
        u: vertex columns.
        v: vertex rows.
        z: vertex heights.
        tri: triangles (m, 3), vertex indices.
        ny: rows.
        nx: columns.
        limit: triangles whose circumcircle's squared diameter is larger than this (cells^2) are left
            out; < 0: none.
    """
    out = np.full(ny * nx, np.nan)
    for t in range(tri.shape[0]):
        a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
        ax, ay, za = u[a], v[a], z[a]
        bx, by, dzb = u[b] - ax, v[b] - ay, z[b] - za
        cx, cy, dzc = u[c] - ax, v[c] - ay, z[c] - za
        det = bx * cy - by * cx
        if det == 0:  # degenerate: no cell inside
            continue
        # (2R)^2 = a^2 b^2 c^2 / det^2, det twice the area
        if limit >= 0 and (bx * bx + by * by) * (cx * cx + cy * cy) * ((cx - bx) ** 2 + (cy - by) ** 2) > (
                limit * det * det):
            continue
        c0 = int(max(np.ceil(min(min(ax, u[b]), u[c])), 0.0))
        c1 = int(min(np.floor(max(max(ax, u[b]), u[c])), nx - 1.0))
        r0 = int(max(np.ceil(min(min(ay, v[b]), v[c])), 0.0))
        r1 = int(min(np.floor(max(max(ay, v[b]), v[c])), ny - 1.0))
        inv = 1.0 / det
        for row in range(r0, r1 + 1):
            py = row - ay
            for col in range(c0, c1 + 1):
                px = col - ax
                wb = (px * cy - py * cx) * inv
                wc = (bx * py - by * px) * inv
                if wb >= _EPS and wc >= _EPS and 1.0 - wb - wc >= _EPS:
                    out[row * nx + col] = za + wb * dzb + wc * dzc
    return out


@njit
def fill_gaps(a: np.ndarray, min_neighbours: int) -> np.ndarray:
    """``a`` (y, x) with each NaN cell with at least ``min_neighbours`` valid of 8 neighbours set to their mean."""
    ny, nx = a.shape
    out = a.copy()
    for r in range(ny):
        for c in range(nx):
            if not np.isnan(a[r, c]):
                continue
            total, n = _neighbours(a, r, c, -np.inf)
            if n >= min_neighbours:
                out[r, c] = total / n
    return out


@njit
def pit_free(highest: np.ndarray, thresholds: np.ndarray, min_neighbours: int) -> np.ndarray:
    """The highest of the gap-filled partial canopy models of ``highest`` (y, x), NaN where none has a value.

    For each threshold t (ascending) the partial model keeps the cells of ``highest`` >= t and fills
    the gaps as :func:`fill_gaps`; thresholds above every cell end the stack.
    """
    ny, nx = highest.shape
    chm = np.full((ny, nx), np.nan)
    for t in thresholds:
        if not np.any(highest >= t):
            break
        for r in range(ny):
            for c in range(nx):
                if highest[r, c] >= t:
                    value = highest[r, c]
                else:
                    total, n = _neighbours(highest, r, c, t)
                    if n < min_neighbours:
                        continue
                    value = total / n
                if not (chm[r, c] >= value):  # numpy's fmax: the current value when at least as high
                    chm[r, c] = value
    return chm


@njit
def _neighbours(a: np.ndarray, r: int, c: int, floor: float) -> tuple[float, int]:
    """Sum and number of the 8 neighbours of (r, c) that are at least ``floor`` (NaN never), row by row."""
    ny, nx = a.shape
    total, n = 0.0, 0
    for rr in range(r - 1, r + 2):
        for cc in range(c - 1, c + 2):
            if (rr == r and cc == c) or rr < 0 or rr >= ny or cc < 0 or cc >= nx:
                continue
            if a[rr, cc] >= floor:
                total += a[rr, cc]
                n += 1
    return total, n


@njit
def bilinear(flat: np.ndarray, ny: int, nx: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Raster ``flat`` (ny * nx) interpolated bilinearly at (u, v) in cell units (cell centres on integers)."""
    out = np.empty(u.size)
    for k in range(u.size):
        out[k] = _bilinear_at(flat, ny, nx, u[k], v[k])
    return out


@njit
def _bilinear_at(flat: np.ndarray, ny: int, nx: int, u: float, v: float) -> float:
    """Raster ``flat`` (ny * nx) interpolated bilinearly at (u, v), the edge cells' values beyond the outer centres."""
    right, down = (1 if nx > 1 else 0), (nx if ny > 1 else 0)
    c = min(max(math.floor(u), 0.0), float(max(nx - 2, 0)))
    r = min(max(math.floor(v), 0.0), float(max(ny - 2, 0)))
    fu = min(max(u - c, 0.0), 1.0)
    fv = min(max(v - r, 0.0), 1.0)
    i = int(r) * nx + int(c)
    top = flat[i] * (1 - fu) + flat[i + right] * fu
    bottom = flat[i + down] * (1 - fu) + flat[i + down + right] * fu
    return float(top * (1 - fv) + bottom * fv)


@njit
def canopy_by_cell(cell: np.ndarray, h: np.ndarray, size: int,
                   min_height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first returns of each cell and their canopy returns' heights grouped by cell, ascending in each.

    Args:
        cell: the cell (0..size-1) of each first return; < 0: in none.
        h: its height above the terrain (NaN where unknown).
        size: number of cells.
        min_height: a canopy return is higher than this.

    Returns:
        Per cell the first returns of known height and the canopy returns; the canopy heights in
        millimetres (rounded half to even), cell after cell, ascending in each; per cell the sum
        of the canopy heights and of their squares (summed in the points' order).
    """
    n_first = np.zeros(size, np.int64)
    n = np.zeros(size, np.int64)
    total = np.zeros(size)
    squares = np.zeros(size)
    for i in range(cell.size):
        c = cell[i]
        if c < 0:
            continue
        if np.isfinite(h[i]):
            n_first[c] += 1
        if h[i] > min_height:  # never NaN
            n[c] += 1
            total[c] += h[i]
            squares[c] += h[i] * h[i]
    start = np.cumsum(n) - n
    fill = start.copy()
    out = np.empty(n.sum(), np.int64)
    for i in range(cell.size):
        c = cell[i]
        if c >= 0 and h[i] > min_height:
            out[fill[c]] = np.int64(np.rint(h[i] * 1000.0))
            fill[c] += 1
    for c in range(size):
        if n[c] > 1:
            out[start[c]:start[c] + n[c]] = np.sort(out[start[c]:start[c] + n[c]])
    return n_first, n, out, total, squares


@njit
def tin_vertices(points: np.ndarray, origin: np.ndarray, left: float, top: float, res: float, ny: int,
                 nx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The TIN candidates of a block's records (``tin`` 1) thinned to the lowest per cell of a grid, in cell order.

    The choice is :func:`lowest_in_cells`' (lowest z, then x, then y, then the first), among the
    candidates inside the (ny, nx) grid of ``res`` m cells from (``left``, ``top``).

    Args:
        points: the block's records (:data:`sporbar.lidar.spill.SPILLED`).
        origin: the millimetres their x and y count from (float64).
        left: the grid's left edge.
        top: its top edge.
        res: its cell size.
        ny: its rows.
        nx: its columns.

    Returns:
        x, y, z (metres) of the chosen points.
    """
    best = np.full(ny * nx, -1, np.int64)
    for i in range(points.size):
        p = points[i]
        if p.tin != 1:
            continue
        px, py, _ = _metres(p, origin)
        col = math.floor((px - left) / res)
        row = math.floor((top - py) / res)
        if col < 0 or col >= nx or row < 0 or row >= ny:
            continue
        c = row * nx + col
        b = best[c]
        # whole millimetres from one origin: ordered as the metres they stand for
        if b < 0 or sorts_before(p.z, p.x, p.y, points[b].z, points[b].x, points[b].y):
            best[c] = i
    chosen = best[best >= 0]
    x, y, z = np.empty(chosen.size), np.empty(chosen.size), np.empty(chosen.size)
    for k in range(chosen.size):
        x[k], y[k], z[k] = _metres(points[chosen[k]], origin)
    return x, y, z


@njit
def _metres(p: Any, origin: np.ndarray) -> tuple[float, float, float]:
    """x, y, z in metres of a spilled record: its millimetres (x, y from ``origin``) over 1000."""
    return (p.x + origin[0]) / 1000.0, (p.y + origin[1]) / 1000.0, p.z / 1000.0


@njit
def first_returns(points: np.ndarray, origin: np.ndarray, dtm: np.ndarray, left: float, top: float, res: float,
                  cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pass over a block's first returns (records with ``first`` 1) on the grid of its (ny, nx) ``dtm``.

    Args:
        points: the block's records (:data:`sporbar.lidar.spill.SPILLED`).
        origin: the millimetres their x and y count from (float64).
        dtm: the fine DTM (ny, nx), NaN where unknown.
        left: the grid's left edge.
        top: its top edge.
        res: its cell size.
        cells: a second grid the first returns are placed on (the metrics'): left, top, cell size, rows, columns.

    Returns:
        The first returns' cells on ``cells`` (flat; -1 outside it); their heights above the DTM
        (bilinear at the point, as :func:`bilinear`; NaN where unknown); per cell (flat, NaN where
        none) the highest first return, and the highest height above the DTM (at least 0) of the
        vegetation and ground classes' first returns.
    """
    ny, nx = dtm.shape
    flat = dtm.ravel()
    cleft, ctop, cres, cny, cnx = cells[0], cells[1], cells[2], int(cells[3]), int(cells[4])
    cell = np.empty(points.size, np.int64)  # room for every record: one pass, cut to the first returns below
    height = np.empty(points.size)
    dsm = np.full(ny * nx, -np.inf)
    canopy = np.full(ny * nx, -np.inf)
    k = 0
    for i in range(points.size):
        p = points[i]
        if p.first != 1:
            continue
        x, y, z = _metres(p, origin)
        u, v = (x - left) / res, (top - y) / res
        h = z - _bilinear_at(flat, ny, nx, u - 0.5, v - 0.5)
        ccol, crow = math.floor((x - cleft) / cres), math.floor((ctop - y) / cres)
        cell[k] = crow * cnx + ccol if 0 <= ccol < cnx and 0 <= crow < cny else -1
        height[k] = h
        k += 1
        col, row = math.floor(u), math.floor(v)
        if col < 0 or col >= nx or row < 0 or row >= ny:
            continue
        c = row * nx + col
        if z > dsm[c]:
            dsm[c] = z
        if np.isfinite(h) and (p.role == ROLE_VEGETATION or p.role == ROLE_GROUND) and max(h, 0.0) > canopy[c]:
            canopy[c] = max(h, 0.0)
    for c in range(ny * nx):
        if dsm[c] == -np.inf:
            dsm[c] = np.nan
        if canopy[c] == -np.inf:
            canopy[c] = np.nan
    return cell[:k], height[:k], dsm, canopy


@njit
def scaled_in_box(xi: np.ndarray, yi: np.ndarray, zi: np.ndarray, scale: np.ndarray, offset: np.ndarray,
                  box: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The points of a chunk with ``minx <= x < maxx`` and ``miny < y <= maxy``, scaled, in one pass.

    Args:
        xi: the LAS record's integer X.
        yi: its Y.
        zi: its Z.
        scale: the header's x, y, z scales.
        offset: its x, y, z offsets.
        box: minx, miny, maxx, maxy.

    Returns:
        x, y, z (``value * scale + offset``, as laspy scales them) of the points inside, and their
        indices in the chunk.
    """
    n = xi.size
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    index = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        px = xi[i] * scale[0] + offset[0]
        py = yi[i] * scale[1] + offset[1]
        if px >= box[0] and px < box[2] and py > box[1] and py <= box[3]:
            x[k], y[k], z[k] = px, py, zi[i] * scale[2] + offset[2]
            index[k] = i
            k += 1
    return x[:k], y[:k], z[:k], index[:k]


@njit
def block_reduce(a: np.ndarray, k: int, highest: bool) -> np.ndarray:
    """``a`` (y, x) over k x k blocks: the mean of the valid cells, or the highest; NaN where none is valid.

    The cells of a block are taken row by row (the mean's sum in that order).
    """
    ny, nx = a.shape[0] // k, a.shape[1] // k
    out = np.empty((ny, nx))
    for r in range(ny):
        for c in range(nx):
            total, n, top = 0.0, 0, -np.inf
            for rr in range(r * k, r * k + k):
                for cc in range(c * k, c * k + k):
                    v = a[rr, cc]
                    if not np.isnan(v):
                        n += 1
                        total += v
                        top = max(top, v)
            out[r, c] = np.nan if n == 0 else (top if highest else total / n)
    return out
