"""Lidar products on a grid tile: DTM, DSM, CHM and point density.

- DTM: mean height of ground-class returns per cell (ASPRS 2 ground and 9 water by
  default); cells inside the point coverage without ground returns (under buildings,
  dense canopy) are filled from the nearest cell with ground.
- DSM: highest first return per cell; gaps filled likewise.
- CHM: highest vegetation-class return (3, 4, 5) minus DTM, at least 0; 0 where the cell
  has points but no vegetation (so buildings are not canopy).
- density: points per m2.
- metrics: the area-based forest metrics of :mod:`sporbar.lidar.metrics`.

Noise, withheld and unknown-class points (``lidar.point_classes``, ``lidar.withheld``)
count in none of them. Cells outside the coverage (no points and not enclosed by cells
with points) are NaN in DTM, DSM and CHM. All products are float32.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox
from scipy import ndimage

from sporbar.lidar.classes import PointClasses, lidar_defaults
from sporbar.lidar.grid import CellStats
from sporbar.lidar.metrics import canopy_metrics
from sporbar.lidar.read import iter_points
from sporbar.lidar_bands import SURFACES

log = logging.getLogger(__name__)

PRODUCTS = tuple(SURFACES)


@dataclass(frozen=True)
class LidarProducts:
    """The rasters of a tile, (y, x) float32, the points used and those excluded.

    Attributes:
        dtm, dsm, chm, density: the surfaces (:data:`PRODUCTS`).
        metrics: area-based metric name -> raster, in band order.
        points: points used.
        excluded: points left out (``sporbar:excluded_points``).
    """

    dtm: np.ndarray
    dsm: np.ndarray
    chm: np.ndarray
    density: np.ndarray
    metrics: dict[str, np.ndarray]
    points: int
    excluded: dict[str, Any]

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


def products_from_stats(stats: CellStats, metrics: Mapping[str, Any] | None = None) -> LidarProducts:
    """Derive the products from accumulated cell statistics.

    Args:
        stats: the tile's statistics, every chunk added.
        metrics: the config's ``lidar.metrics`` (percentiles, min_height); default: the schema's.
    """
    if metrics is None:
        metrics = lidar_defaults()["metrics"]
    res = abs(stats.geobox.affine.a)
    count = stats.grid(stats.count)
    covered = ndimage.binary_fill_holes(count > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dtm = stats.grid(stats.ground_sum / stats.ground_count)
    dtm = fill_nearest(np.where(stats.grid(stats.ground_count) > 0, dtm, np.nan), covered)
    dsm = stats.grid(stats.first_max.copy())
    dsm[~np.isfinite(dsm)] = np.nan
    dsm = fill_nearest(dsm, covered)
    dsm = np.where(np.isnan(dsm) | np.isnan(dtm), dsm, np.maximum(dsm, dtm))
    veg = stats.grid(stats.veg_max)
    chm = np.where(np.isfinite(veg), np.maximum(veg - dtm, 0.0), 0.0)
    chm = np.where(np.isnan(dtm), np.nan, chm)
    dtm[~covered] = np.nan
    dsm[~covered] = np.nan
    chm[~covered] = np.nan
    density = count / (res * res)
    canopy = canopy_metrics(stats.first_returns(), dtm, res, percentiles=metrics["percentiles"],
                            min_height=float(metrics["min_height"]))
    return LidarProducts(
        dtm=dtm.astype(np.float32),
        dsm=dsm.astype(np.float32),
        chm=chm.astype(np.float32),
        density=density.astype(np.float32),
        metrics=canopy,
        points=stats.points,
        excluded=stats.excluded.as_dict(),
    )


def compute_products(
    laz_paths: Sequence[Path],
    geobox: GeoBox,
    *,
    stated_epsg: int | None = None,
    classes: PointClasses | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> LidarProducts:
    """Read the points of ``laz_paths`` inside ``geobox`` (chunked, brought into its CRS) and grid them.

    Args:
        laz_paths: LAS/LAZ files.
        geobox: the tile grid.
        stated_epsg: ``sources.lidar.epsg``, the CRS of files that carry none.
        classes: the use of each class (default: the ASPRS defaults of the config schema).
        metrics: the config's ``lidar.metrics`` (default: the schema's).

    Raises:
        InputDataError: a file is unreadable.
        LidarCrsError: a file has no usable CRS.
    """
    b = geobox.extent.boundingbox
    stats = CellStats(geobox, classes if classes is not None else PointClasses.asprs())
    chunks = iter_points(laz_paths, (b.left, b.bottom, b.right, b.top), grid_crs=str(geobox.crs),
                         stated_epsg=stated_epsg)
    for i, chunk in enumerate(chunks):
        stats.add(chunk)
        if i % 5 == 0:
            log.info("lidar: %d points gridded so far", stats.points)
    log.info(
        "lidar: %d points from %d file(s) on a %s grid", stats.points, len(laz_paths), stats.shape
    )
    return products_from_stats(stats, metrics)
