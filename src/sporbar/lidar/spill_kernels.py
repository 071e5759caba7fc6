"""The spill's compiled loops (:mod:`sporbar.lidar.spill`).

Per chunk of points: which are used, first returns and TIN candidates, and the records
written to each block.

Like :mod:`sporbar.lidar.kernels`, they do the numpy formulation's operations in the same order.
"""

from __future__ import annotations

import math

import numpy as np

from sporbar.lidar.jit import njit
from sporbar.lidar.kernels import ROLE_GROUND, ROLE_NOISE, ROLE_UNKNOWN, dense_span, sorts_before

#: :func:`spill_flags` bits
USED, FIRST, TIN = 1, 2, 4


@njit
def spill_flags(x: np.ndarray, y: np.ndarray, cls: np.ndarray, ret: np.ndarray, held: np.ndarray,
                roles: np.ndarray, box: np.ndarray, res: float, counts: np.ndarray, keep_withheld: bool,
                fine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass over a chunk's points for the spill: what each is, the tile's counts, the ground's fine cells.

    A point is used when its class role is neither noise nor unknown and it is not withheld (unless
    kept). Used points inside the tile (``minx <= x < maxx``, ``miny < y <= maxy``) are added to
    ``counts`` (rows, cols of ``res`` m from the top left, in place).

    Args:
        x: eastings in the grid CRS.
        y: northings.
        cls: class codes.
        ret: return numbers.
        held: withheld flags.
        roles: role of each class code (:meth:`sporbar.lidar.classes.PointClasses.roles`).
        box: the tile (minx, miny, maxx, maxy).
        res: the grid's cell size.
        counts: used points per grid cell (int64, updated).
        keep_withheld: withheld points are used.
        fine: the fine grid of the ground cells: left, top, cell size, columns.

    Returns:
        Flags per point (:data:`USED`, :data:`FIRST`: return number 1), the fine cell (row * columns +
        column) of each used ground point on the fine grid (-1 for the others and those left of, right
        of or above it), and counts inside the tile: noise, withheld, used and unknown-class points.
    """
    minx, miny, maxx, maxy = box[0], box[1], box[2], box[3]
    left, top, fres, fcols = fine[0], fine[1], fine[2], int(fine[3])
    ny, nx = counts.shape
    n = x.size
    flags = np.zeros(n, np.uint8)
    cell = np.full(n, -1, np.int64)
    stats = np.zeros(4, np.int64)
    for i in range(n):
        role = roles[cls[i]]
        inside = x[i] >= minx and x[i] < maxx and y[i] > miny and y[i] <= maxy
        used = role != ROLE_NOISE and role != ROLE_UNKNOWN
        if inside and role == ROLE_NOISE:
            stats[0] += 1
        elif inside and role == ROLE_UNKNOWN:
            stats[3] += 1
        if used and held[i] and not keep_withheld:
            if inside:
                stats[1] += 1
            used = False
        if ret[i] == 1:
            flags[i] = FIRST
        if not used:
            continue
        flags[i] |= USED
        if inside:
            stats[2] += 1
            col = min(math.floor((x[i] - minx) / res), nx - 1)
            row = min(math.floor((maxy - y[i]) / res), ny - 1)
            counts[row, col] += 1
        if role == ROLE_GROUND:
            col = math.floor((x[i] - left) / fres)
            row = math.floor((top - y[i]) / fres)
            if col >= 0 and col < fcols and row >= 0:
                cell[i] = row * fcols + col
    return flags, cell, stats


@njit
def mark_lowest(cell: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, flags: np.ndarray) -> bool:
    """Set :data:`TIN` in ``flags`` on the lowest point of each cell (``cell`` >= 0), as :func:`lowest_per_cell`.

    The lowest (z, x, y), the first on ties. Works on the cells' span in one array; returns False
    (nothing set) when the span is sparse (:func:`sporbar.lidar.kernels.dense_span`), for the caller to
    thin by sorting instead.
    """
    lo, hi, n = np.iinfo(np.int64).max, -1, 0
    for i in range(cell.size):
        if cell[i] >= 0:
            lo, hi, n = min(lo, cell[i]), max(hi, cell[i]), n + 1
    if n == 0:
        return True
    span = hi - lo + 1
    if not dense_span(span, n):
        return False
    best = np.full(span, -1, np.int64)
    for i in range(cell.size):
        if cell[i] < 0:
            continue
        c = cell[i] - lo
        b = best[c]
        if b < 0 or sorts_before(z[i], x[i], y[i], z[b], x[b], y[b]):
            best[c] = i
    for c in range(span):
        if best[c] >= 0:
            flags[best[c]] |= TIN
    return True


@njit
def millimetres(v: float) -> int:
    """``v`` metres in whole millimetres (halves to even): a point's spilled coordinate, the same in every tile."""
    return int(np.rint(v * 1000.0))


@njit
def _spilled(f: int) -> bool:
    """Whether a point with :func:`spill_flags`' flags (and :data:`TIN`) ``f`` is spilled: used, first or TIN."""
    return bool(f & USED) and bool(f & (FIRST | TIN))


@njit
def _span(down: float, buffer: float, size: float, count: float) -> tuple[int, int]:
    """The first and last block along one axis whose extent widened by ``buffer`` holds a point ``down`` metres in.

    Blocks ``clip(floor((down -/+ buffer) / size), 0, count - 1)``.
    """
    last = count - 1.0
    return (int(min(max(math.floor((down - buffer) / size), 0.0), last)),
            int(min(max(math.floor((down + buffer) / size), 0.0), last)))


@njit
def spill_records(flags: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray,
                  roles: np.ndarray, blocks: np.ndarray, origin: np.ndarray,
                  record: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The used first returns and TIN candidates of a chunk as spill records, grouped by block.

    A record holds x, y, z in whole millimetres (:func:`millimetres`), x and y from ``origin``.

    A point goes to every block whose extent, widened by the buffer, holds it (in the points' order
    within each block): block rows ``clip(floor((maxy - y -/+ buffer) / height), 0, rows - 1)`` times
    block columns ``clip(floor((x - minx -/+ buffer) / width), 0, cols - 1)``, numbered row by row.

    Args:
        flags: :func:`spill_flags`' flags with :data:`TIN` set on the TIN candidates.
        x: eastings.
        y: northings.
        z: heights.
        cls: class codes.
        roles: role of each class code.
        blocks: the blocks: the tile's top (maxy), buffer, block height, block rows, the tile's left (minx),
            block width, block columns.
        origin: x and y (whole millimetres) the records' x and y count from.
        record: an empty array of the record type (:data:`sporbar.lidar.spill.SPILLED`).

    Returns:
        The records, block after block, and where each block starts (count + 1 offsets).
    """
    maxy, buffer, height, rows = blocks[0], blocks[1], blocks[2], blocks[3]
    minx, width, cols = blocks[4], blocks[5], blocks[6]
    ncols = int(cols)
    count = int(rows) * ncols
    start = np.zeros(count + 1, np.int64)
    for i in range(x.size):
        if _spilled(flags[i]):
            r0, r1 = _span(maxy - y[i], buffer, height, rows)
            c0, c1 = _span(x[i] - minx, buffer, width, cols)
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    start[r * ncols + c + 1] += 1
    for b in range(count):
        start[b + 1] += start[b]
    fill = start[:count].copy()
    out = np.empty(start[count], record.dtype)
    for i in range(x.size):
        if not _spilled(flags[i]):
            continue
        r0, r1 = _span(maxy - y[i], buffer, height, rows)  # again: cheaper than keeping them per point
        c0, c1 = _span(x[i] - minx, buffer, width, cols)
        mx, my, mz = millimetres(x[i]) - origin[0], millimetres(y[i]) - origin[1], millimetres(z[i])
        role, first, tin = roles[cls[i]], 1 if flags[i] & FIRST else 0, 1 if flags[i] & TIN else 0
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                k = fill[r * ncols + c]
                fill[r * ncols + c] = k + 1
                out[k].x, out[k].y, out[k].z = mx, my, mz
                out[k].role, out[k].first, out[k].tin = role, first, tin
    return out, start
