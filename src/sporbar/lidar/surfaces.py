"""The fine terrain and canopy models of one block of a tile (plus its buffer), and their 10 m aggregates.

- DTM: linear interpolation in the Delaunay triangulation of the lowest ground point of each
  cell (:mod:`sporbar.lidar.tin`) at cell centres; NaN outside their convex hull.
- CHM, pit-free (the partial-CHM stack of Khosravipour et al. 2014, on the raster): first
  returns of the vegetation and ground classes, normalised by the DTM (bilinear at the point,
  at least 0); per cell the highest. For each threshold t of ``lidar.chm_thresholds`` the
  partial model keeps the cells whose highest return reaches t and fills each empty cell
  surrounded by at least 4 of 8 kept cells with their mean (a pit: a return that went deep
  into a crown); the CHM is the highest of the partial models, 0 where none has a value.
- DSM: the highest first return per cell (every used class), one-cell gaps filled the same
  way, and at least DTM + CHM, so CHM <= DSM - DTM everywhere.

Every operation looks at most one cell away, and the TIN only at triangles whose circumcircle
is narrower than the buffer less three cells, so a block's cells are the same as a mosaic's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sporbar.lidar import kernels
from sporbar.lidar.tin import CellGrid, rasterise, triangulate

#: an empty cell with at least this many of its 8 neighbours kept is a gap to fill
MIN_NEIGHBOURS = 4


@dataclass(frozen=True)
class FineSurfaces:
    """Fine rasters (y, x) float64 of a block with its buffer (NaN = no data), and the first returns' cells and heights.

    Attributes:
        dtm, dsm, chm: the models.
        cell: the block's first returns' cells on the grid the surfaces were asked to place them on (flat, -1 outside).
        height: their heights above the DTM (bilinear at the point; NaN where it is unknown).
    """

    dtm: np.ndarray
    dsm: np.ndarray
    chm: np.ndarray
    cell: np.ndarray
    height: np.ndarray


def bilinear(values: np.ndarray, grid: CellGrid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``values`` (on ``grid``) interpolated bilinearly between cell centres at the points (NaN outside).

    Points beyond the outer cell centres take the edge cells' values (the cell indices are clamped).
    """
    ny, nx = grid.shape
    u = (x - grid.left) / grid.res - 0.5
    v = (grid.top - y) / grid.res - 0.5
    out: np.ndarray = kernels.bilinear(np.ascontiguousarray(values, np.float64).ravel(), ny, nx, u, v)
    return out


def fill_gaps(a: np.ndarray) -> np.ndarray:
    """``a`` with every NaN cell that has at least :data:`MIN_NEIGHBOURS` valid neighbours set to their mean."""
    out: np.ndarray = kernels.fill_gaps(a, MIN_NEIGHBOURS)
    return out


def pit_free_chm(highest: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """The highest of the gap-filled partial canopy models (NaN where none has a value)."""
    ordered = np.array(sorted(float(v) for v in thresholds), np.float64)
    chm: np.ndarray = kernels.pit_free(highest, ordered, MIN_NEIGHBOURS)
    return chm


def fine_surfaces(points: np.ndarray, origin: np.ndarray, grid: CellGrid, thresholds: Sequence[float],
                  cells: CellGrid, *, max_circle: float | None = None) -> FineSurfaces:
    """DTM, DSM and pit-free CHM of a block's points on ``grid``.

    ``points`` are spilled records (:data:`sporbar.lidar.spill.SPILLED`), x and y in millimetres from ``origin``.

    The first returns' heights above the DTM come back with their cells on ``cells`` (the metrics' grid).
    ``max_circle``: the TIN's triangles with a wider circumcircle (m) are left out (:func:`rasterise`).
    """
    ny, nx = grid.shape
    # the TIN candidates (the lowest ground point per cell of each chunk) thinned again across chunks; in
    # cell order: where points coincide or four lie on a circle the triangulation depends on the input,
    # and a block or tile must choose as its neighbours do
    at = np.asarray(origin, np.float64)
    gx, gy, gz = kernels.tin_vertices(points, at, grid.left, grid.top, grid.res, ny, nx)
    dtm = rasterise(gx, gy, gz, triangulate(gx, gy), grid, max_circle=max_circle)
    # per first return its height above the DTM and its cell on `cells`; per fine cell the highest first
    # return and canopy height
    on = np.array([cells.left, cells.top, cells.res, *cells.shape], np.float64)
    cell, h, dsm, highest = kernels.first_returns(points, at, dtm, grid.left, grid.top, grid.res, on)
    dsm = fill_gaps(dsm.reshape(grid.shape))
    highest = highest.reshape(grid.shape)
    chm = pit_free_chm(highest, thresholds)
    chm = np.where(np.isnan(dtm), np.nan, np.where(np.isnan(chm), 0.0, chm))
    top = dtm + chm
    dsm = np.where(np.isnan(dsm), top, np.fmax(dsm, top))
    return FineSurfaces(dtm=dtm, dsm=dsm, chm=chm, cell=cell, height=h)


def slope_aspect(dtm: np.ndarray, res: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope (degrees) and the downslope east and north components of a DTM, per cell (central differences)."""
    if min(dtm.shape) < 2:
        nan = np.full(dtm.shape, np.nan)
        return nan, nan, nan
    dz_row, dz_col = np.gradient(dtm, res)  # rows run south
    slope = np.degrees(np.arctan(np.hypot(dz_row, dz_col)))
    return slope, -dz_col, dz_row


def block_reduce(a: np.ndarray, k: int, how: str) -> np.ndarray:
    """``a`` (y, x) aggregated over k x k blocks by ``nanmean`` or ``nanmax`` (NaN where all NaN)."""
    out: np.ndarray = kernels.block_reduce(a, k, how == "nanmax")
    return out
