"""The compiled lidar kernels give the bytes of the numpy formulations they replaced, and are cached on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sporbar.lidar import kernels
from sporbar.lidar.jit import first_writable
from sporbar.lidar.surfaces import MIN_NEIGHBOURS, bilinear, fill_gaps, pit_free_chm
from sporbar.lidar.tin import CellGrid, lowest_per_cell, rasterise, triangulate

RNG = np.random.default_rng(16)


def _raster_numpy(x: np.ndarray, y: np.ndarray, z: np.ndarray, tri: np.ndarray, grid: CellGrid) -> np.ndarray:
    """The vectorised rasteriser the kernel replaced: triangles by box shape, all candidate cells broadcast."""
    ny, nx = grid.shape
    out = np.full(ny * nx, np.nan)
    u = (x - grid.left) / grid.res - 0.5
    v = (grid.top - y) / grid.res - 0.5
    tu, tv, tz = u[tri.T], v[tri.T], z[tri.T]
    c0 = np.maximum(np.ceil(tu.min(0)), 0).astype(np.int64)
    c1 = np.minimum(np.floor(tu.max(0)), nx - 1).astype(np.int64)
    r0 = np.maximum(np.ceil(tv.min(0)), 0).astype(np.int64)
    r1 = np.minimum(np.floor(tv.max(0)), ny - 1).astype(np.int64)
    w, h = c1 - c0 + 1, r1 - r0 + 1
    has = np.flatnonzero((w > 0) & (h > 0))
    key = np.minimum(h[has], 9) * 10 + np.minimum(w[has], 9)
    for t in has[np.argsort(key, kind="stable")]:
        dc, dr = np.meshgrid(np.arange(w[t]), np.arange(h[t]))
        col, row = (c0[t] + dc).ravel(), (r0[t] + dr).ravel()
        bx, by, dzb = tu[1, t] - tu[0, t], tv[1, t] - tv[0, t], tz[1, t] - tz[0, t]
        cx, cy, dzc = tu[2, t] - tu[0, t], tv[2, t] - tv[0, t], tz[2, t] - tz[0, t]
        det = bx * cy - by * cx
        if det == 0:
            continue
        inv = 1.0 / det
        px, py = col - tu[0, t], row - tv[0, t]
        wb, wc = (px * cy - py * cx) * inv, (bx * py - by * px) * inv
        inside = (wb >= -1e-9) & (wc >= -1e-9) & (1.0 - wb - wc >= -1e-9)
        out[row[inside] * nx + col[inside]] = (tz[0, t] + wb * dzb + wc * dzc)[inside]
    return out.reshape(ny, nx)


def _fill_gaps_numpy(a: np.ndarray, floor: float = -np.inf) -> np.ndarray:
    ny, nx = a.shape
    valid = a >= floor
    p, pv = np.pad(np.where(valid, a, 0.0), 1), np.pad(valid, 1).astype(np.int8)
    total, count = np.zeros(a.shape), np.zeros(a.shape, np.int8)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            if (dr, dc) != (1, 1):
                total += p[dr:dr + ny, dc:dc + nx]
                count += pv[dr:dr + ny, dc:dc + nx]
    out = np.where(valid, a, np.nan)
    gap = ~valid & (count >= MIN_NEIGHBOURS)
    out[gap] = total[gap] / count[gap]
    return out


def test_tin_raster_equals_the_vectorised_rasteriser_bit_for_bit() -> None:
    # points on a lattice with jitter, so cells fall on shared edges and vertices, and a few long hull triangles
    n = 400
    x = np.concatenate([np.repeat(np.arange(20.0), 20) + RNG.integers(0, 3, n) * 0.25, RNG.random(n) * 20])
    y = np.concatenate([np.tile(np.arange(20.0), 20) + RNG.integers(0, 3, n) * 0.25, RNG.random(n) * 20])
    z = RNG.random(x.size) * 10
    grid = CellGrid(-0.3, 20.7, 0.5, (44, 46))
    tri = triangulate(x, y)
    got, want = rasterise(x, y, z, tri, grid), _raster_numpy(x, y, z, tri, grid)
    assert np.isfinite(got).sum() > 1000
    assert got.tobytes() == want.tobytes()
    # a long-edge limit leaves the long triangles' cells out
    short = rasterise(x, y, z, tri, grid, max_edge=1.0)
    assert np.isnan(short).sum() > np.isnan(got).sum()
    # the same planes elsewhere (a cell on an edge may take the other triangle's value: last bits)
    assert np.allclose(short[np.isfinite(short)], got[np.isfinite(short)], rtol=0, atol=1e-9)


def test_lowest_per_cell_equals_a_lexicographic_sort() -> None:
    cell = RNG.integers(0, 50, 2000)
    x, y, z = (RNG.integers(0, 3, cell.size).astype(float) for _ in range(3))  # many ties
    order = np.lexsort((np.arange(cell.size), y, x, z, cell))
    first = np.r_[True, np.diff(cell[order]) != 0]
    assert np.array_equal(lowest_per_cell(cell, x, y, z), order[first])
    # sparse cell numbers (a chunk strewn over a wide tile) choose the same points
    assert np.array_equal(lowest_per_cell(cell * 10**9, x, y, z), order[first])


def test_gap_filling_and_pit_free_chm_equal_their_numpy_formulations() -> None:
    a = np.where(RNG.random((60, 70)) < 0.35, np.nan, RNG.random((60, 70)) * 30)
    assert fill_gaps(a).tobytes() == _fill_gaps_numpy(a).tobytes()
    thresholds = [10.0, 0.0, 20.0, 5.0, 99.0]
    want = np.full(a.shape, np.nan)
    for t in sorted(thresholds)[:-1]:  # 99 m: no cell reaches it, the stack ends
        want = np.fmax(want, _fill_gaps_numpy(a, t))
    assert pit_free_chm(a, thresholds).tobytes() == want.tobytes()


def test_bilinear_and_cell_sort_equal_their_numpy_formulations() -> None:
    grid = CellGrid(100.0, 200.0, 2.0, (30, 40))
    values = RNG.random(grid.shape) * 50
    x, y = 95 + RNG.random(5000) * 90, 105 + RNG.random(5000) * 100  # some beyond the edges
    u, v = (x - grid.left) / grid.res - 0.5, (grid.top - y) / grid.res - 0.5
    c, r = np.clip(np.floor(u), 0, 38), np.clip(np.floor(v), 0, 28)
    fu, fv = np.clip(u - c, 0, 1), np.clip(v - r, 0, 1)
    i = (r * 40 + c).astype(np.intp)
    f = values.ravel()
    want = (f[i] * (1 - fu) + f[i + 1] * fu) * (1 - fv) + (f[i + 40] * (1 - fu) + f[i + 41] * fu) * fv
    assert bilinear(values, grid, x, y).tobytes() == want.tobytes()
    cell, mm = RNG.integers(0, 300, 20000), RNG.integers(0, 40000, 20000)
    n, ordered = kernels.sorted_by_cell(cell, mm, 400)
    assert np.array_equal(n, np.bincount(cell, minlength=400))
    assert np.array_equal(ordered, np.sort((cell << 32) | mm) & 0xFFFFFFFF)


def test_the_first_writable_cache_folder_is_chosen(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    assert first_writable([blocked / "cache", tmp_path / "ok"]) == tmp_path / "ok"
    assert (tmp_path / "ok").is_dir()
    assert first_writable([blocked / "cache"]) is None


@pytest.mark.timeout(300)
def test_kernels_are_compiled_once_and_loaded_from_the_cache(tmp_path: Path) -> None:
    code = ("import numpy as np; from sporbar.lidar import kernels as k; "
            "k.cell_max(np.zeros(3, np.int64), np.ones(3), 2); s = k.cell_max.stats; "
            "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["0", "1"], ["1", "0"]]
    assert any(tmp_path.rglob("*.nbi"))
