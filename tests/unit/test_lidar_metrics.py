"""Area-based forest metrics per cell (sporbar.lidar.metrics) against numpy on known points."""

from __future__ import annotations

import numpy as np

from sporbar.lidar.metrics import canopy_metrics
from sporbar.lidar.surfaces import bilinear
from sporbar.lidar.tin import CellGrid
from sporbar.lidar_bands import canopy_names

PCTS = [10, 25, 50, 75, 90, 95]


def test_metrics_equal_numpy_on_a_sloping_tile() -> None:
    """Terrain z = 100 + 0.3 x on a 3 x 3 grid of 10 m: heights by the DTM interpolated at each point."""
    rng = np.random.default_rng(11)
    n = 8000
    # between the outer cell centres, where bilinear interpolation of a plane is exact
    x, y = rng.uniform(5, 25, n), rng.uniform(5, 25, n)
    terrain = 100 + 0.3 * x
    h_true = rng.gamma(4.0, 3.0, n) * (x > 10) - 0.5 * (x <= 10)  # no canopy in the left column
    empty = (x > 20) & (y < 10)  # one cell without any first return
    x, y, h_true, terrain = x[~empty], y[~empty], h_true[~empty], terrain[~empty]
    col, row = np.floor(x / 10).astype(int), np.floor((30 - y) / 10).astype(int)
    dtm = np.tile(100 + 0.3 * np.array([5.0, 15.0, 25.0]), (3, 1))  # cell-centre heights of the plane
    h = (terrain + h_true) - bilinear(dtm, CellGrid(0.0, 30.0, 10.0, (3, 3)), x, y)
    flat = canopy_metrics(row * 3 + col, h, 9, percentiles=PCTS, min_height=2.0)
    assert list(flat) == canopy_names({"metrics": {"percentiles": PCTS}})
    m = {k: v.reshape(3, 3) for k, v in flat.items()}
    for r in range(3):
        for c in range(3):
            cell = (row == r) & (col == c)
            if not cell.any():
                assert (r, c) == (2, 2) and all(np.isnan(m[k][r, c]) for k in m)
                continue
            hv = h_true[cell][h_true[cell] > 2.0]
            if c == 0:  # first returns, none above 2 m: height statistics and cover 0
                assert hv.size == 0 and all(m[k][r, c] == 0 for k in m)
                continue
            got = [m[f"h_p{p}"][r, c] for p in PCTS]
            np.testing.assert_allclose(got, np.percentile(hv, PCTS), atol=2e-3)
            np.testing.assert_allclose([m["h_max"][r, c], m["h_mean"][r, c], m["h_std"][r, c]],
                                       [hv.max(), hv.mean(), hv.std()], atol=2e-3)
            assert m["cover"][r, c] == hv.size / cell.sum()


def test_first_returns_without_terrain_give_nan_metrics_not_zero() -> None:
    """No ground under a cell (heights NaN): its metrics are unknown, not 'no canopy'; a known return counts."""
    cell = np.array([0, 0, 1, 1, 1])
    h = np.array([np.nan, np.nan, np.nan, 5.0, 1.0])
    m = canopy_metrics(cell, h, 2, percentiles=[50], min_height=2.0)
    assert all(np.isnan(m[k][0]) for k in m)
    assert m["cover"][1] == 0.5 and m["h_max"][1] == 5.0
