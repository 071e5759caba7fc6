"""Area-based forest metrics per grid cell from first returns, as in SR16 and national forest inventories.

Each kept first return is normalised to a height above the terrain at the point: its cell's
DTM plus the DTM's slope times the offset from the cell centre (:func:`terrain_at`; so a 10 m
cell on a slope does not bias the heights). Per cell, of the first returns more than
``min_height`` above the terrain (the canopy returns): height percentiles (numpy's linear
definition), the highest, mean and standard deviation (population); canopy cover is the
share of all first returns that are canopy returns. A cell with first returns but no canopy return has 0 for the height
statistics; a cell without any first return is NaN in every metric.

All per-cell work is vectorised: one sort by (cell, height), then index arithmetic. The
percentiles and the highest are of heights rounded to the millimetre (the sort key); mean
and standard deviation of the heights as computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from sporbar.lidar.grid import FirstReturns
from sporbar.lidar_bands import metric_names


def terrain_at(dtm: np.ndarray, first: FirstReturns, res: float) -> np.ndarray:
    """Terrain height (float32) at each first return: its cell's DTM plus the DTM slope times the offset.

    The slope of the DTM (NaN gaps filled from the nearest cell) is taken by central
    differences, so the terrain is exact on a plane, and a 10 m cell on a hillside does not
    bias the heights of the points at its upper and lower edges. Three gathers per point (the
    cell's height and two slopes): cheaper than bilinear interpolation's four corners.
    """
    valid = ~np.isnan(dtm)
    if not valid.any():
        return np.full(first.z.shape, np.nan, np.float32)
    if not valid.all():
        _, (ri, ci) = ndimage.distance_transform_edt(~valid, return_indices=True)
        dtm = dtm[ri, ci]
    ny, nx = dtm.shape
    d64 = dtm.astype(np.float64)
    # metres of rise per metre east (x) and per metre south (y, the row direction)
    dz_row, dz_col = np.gradient(d64, res) if min(ny, nx) > 1 else (np.zeros_like(d64), np.zeros_like(d64))
    cell = first.cell
    half = np.float32(res / 2)
    off_x = first.dx - (cell % nx).astype(np.float32) * np.float32(res) - half
    off_y = first.dy - (cell // nx).astype(np.float32) * np.float32(res) - half
    flat = dtm.astype(np.float32).ravel()
    out: np.ndarray = (flat[cell] + dz_col.astype(np.float32).ravel()[cell] * off_x
                       + dz_row.astype(np.float32).ravel()[cell] * off_y)
    return out


def canopy_metrics(
    first: FirstReturns,
    dtm: np.ndarray,
    res: float,
    *,
    percentiles: Sequence[int],
    min_height: float,
) -> dict[str, np.ndarray]:
    """The metric rasters (y, x) float32, by name (:func:`sporbar.lidar_bands.metric_names` order).

    Args:
        first: the kept first returns of the tile.
        dtm: the tile's DTM (y, x), NaN outside the coverage.
        res: cell size in metres.
        percentiles: height percentiles wanted (1..99).
        min_height: metres above the terrain a canopy return must exceed.
    """
    shape, size = dtm.shape, dtm.size
    h = first.z - terrain_at(dtm, first, res)
    n_first = np.bincount(first.cell, minlength=size)
    canopy = h > min_height  # NaN heights (no DTM anywhere) are never canopy
    cell, hc = first.cell[canopy], h[canopy].astype(np.float64)
    n = np.bincount(cell, minlength=size)
    ch = _sorted_by_cell(cell, hc)
    start = np.cumsum(n) - n
    has = n > 0
    s, m = start[has], n[has]
    names = metric_names({"metrics": {"percentiles": percentiles}})
    out: dict[str, np.ndarray] = {}
    for name, p in zip(names, sorted(int(p) for p in percentiles), strict=False):
        pos = p / 100.0 * (m - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, m - 1)
        out[name] = _cells(size, has, ch[s + lo] + (pos - lo) * (ch[s + hi] - ch[s + lo]))
    out["h_max"] = _cells(size, has, ch[s + m - 1])
    total = np.bincount(cell, weights=hc, minlength=size)[has]
    squares = np.bincount(cell, weights=hc * hc, minlength=size)[has]
    mean = total / m
    out["h_mean"] = _cells(size, has, mean)
    out["h_std"] = _cells(size, has, np.sqrt(np.maximum(squares / m - mean * mean, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cover"] = n / n_first
    no_first = n_first == 0
    return {k: np.where(no_first, np.nan, out[k]).reshape(shape).astype(np.float32) for k in names}


def _sorted_by_cell(cell: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Heights (all > 0) sorted by (cell, height), to the millimetre.

    One sort of int64 keys (cell in the high 32 bits, millimetres in the low) is several times
    faster than an argsort by two keys; lidar heights are not known to a millimetre anyway.
    """
    mm = np.rint(h * 1000.0).astype(np.int64)
    key = (cell.astype(np.int64) << 32) | mm
    key.sort()
    return (key & 0xFFFFFFFF).astype(np.float64) / 1000.0


def _cells(size: int, has: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A flat per-cell array: ``values`` where ``has``, 0 elsewhere."""
    out = np.zeros(size, np.float64)
    out[has] = values
    return out
