"""The lidar stage's per-point and per-cell loops, compiled (:mod:`sporbar.lidar.jit`).

Each kernel is one pass over its points, triangles or cells where numpy needed several passes
and temporaries. They do the same floating-point operations in the same order as the numpy
formulations they replaced (documented in the callers), so the products keep their bytes.
"""

from __future__ import annotations

import math

import numpy as np

from sporbar.lidar.jit import njit

#: a cell centre this far (in barycentric weight) outside a triangle still counts as inside
_EPS = -1e-9
#: triangle box sides in cells are capped at this + 1 in the drawing order's key
_MAX_BOX = 8


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
        if b < 0 or z[i] < z[b] or (z[i] == z[b] and (x[i] < x[b] or (x[i] == x[b] and y[i] < y[b]))):
            best[c] = i
    return best[best >= 0]


@njit
def tin_raster(u: np.ndarray, v: np.ndarray, z: np.ndarray, tri: np.ndarray, ny: int, nx: int,
               limit: float) -> np.ndarray:
    """The TIN at the cell centres of an (ny, nx) raster, flat float64, NaN outside every triangle.

    Vertices are in cell units with cell centres on integers (u east, v south). A cell centre
    inside a triangle (barycentric weights >= -1e-9) gets the plane through its vertices there.
    Triangles are drawn ordered (stably) by the shape of their box in cells, h * 10 + w with h and
    w capped at 9, as the vectorised rasteriser before this kernel grouped them: a cell on an edge
    shared by two triangles takes the later one's value, so the order keeps those cells' bytes.

    Args:
        u: vertex columns.
        v: vertex rows.
        z: vertex heights.
        tri: triangles (m, 3), vertex indices.
        ny: rows.
        nx: columns.
        limit: triangles with a squared edge longer than this (cells^2) are left out; < 0: none.
    """
    out = np.full(ny * nx, np.nan)
    m = tri.shape[0]
    c0 = np.empty(m, np.int64)
    r0 = np.empty(m, np.int64)
    w = np.empty(m, np.int64)
    h = np.empty(m, np.int64)
    key = np.full(m, -1, np.int64)
    groups = (_MAX_BOX + 2) * (_MAX_BOX + 2)
    count = np.zeros(groups + 1, np.int64)
    for t in range(m):
        u0, u1, u2 = u[tri[t, 0]], u[tri[t, 1]], u[tri[t, 2]]
        v0, v1, v2 = v[tri[t, 0]], v[tri[t, 1]], v[tri[t, 2]]
        if limit >= 0 and ((u0 - u1) ** 2 + (v0 - v1) ** 2 > limit or (u1 - u2) ** 2 + (v1 - v2) ** 2 > limit
                           or (u2 - u0) ** 2 + (v2 - v0) ** 2 > limit):
            continue
        c0[t] = int(max(np.ceil(min(min(u0, u1), u2)), 0.0))
        c1 = int(min(np.floor(max(max(u0, u1), u2)), nx - 1.0))
        r0[t] = int(max(np.ceil(min(min(v0, v1), v2)), 0.0))
        r1 = int(min(np.floor(max(max(v0, v1), v2)), ny - 1.0))
        w[t], h[t] = c1 - c0[t] + 1, r1 - r0[t] + 1
        if w[t] > 0 and h[t] > 0:
            key[t] = min(h[t], _MAX_BOX + 1) * (_MAX_BOX + 2) + min(w[t], _MAX_BOX + 1)
            count[key[t] + 1] += 1
    start = np.cumsum(count)  # first slot of each shape in the drawing order
    order = np.empty(start[-1], np.int64)
    for t in range(m):
        if key[t] >= 0:
            order[start[key[t]]] = t
            start[key[t]] += 1
    for t in order:
        a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
        ax, ay, za = u[a], v[a], z[a]
        bx, by, dzb = u[b] - u[a], v[b] - v[a], z[b] - z[a]
        cx, cy, dzc = u[c] - u[a], v[c] - v[a], z[c] - z[a]
        det = bx * cy - by * cx
        if det == 0:  # degenerate: no cell inside
            continue
        inv = 1.0 / det
        for row in range(r0[t], r0[t] + h[t]):
            py = row - ay
            for col in range(c0[t], c0[t] + w[t]):
                px = col - ax
                wb = (px * cy - py * cx) * inv
                wc = (bx * py - by * px) * inv
                if wb >= _EPS and wc >= _EPS and 1.0 - wb - wc >= _EPS:
                    out[row * nx + col] = za + wb * dzb + wc * dzc
    return out


@njit
def cell_max(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Highest of ``values`` per cell ``index`` (0..size-1), NaN where none."""
    out = np.full(size, -np.inf)
    for i in range(index.size):
        if values[i] > out[index[i]]:
            out[index[i]] = values[i]
    for c in range(size):
        if out[c] == -np.inf:
            out[c] = np.nan
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
    right, down = (1 if nx > 1 else 0), (nx if ny > 1 else 0)
    cmax, rmax = float(max(nx - 2, 0)), float(max(ny - 2, 0))
    for k in range(u.size):
        c = min(max(math.floor(u[k]), 0.0), cmax)
        r = min(max(math.floor(v[k]), 0.0), rmax)
        fu = min(max(u[k] - c, 0.0), 1.0)
        fv = min(max(v[k] - r, 0.0), 1.0)
        i = int(r) * nx + int(c)
        top = flat[i] * (1 - fu) + flat[i + right] * fu
        bottom = flat[i + down] * (1 - fu) + flat[i + down + right] * fu
        out[k] = top * (1 - fv) + bottom * fv
    return out


@njit
def sorted_by_cell(cell: np.ndarray, mm: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``mm`` (non-negative integers) grouped by ``cell`` (0..size-1), ascending in each cell.

    Returns:
        The number of values per cell and the values, cell after cell.
    """
    n = np.zeros(size, np.int64)
    for i in range(cell.size):
        n[cell[i]] += 1
    start = np.cumsum(n) - n
    fill = start.copy()
    out = np.empty(cell.size, np.int64)
    for i in range(cell.size):
        out[fill[cell[i]]] = mm[i]
        fill[cell[i]] += 1
    for c in range(size):
        if n[c] > 1:
            out[start[c]:start[c] + n[c]] = np.sort(out[start[c]:start[c] + n[c]])
    return n, out
