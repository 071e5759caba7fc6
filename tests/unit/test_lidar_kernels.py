"""The compiled lidar kernels give the bytes of the numpy formulations they replaced, and are cached on disk."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sporbar.lidar import kernels, spill_kernels
from sporbar.lidar.classes import PointClasses, Role
from sporbar.lidar.jit import first_writable
from sporbar.lidar.read import Points
from sporbar.lidar.spill import SPILLED, BlockSpill, metres
from sporbar.lidar.surfaces import MIN_NEIGHBOURS, bilinear, block_reduce, fill_gaps, fine_surfaces, pit_free_chm
from sporbar.lidar.tin import CellGrid, lowest_per_cell, rasterise, triangulate

RNG = np.random.default_rng(16)


def _raster_numpy(x: np.ndarray, y: np.ndarray, z: np.ndarray, tri: np.ndarray, grid: CellGrid) -> np.ndarray:
    """The rasteriser in numpy: triangles in order, all candidate cells of each broadcast."""
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
    for t in has:
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


def test_tin_raster_equals_the_numpy_rasteriser_bit_for_bit() -> None:
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
    # a circumcircle limit leaves the wide triangles' cells out
    short = rasterise(x, y, z, tri, grid, max_circle=1.5)
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


def test_bilinear_equals_its_numpy_formulation() -> None:
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


def test_canopy_by_cell_equals_its_numpy_formulation() -> None:
    cell = np.where(RNG.random(20000) < 0.1, -1, RNG.integers(0, 300, 20000))  # -1: outside the cells
    h = np.where(RNG.random(cell.size) < 0.05, np.nan, RNG.random(cell.size) * 40 - 5)
    n_first, n, mm, total, squares = kernels.canopy_by_cell(cell, h, 400, 2.0)
    inside = cell >= 0
    c, hh = cell[inside], h[inside]
    assert np.array_equal(n_first, np.bincount(c[np.isfinite(hh)], minlength=400))
    canopy = hh > 2.0
    c, hc = c[canopy], hh[canopy]
    assert np.array_equal(n, np.bincount(c, minlength=400))
    want = np.rint(hc * 1000.0).astype(np.int64)
    assert np.array_equal(mm, want[np.lexsort((want, c))])
    assert total.tobytes() == np.bincount(c, weights=hc, minlength=400).tobytes()
    assert squares.tobytes() == np.bincount(c, weights=hc * hc, minlength=400).tobytes()


def _spill_numpy(spill: BlockSpill, pts: Points) -> tuple[dict[int, bytes], dict[str, Any]]:
    """What the numpy spill wrote for one chunk: bytes per block, and the counts (its code, before the kernels)."""
    minx, miny, maxx, maxy = spill.bbox
    roles = spill.classes.roles()
    role = roles[pts.classification]
    inside = (pts.x >= minx) & (pts.x < maxx) & (pts.y > miny) & (pts.y <= maxy)
    used = (role != Role.NOISE) & (role != Role.UNKNOWN)
    noise = int(np.count_nonzero(inside & (role == Role.NOISE)))
    withheld = 0
    if not spill.classes.keep_withheld:
        withheld = int(np.count_nonzero(used & pts.withheld & inside))
        used &= ~pts.withheld
    unknown = np.unique(pts.classification[inside & (role == Role.UNKNOWN)], return_counts=True)
    counted = np.flatnonzero(used & inside)
    ny, nx = spill.counts.shape
    col = np.minimum(np.floor((pts.x[counted] - minx) / spill.res).astype(np.int64), nx - 1)
    row = np.minimum(np.floor((maxy - pts.y[counted]) / spill.res).astype(np.int64), ny - 1)
    counts = np.bincount(row * nx + col, minlength=ny * nx).reshape(ny, nx)
    first = pts.return_number == 1
    sel = np.flatnonzero(used & (role == Role.GROUND))
    pad = math.ceil(spill.buffer / spill.fine_res) * spill.fine_res
    cols = math.ceil((maxx - minx + 2 * pad) / spill.fine_res) + 2
    gcol = np.floor((pts.x[sel] - (minx - pad)) / spill.fine_res).astype(np.int64)
    grow = np.floor(((maxy + pad) - pts.y[sel]) / spill.fine_res).astype(np.int64)
    ok = (gcol >= 0) & (gcol < cols) & (grow >= 0)
    sel, gcol, grow = sel[ok], gcol[ok], grow[ok]
    tin = np.zeros(len(pts), bool)
    tin[sel[lowest_per_cell(grow * cols + gcol, pts.x[sel], pts.y[sel], pts.z[sel])]] = True
    sel = np.flatnonzero(used & (first | tin))
    rec = np.empty(sel.size, SPILLED)
    mm = {k: np.rint(getattr(pts, k)[sel] * 1000.0).astype(np.int64) for k in "xyz"}
    rec["x"], rec["y"], rec["z"] = mm["x"] - round(minx * 1000), mm["y"] - round(miny * 1000), mm["z"]
    rec["role"], rec["first"], rec["tin"] = role[sel], first[sel], tin[sel]
    rows, cols = spill.shape

    def span(down: np.ndarray, size: float, count: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.clip(np.floor((down - spill.buffer) / size), 0, count - 1).astype(np.int64),
                np.clip(np.floor((down + spill.buffer) / size), 0, count - 1).astype(np.int64))

    r0, r1 = span(maxy - pts.y[sel], spill.block_height, rows)
    c0, c1 = span(pts.x[sel] - minx, spill.block_width, cols)
    blocks = {r * cols + c: rec[(r0 <= r) & (r <= r1) & (c0 <= c) & (c <= c1)].tobytes()
              for r in range(rows) for c in range(cols)}
    return {b: data for b, data in blocks.items() if data}, {
        "noise": noise, "withheld": withheld, "points": int(counted.size), "counts": counts,
        "unknown": dict(zip(unknown[0].tolist(), unknown[1].tolist(), strict=True))}


@pytest.mark.parametrize(("keep_withheld", "width", "memory"), [(False, 40.0, 0), (True, 40.0, 0),
                                                                (False, 20.0, 0), (False, 20.0, 10**9)])
def test_the_spill_kernels_write_the_numpy_spills_bytes(tmp_path: Path, keep_withheld: bool, width: float,
                                                         memory: int) -> None:
    n = 30000
    # a 40 x 30 m tile in 10 m strips (or 10 x 20 m blocks) with 3 m of buffer; points also in the buffer and
    # beyond it, on cell edges (quarter metres) and with ties in height, every class role, withheld points
    # and later returns
    x = RNG.integers(-20, 181, n) * 0.25 + 1000.0
    y = RNG.integers(-20, 141, n) * 0.25 + 5000.0
    z = RNG.integers(0, 40, n) * 0.5
    x[::3] += RNG.random(x[::3].size) * 1e-3  # a part off the millimetres: spilled rounded to them
    pts = Points(x=x, y=y, z=z, classification=RNG.choice(np.array([1, 2, 2, 3, 5, 7, 9, 65], np.uint8), n),
                 return_number=RNG.integers(1, 4, n).astype(np.uint8), withheld=RNG.random(n) < 0.05)
    classes = dataclasses.replace(PointClasses.asprs(), keep_withheld=keep_withheld)
    spill = BlockSpill((1000.0, 5000.0, 1040.0, 5030.0), 10.0, width, 3.0, classes, res=10.0, fine_res=1.0,
                       memory_points=memory, folder=tmp_path)
    assert spill.shape == (3, 40 // int(width))
    want, stats = _spill_numpy(spill, pts)
    spill.add(pts)
    assert spill.on_disk == (memory == 0)
    if spill.on_disk:
        assert {b: spill.path(b).read_bytes() for b in range(spill.count) if spill.path(b).exists()} == want
    assert len(want) == spill.count
    assert {b: spill.load(b).tobytes() for b in range(spill.count)} == want
    x, _, _ = metres(np.frombuffer(b"".join(want.values()), SPILLED), spill.origin)
    near = np.abs(x - np.floor(x * 4 + 0.5) / 4)
    assert near.max() <= 0.001 + 1e-9 and near.max() > 0  # the points off the millimetres, rounded to them
    assert (spill.excluded.noise, spill.excluded.withheld, spill.points) == (
        stats["noise"], stats["withheld"], stats["points"])
    assert np.array_equal(spill.counts, stats["counts"])
    assert spill.excluded.unknown == stats["unknown"] and stats["unknown"]
    assert stats["withheld"] == 0 if keep_withheld else stats["withheld"] > 0


def test_mark_lowest_marks_lowest_per_cells_choice_or_declines_a_sparse_span() -> None:
    cell = np.where(RNG.random(5000) < 0.3, -1, RNG.integers(0, 700, 5000))
    x, y, z = (RNG.integers(0, 3, cell.size).astype(float) for _ in range(3))  # many ties
    flags = np.zeros(cell.size, np.uint8)
    assert spill_kernels.mark_lowest(cell, x, y, z, flags)
    ground = np.flatnonzero(cell >= 0)
    want = ground[lowest_per_cell(cell[ground], x[ground], y[ground], z[ground])]
    assert np.array_equal(np.flatnonzero(flags & spill_kernels.TIN), np.sort(want))
    sparse = np.where(cell >= 0, cell * 10_000, -1)  # 700 cells over 7 M slots
    untouched = np.zeros(cell.size, np.uint8)
    assert not spill_kernels.mark_lowest(sparse, x, y, z, untouched) and not untouched.any()


def test_the_spill_moves_to_disk_past_memory_points(tmp_path: Path) -> None:
    """Records in memory up to memory_points, then every block in its file: the same records either way."""
    n = 20000
    pts = [Points(x=RNG.uniform(990.0, 1050.0, n), y=RNG.uniform(4990.0, 5040.0, n), z=RNG.uniform(0, 30, n),
                  classification=RNG.choice(np.array([1, 2, 5], np.uint8), n),
                  return_number=RNG.integers(1, 3, n).astype(np.uint8), withheld=np.zeros(n, bool))
           for _ in range(3)]
    spills = {m: BlockSpill((1000.0, 5000.0, 1040.0, 5030.0), 10.0, 20.0, 3.0, PointClasses.asprs(), res=10.0,
                            fine_res=1.0, memory_points=m, folder=tmp_path / str(m)) for m in (10**9, 25000)}
    for m, spill in spills.items():
        (tmp_path / str(m)).mkdir()
        spill.add(pts[0])
        assert not spill.on_disk  # the first chunk's records fit in both
    for spill in spills.values():
        for chunk in pts[1:]:
            spill.add(chunk)
    assert not spills[10**9].on_disk and spills[25000].on_disk
    assert sorted(p.name for p in (tmp_path / "25000").iterdir()) == [f"block-{b:05d}.bin" for b in range(6)]
    assert not any((tmp_path / str(10**9)).iterdir())
    for b in range(6):
        assert spills[10**9].load(b).tobytes() == spills[25000].load(b).tobytes()


def _fine_numpy(points: np.ndarray, origin: np.ndarray, grid: CellGrid, cells: CellGrid) -> dict[str, np.ndarray]:
    """The TIN DTM, highest first returns and canopy heights, and the first returns' cells and heights,
    as numpy computed them before the kernels."""
    def cell_of(g: CellGrid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = np.floor((x - g.left) / g.res).astype(np.int64)
        row = np.floor((g.top - y) / g.res).astype(np.int64)
        return row * g.shape[1] + col, (col >= 0) & (col < g.shape[1]) & (row >= 0) & (row < g.shape[0])

    def cell_max(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
        out = np.full(size, -np.inf)
        np.maximum.at(out, index, values)
        return np.where(out == -np.inf, np.nan, out)

    size = grid.shape[0] * grid.shape[1]
    px, py, pz = metres(points, origin)
    ground = np.flatnonzero(points["tin"] == 1)
    gx, gy, gz = px[ground], py[ground], pz[ground]
    cell, inside = cell_of(grid, gx, gy)
    ground = np.flatnonzero(inside)
    ground = ground[lowest_per_cell(cell[ground], gx[ground], gy[ground], gz[ground])]
    gx, gy, gz = gx[ground], gy[ground], gz[ground]
    dtm = rasterise(gx, gy, gz, triangulate(gx, gy), grid)
    first = np.flatnonzero(points["first"] == 1)
    fx, fy, fz = px[first], py[first], pz[first]
    cell, inside = cell_of(grid, fx, fy)
    h = fz - bilinear(dtm, grid, fx, fy)
    role = points["role"][first]
    canopy = inside & np.isfinite(h) & ((role == Role.VEGETATION) | (role == Role.GROUND))
    metric_cell, metric_inside = cell_of(cells, fx, fy)
    return {"dtm": dtm, "dsm": cell_max(cell[inside], fz[inside], size).reshape(grid.shape),
            "highest": cell_max(cell[canopy], np.maximum(h[canopy], 0.0), size).reshape(grid.shape),
            "height": h, "cell": np.where(metric_inside, metric_cell, -1)}


def test_fine_surfaces_kernels_equal_their_numpy_formulation() -> None:
    n = 20000
    points = np.empty(n, SPILLED)
    origin = np.array([-3000.0, 20000.0])  # millimetres
    # x: quarter metres, on and off cell edges; y: quarter metres; z: half metres, ties
    points["x"] = RNG.integers(-8, 169, n) * 250 + 100 * (RNG.random(n) < 0.5) - origin[0]
    points["y"] = RNG.integers(-8, 129, n) * 250 - origin[1]
    points["z"] = RNG.integers(0, 60, n) * 500
    points["role"] = RNG.choice(np.array([Role.GROUND, Role.VEGETATION, Role.OTHER], np.uint8), n)
    points["first"] = RNG.random(n) < 0.6
    points["tin"] = (points["role"] == Role.GROUND) & (RNG.random(n) < 0.7)
    grid = CellGrid(0.0, 32.0, 0.5, (64, 80))
    cells = CellGrid(1.0, 30.0, 5.0, (5, 7))
    want = _fine_numpy(points, origin, grid, cells)
    gx, gy, gz = kernels.tin_vertices(points, origin, grid.left, grid.top, grid.res, *grid.shape)
    dtm = rasterise(gx, gy, gz, triangulate(gx, gy), grid)
    assert dtm.tobytes() == want["dtm"].tobytes() and np.isfinite(dtm).mean() > 0.8
    on = np.array([cells.left, cells.top, cells.res, *cells.shape], np.float64)
    cell, h, dsm, highest = kernels.first_returns(points, origin, dtm, grid.left, grid.top, grid.res, on)
    assert cell.tobytes() == want["cell"].tobytes() and (cell < 0).any() and (cell >= 0).any()
    assert h.tobytes() == want["height"].tobytes()
    assert dsm.tobytes() == want["dsm"].ravel().tobytes()
    assert highest.tobytes() == want["highest"].ravel().tobytes()
    surf = fine_surfaces(points, origin.astype(np.int64), grid, [0.0, 5.0], cells)
    assert surf.dtm.tobytes() == dtm.tobytes() and surf.height.tobytes() == h.tobytes()


def test_the_first_writable_cache_folder_is_chosen(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    assert first_writable([blocked / "cache", tmp_path / "ok"]) == tmp_path / "ok"
    assert (tmp_path / "ok").is_dir()
    assert first_writable([blocked / "cache"]) is None


@pytest.mark.timeout(300)
def test_kernels_are_compiled_once_and_loaded_from_the_cache(tmp_path: Path) -> None:
    code = ("import numpy as np; from sporbar.lidar import kernels as k; "
            "k.fill_gaps(np.zeros((2, 2)), 4); s = k.fill_gaps.stats; "
            "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["0", "1"], ["1", "0"]]
    assert any(tmp_path.rglob("*.nbi"))


def test_scaled_in_box_equals_laspys_scaling_and_the_half_open_cut() -> None:
    xi, yi, zi = (RNG.integers(-50_000, 150_000, 20_000).astype(np.int32) for _ in range(3))
    scale, offset = np.array([0.01, 0.01, 0.001]), np.array([268_000.0, 7_029_000.0, -20.0])
    box = np.array([268_000.0, 7_029_000.0, 269_000.0, 7_030_000.0])
    xi[:10], yi[:10] = 0, 100_000  # on the edges: x = minx kept, y = maxy kept
    xi[10:20], yi[10:20] = 100_000, 0  # x = maxx and y = miny left out
    x, y, z, index = kernels.scaled_in_box(xi, yi, zi, scale, offset, box)
    wx, wy, wz = xi * scale[0] + offset[0], yi * scale[1] + offset[1], zi * scale[2] + offset[2]  # laspy's
    want = np.flatnonzero((wx >= box[0]) & (wx < box[2]) & (wy > box[1]) & (wy <= box[3]))
    assert np.array_equal(index, want) and 0 < index.size < xi.size
    assert set(range(10)) <= set(index.tolist()) and not set(range(10, 20)) & set(index.tolist())
    assert x.tobytes() == wx[want].tobytes() and y.tobytes() == wy[want].tobytes()
    assert z.tobytes() == wz[want].tobytes()


def test_block_reduce_is_numpys_nanmean_and_nanmax_over_blocks() -> None:
    a = RNG.random((40, 60)) * 100
    a[RNG.random(a.shape) < 0.3] = np.nan
    a[:5, :5] = np.nan  # a block with no valid cell
    view = a[:, 5:55]  # a crop, as the products pass it
    blocks = view.reshape(8, 5, 10, 5)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, top = np.nanmean(blocks, axis=(1, 3)), np.nanmax(blocks, axis=(1, 3))
    got_mean, got_top = block_reduce(view, 5, "nanmean"), block_reduce(view, 5, "nanmax")
    assert np.array_equal(np.isnan(got_mean), np.isnan(mean)) and np.isnan(block_reduce(a, 5, "nanmax")[0, 0])
    np.testing.assert_allclose(got_mean, mean, rtol=1e-12)
    assert np.array_equal(got_top, top, equal_nan=True)
