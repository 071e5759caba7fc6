"""Area-based forest metrics per grid cell from first returns, as in SR16 and national forest inventories.

Each kept first return is normalised to a height above the terrain at the point (the fine
DTM interpolated bilinearly there, :mod:`sporbar.lidar.surfaces`). Per cell, of the first returns more than
``min_height`` above the terrain (the canopy returns): height percentiles (numpy's linear
definition), the highest, mean and standard deviation (population); canopy cover is the
share of the first returns with a known terrain height that are canopy returns. A cell with such
first returns but no canopy return has 0 for the height statistics; a cell without any (no first
return, or no terrain under them: no ground points around) is NaN in every metric, not 0.

The heights are grouped by cell and sorted within each (:func:`sporbar.lidar.kernels.canopy_by_cell`,
compiled), then the statistics are index arithmetic over cells. The percentiles and the highest
are of heights rounded to the millimetre (the sort key); mean and standard deviation of the
heights as computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sporbar.lidar.kernels import canopy_by_cell
from sporbar.lidar_bands import canopy_names


def canopy_metrics(
    cell: np.ndarray,
    h: np.ndarray,
    size: int,
    *,
    percentiles: Sequence[int],
    min_height: float,
) -> dict[str, np.ndarray]:
    """The canopy metrics per cell (flat float64, :func:`sporbar.lidar_bands.canopy_names` order).

    Args:
        cell: flat cell index (0 .. size-1) of each kept first return; -1: outside the cells (left out).
        h: its height above the terrain, metres (NaN where the terrain is unknown: never canopy).
        size: number of cells.
        percentiles: height percentiles wanted (1..99).
        min_height: metres above the terrain a canopy return must exceed.
    """
    n_first, n, mm, total, squares = canopy_by_cell(np.asarray(cell, np.int64), np.asarray(h, np.float64), size,
                                                    float(min_height))
    ch = mm.astype(np.float64) / 1000.0
    start = np.cumsum(n) - n
    has = n > 0
    s, m = start[has], n[has]
    names = canopy_names({"metrics": {"percentiles": percentiles}})
    out: dict[str, np.ndarray] = {}
    for name, p in zip(names, sorted(int(p) for p in percentiles), strict=False):
        pos = p / 100.0 * (m - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, m - 1)
        out[name] = _cells(size, has, ch[s + lo] + (pos - lo) * (ch[s + hi] - ch[s + lo]))
    out["h_max"] = _cells(size, has, ch[s + m - 1])
    total, squares = total[has], squares[has]
    mean = total / m
    out["h_mean"] = _cells(size, has, mean)
    out["h_std"] = _cells(size, has, np.sqrt(np.maximum(squares / m - mean * mean, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cover"] = n / n_first
    no_first = n_first == 0
    return {k: np.where(no_first, np.nan, out[k]) for k in names}


def _cells(size: int, has: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A flat per-cell array: ``values`` where ``has``, 0 elsewhere."""
    out = np.zeros(size, np.float64)
    out[has] = values
    return out
