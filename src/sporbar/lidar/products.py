"""Lidar products on a grid tile: fine DTM, DSM and CHM, and on the grid DTM, DSM, CHM, density, metrics.

- fine models (``lidar.resolution``, 1 m by default): :mod:`sporbar.lidar.surfaces` (TIN
  DTM of the ground classes, ASPRS 2 ground and 9 water by default; pit-free CHM; DSM);
- grid DTM: mean of the fine DTM's cells; DSM, CHM: their highest; cells inside the point
  coverage left without (no ground around) filled from the nearest cell;
- density: points per m2;
- metrics: the area-based forest metrics of :mod:`sporbar.lidar.metrics` and the terrain's
  slope and aspect from the fine DTM.

The tile is read with a buffer of ``lidar.buffer`` m from the neighbouring deliveries and
worked in blocks (:mod:`sporbar.lidar.spill`), so a tile alone equals the same cells of its
neighbours' mosaic, and memory is bounded by ``lidar.block_points``, not the tile.

Noise, withheld and unknown-class points (``lidar.point_classes``, ``lidar.withheld``)
count in none of them. Cells outside the coverage (no points and not enclosed by cells
with points) are NaN in DTM, DSM and CHM. All products are float32.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from odc.geo.geobox import GeoBox
from scipy import ndimage

from sporbar.las import read_header
from sporbar.lidar.classes import PointClasses, lidar_defaults
from sporbar.lidar.ground import GroundFilter
from sporbar.lidar.heap import keep_freed_memory
from sporbar.lidar.metrics import canopy_metrics
from sporbar.lidar.read import GroundClassified, GroundPlan, iter_points
from sporbar.lidar.spill import BlockSpill
from sporbar.lidar.surfaces import block_reduce, fine_surfaces, slope_aspect
from sporbar.lidar.tin import CellGrid
from sporbar.lidar_bands import SURFACES, fine_factor, metric_names

log = logging.getLogger(__name__)


class WindowSink(Protocol):
    """Where a fine model goes, window by window (a :class:`sporbar.raster.WindowSink`)."""

    def write(self, data: np.ndarray, *, row: int = 0, col: int = 0) -> None:
        """Write ``data`` (y, x) with its first pixel at (``row``, ``col``)."""

PRODUCTS = tuple(SURFACES)


@dataclass(frozen=True)
class LidarProducts:
    """The rasters of a tile, (y, x) float32, the points used and those excluded.

    Attributes:
        dtm, dsm, chm, density: the surfaces (:data:`PRODUCTS`).
        metrics: area-based metric name -> raster, in band order.
        points: points used.
        excluded: points left out (``sporbar:excluded_points``).
        ground_classified: the files whose ground the ground filter classified.
    """

    dtm: np.ndarray
    dsm: np.ndarray
    chm: np.ndarray
    density: np.ndarray
    metrics: dict[str, np.ndarray]
    points: int
    excluded: dict[str, Any]
    ground_classified: list[GroundClassified]

    def as_dict(self) -> dict[str, np.ndarray]:
        """Surface name -> array, in :data:`PRODUCTS` order."""
        return {k: getattr(self, k) for k in PRODUCTS}


def fill_nearest(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Fill the NaN cells of ``values`` inside mask ``where`` from the nearest valid cell."""
    valid = ~np.isnan(values)
    if not valid.any() or valid.all():
        return values
    _, (ri, ci) = ndimage.distance_transform_edt(~valid, return_indices=True)
    out = values.copy()
    gap = where & ~valid
    out[gap] = values[ri[gap], ci[gap]]
    return out


def block_shape(paths: Sequence[Path], geobox: GeoBox, block_points: int, buffer: float) -> tuple[int, int]:
    """Grid rows and columns per block, so a block with its buffer holds about ``block_points`` points.

    Of the ways to cut the tile into columns, the one whose blocks (with their buffers) cover the
    least area, the fewest columns on ties: row strips across the tile while a strip of a few
    buffers' height holds ``block_points``, blocks near square on wider tiles. The density is the
    files' header point count over their header area (at least 1 point/m2).
    """
    area = count = 0.0
    for p in paths:
        h = read_header(Path(p))
        area += max(float(h.maxs[0] - h.mins[0]) * float(h.maxs[1] - h.mins[1]), 1.0)
        count += float(h.point_count)
    density = max(count / max(area, 1.0), 1.0)
    res = abs(geobox.affine.a)
    ny, nx = geobox.shape.yx
    pad = int(math.ceil(2 * buffer / res))
    best: tuple[float, int, int] | None = None
    for parts in range(1, nx + 1):
        cols = math.ceil(nx / parts)
        if parts > 1 and math.ceil(nx / cols) < parts:
            continue  # the same columns as fewer parts
        rows = max(1, min(int(block_points / (density * (cols * res + 2 * buffer) * res)) - pad, ny))
        cover = math.ceil(ny / rows) * math.ceil(nx / cols) * (rows + pad) * (cols + pad)
        if best is None or cover < best[0]:
            best = (cover, rows, cols)
        if rows >= ny:
            break  # one row of blocks: more columns only add buffers
    assert best is not None
    return best[1], best[2]


def compute_products(
    laz_paths: Sequence[Path],
    geobox: GeoBox,
    *,
    stated_epsg: int | None = None,
    classes: PointClasses | None = None,
    lidar: Mapping[str, Any] | None = None,
    fine: Mapping[str, WindowSink] | None = None,
    spill_dir: Path | None = None,
) -> LidarProducts:
    """Read the points of ``laz_paths`` around ``geobox`` (chunked, brought into its CRS) and make the products.

    The points of the tile and a buffer (``lidar.buffer``) are spilled to blocks (on disk when
    they hold more than ``lidar.block_points``), then each block (with its buffer) makes its part
    of the fine models and of the grid's products, so memory does not grow with the tile's points.

    Args:
        laz_paths: LAS/LAZ files (those of the tile and of its neighbours within the buffer).
        geobox: the tile grid.
        stated_epsg: ``sources.lidar.epsg``, the CRS of files that carry none.
        classes: the use of each class (default: the ASPRS defaults of the config schema).
        lidar: the config's ``lidar`` section (default: the schema's).
        fine: where to write the fine models (``dtm_fine``... -> COG windows on the fine grid); None: not kept.
        spill_dir: where the blocks go when they go to disk (default: a temporary folder).

    Raises:
        InputDataError: a file is unreadable.
        LidarCrsError: a file has no usable CRS.
        ConfigError: ``lidar.resolution`` does not divide the grid's.
    """
    keep_freed_memory()  # the blocks' large temporaries reuse freed memory instead of faulting in afresh
    cfg = dict(lidar if lidar is not None else lidar_defaults())
    classes = classes if classes is not None else PointClasses.asprs()
    res = abs(float(geobox.affine.a))
    k = fine_factor(res, float(cfg["resolution"]), float(cfg["buffer"]))
    fres = res / k
    buffer, (ny, nx) = float(cfg["buffer"]), tuple(geobox.shape.yx)
    rows, cols = block_shape(laz_paths, geobox, int(cfg["block_points"]), buffer)
    b = geobox.extent.boundingbox
    bbox = (b.left, b.bottom, b.right, b.top)
    spill = BlockSpill(bbox, rows * res, cols * res, buffer, classes, res=res, fine_res=fres,
                       memory_points=int(cfg["block_points"]), folder=spill_dir)
    plan = GroundPlan(classes, GroundFilter.from_config(cfg), [])
    try:
        read_box = (b.left - buffer, b.bottom - buffer, b.right + buffer, b.top + buffer)
        for i, chunk in enumerate(iter_points(laz_paths, read_box, grid_crs=str(geobox.crs),
                                              stated_epsg=stated_epsg, ground=plan)):
            spill.add(chunk)
            if i % 5 == 0:
                log.info("lidar: %d points spilled so far", spill.points)
        # float32 as stored: the tile's grid rasters are what stays in memory for a whole tile
        out = {name: np.full((ny, nx), np.nan, np.float32) for name in (*PRODUCTS, *metric_names(cfg))}
        pad = int(math.ceil(buffer / fres))
        across = spill.shape[1]
        for i in range(spill.count):
            r0, c0 = i // across * rows, i % across * cols
            _block(spill.load(i), spill.origin, geobox, (r0, min(r0 + rows, ny)), (c0, min(c0 + cols, nx)), k, pad,
                   cfg, out, fine)
    finally:
        spill.close()
    log.info("lidar: %d points from %d file(s) on a %s grid in %d block(s) of %s cells%s", spill.points,
             len(laz_paths), (ny, nx), spill.count, (rows, cols), " (spilled to disk)" if spill.on_disk else "")
    return _finish(out, res, cfg, spill, plan)


def _block(points: np.ndarray, origin: np.ndarray, geobox: GeoBox, rows: tuple[int, int], cols: tuple[int, int],
           k: int, pad: int, cfg: Mapping[str, Any], out: dict[str, np.ndarray],
           fine: Mapping[str, WindowSink] | None) -> None:
    """Make the products of grid rows ``rows``, columns ``cols`` from the block's points (with buffer) into ``out``."""
    a = geobox.affine
    res, (r0, r1), (c0, c1) = abs(float(a.a)), rows, cols
    h, w = r1 - r0, c1 - c0
    fres = res / k
    top, left = a.f - r0 * res, a.c + c0 * res
    ext = CellGrid(left - pad * fres, top + pad * fres, fres, (h * k + 2 * pad, w * k + 2 * pad))
    core = CellGrid(left, top, res, (h, w))
    # the cells read around a core cell reach 1.5 cells out: a circle narrower than the buffer less 3 cells
    # around them holds only points the block was read with
    surf = fine_surfaces(points, origin, ext, cfg["chm_thresholds"], core, max_circle=float(cfg["buffer"]) - 3 * fres)
    crop = (slice(pad, pad + h * k), slice(pad, pad + w * k))
    dtm, dsm, chm = surf.dtm[crop], surf.dsm[crop], surf.chm[crop]
    if fine is not None:
        for key, arr in (("dtm_fine", dtm), ("dsm_fine", dsm), ("chm_fine", chm)):
            fine[key].write(arr.astype(np.float32), row=r0 * k, col=c0 * k)
    cells = (slice(r0, r1), slice(c0, c1))
    out["dtm"][cells] = block_reduce(dtm, k, "nanmean")
    out["dsm"][cells] = block_reduce(dsm, k, "nanmax")
    out["chm"][cells] = block_reduce(chm, k, "nanmax")
    slope, east, north = (v[crop] for v in slope_aspect(surf.dtm, fres))
    out["terrain_slope"][cells] = block_reduce(slope, k, "nanmean")
    e, n = block_reduce(east, k, "nanmean"), block_reduce(north, k, "nanmean")
    flat = np.hypot(e, n) < 1e-9
    aspect = np.where(flat, 0.0, np.degrees(np.arctan2(e, n)) % 360.0)
    aspect[np.isnan(e)] = np.nan
    out["terrain_aspect"][cells] = aspect
    metrics = canopy_metrics(surf.cell, surf.height, h * w, percentiles=cfg["metrics"]["percentiles"],
                             min_height=float(cfg["metrics"]["min_height"]))
    for name, flat_values in metrics.items():
        out[name][cells] = flat_values.reshape(h, w)


def _finish(out: dict[str, np.ndarray], res: float, cfg: Mapping[str, Any],
            spill: BlockSpill, plan: GroundPlan) -> LidarProducts:
    """The grid products from the blocks' parts: gaps filled inside the coverage, float32."""
    counts = spill.counts
    covered = ndimage.binary_fill_holes(counts > 0)
    dtm = fill_nearest(out["dtm"], covered)
    dsm = fill_nearest(out["dsm"], covered)
    chm = np.where(np.isnan(dtm), np.nan, np.where(np.isnan(out["chm"]), 0.0, out["chm"]))
    for a in (dtm, dsm, chm):
        a[~covered] = np.nan
    return LidarProducts(
        dtm=dtm.astype(np.float32),
        dsm=dsm.astype(np.float32),
        chm=chm.astype(np.float32),
        density=(counts / (res * res)).astype(np.float32),
        metrics={name: out[name].astype(np.float32) for name in metric_names(cfg)},
        points=spill.points,
        excluded=spill.excluded.as_dict(),
        ground_classified=list(plan.done),
    )
