"""A seeded synthetic landscape: land-ecology classes, terrain and vegetation heights.

Every demo product (Sentinel-2 SAFE, lidar LAZ, label polygons) is derived from this
one landscape, so reflectances, heights and labels agree with each other and a
classifier has something real to learn. Same seed, same arrays, on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from affine import Affine
from scipy import ndimage

LANDSCAPE_RES = 10  # metres per landscape cell
MARGIN = 300  # metres added around the area so products overlap tile edges
TERRAIN_JITTER_M = 70.0  # how far class boundaries stray from elevation contours


class DemoClass(IntEnum):
    """Classes of the demo landscape; names match ``classes[].name`` in config/config.yaml."""

    forest = 1
    mire = 2
    heath = 3
    farmland = 4
    water = 5
    bare_rock = 6
    built_up = 7


@dataclass(frozen=True)
class Landscape:
    """Rasters on one grid in EPSG:25833 (rows north to south).

    Attributes:
        transform: affine of the rasters (10 m cells, north-up).
        crs: always ``"EPSG:25833"``.
        classes: (y, x) uint8 DemoClass values.
        elevation: (y, x) float32 terrain height in metres above sea level.
        canopy_height: (y, x) float32 vegetation height in metres (0 where none).
        building_height: (y, x) float32 building height in metres (0 where none).
    """

    transform: Affine
    crs: str
    classes: np.ndarray
    elevation: np.ndarray
    canopy_height: np.ndarray
    building_height: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(y, x) size in cells."""
        ny, nx = self.classes.shape
        return ny, nx

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in metres."""
        ny, nx = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return (x0, y1 - ny * LANDSCAPE_RES, x0 + nx * LANDSCAPE_RES, y1)


def _field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth noise in [0, 1]."""
    f: np.ndarray = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    f -= f.min()
    return f / max(float(f.max()), 1e-9)


def make_landscape(bbox: tuple[float, float, float, float], *, seed: int) -> Landscape:
    """Build the landscape covering ``bbox`` (EPSG:25833 metres) plus a margin.

    Args:
        bbox: (minx, miny, maxx, maxy) of the area of interest, metres.
        seed: generator seed; the result depends only on ``bbox`` and ``seed``.
    """
    rng = np.random.default_rng(seed)
    minx = np.floor((bbox[0] - MARGIN) / LANDSCAPE_RES) * LANDSCAPE_RES
    maxy = np.ceil((bbox[3] + MARGIN) / LANDSCAPE_RES) * LANDSCAPE_RES
    maxx = np.ceil((bbox[2] + MARGIN) / LANDSCAPE_RES) * LANDSCAPE_RES
    miny = np.floor((bbox[1] - MARGIN) / LANDSCAPE_RES) * LANDSCAPE_RES
    nx = int((maxx - minx) // LANDSCAPE_RES)
    ny = int((maxy - miny) // LANDSCAPE_RES)
    shape = (ny, nx)
    transform = Affine(LANDSCAPE_RES, 0, minx, 0, -LANDSCAPE_RES, maxy)

    # Terrain: a valley running north-south with hills on both sides.
    xx = np.linspace(-1, 1, nx)[None, :]
    valley = 0.6 * xx**2
    relief = _field(rng, shape, 18) * 0.7 + _field(rng, shape, 5) * 0.3
    elevation = (80 + 420 * (0.55 * valley + 0.45 * relief)).astype(np.float32)
    slope = np.hypot(*np.gradient(elevation, LANDSCAPE_RES))
    wet = _field(rng, shape, 6)
    q = np.quantile

    # Class boundaries follow terrain only loosely (tree line, soils and land use vary), so
    # that elevation alone cannot tell the classes apart: decisions use a jittered elevation.
    jitter = (_field(rng, shape, 3) - 0.5) * 2 * TERRAIN_JITTER_M
    elev = elevation + jitter
    classes = np.full(shape, DemoClass.forest, np.uint8)
    high = elev > q(elev, 0.74)
    classes[high] = DemoClass.heath
    rock = (elev > q(elev, 0.9)) | (high & (slope > q(slope, 0.8)))
    classes[rock & (_field(rng, shape, 2) > 0.3)] = DemoClass.bare_rock
    mid = (elev > q(elev, 0.15)) & ~rock
    classes[mid & (slope < q(slope, 0.45)) & (wet > 0.6)] = DemoClass.mire
    low = elev < q(elev, 0.35)
    # Fields: blocky patches in the valley floor.
    fields = ndimage.zoom(rng.random((max(ny // 12, 2), max(nx // 12, 2))) > 0.45, 12, order=0)
    fields = np.pad(fields, ((0, max(0, ny - fields.shape[0])), (0, max(0, nx - fields.shape[1]))))[:ny, :nx]
    classes[low & fields] = DemoClass.farmland
    # Lakes: the lowest hollows of a wetness-weighted surface.
    lake_surface = elevation - 60 * wet
    classes[lake_surface < q(lake_surface, 0.06)] = DemoClass.water
    # A village: a few built-up blocks on the valley floor.
    village = np.zeros(shape, bool)
    cy, cx = int(rng.integers(ny // 4, 3 * ny // 4)), nx // 2
    for _ in range(max(4, (nx * ny) // 4000)):
        y0 = int(np.clip(cy + rng.integers(-ny // 6, ny // 6 + 1), 0, ny - 4))
        x0 = int(np.clip(cx + rng.integers(-nx // 8, nx // 8 + 1), 0, nx - 4))
        village[y0 : y0 + int(rng.integers(2, 5)), x0 : x0 + int(rng.integers(2, 6))] = True
    classes[village & (classes != DemoClass.water)] = DemoClass.built_up

    noise = rng.standard_normal(shape).astype(np.float32)
    canopy = np.zeros(shape, np.float32)
    forest = classes == DemoClass.forest
    canopy[forest] = np.clip(6 + 14 * _field(rng, shape, 4)[forest] + 2.5 * noise[forest], 3, 32)
    canopy[classes == DemoClass.heath] = 0.3
    canopy[classes == DemoClass.mire] = 0.2
    canopy[classes == DemoClass.farmland] = 0.4
    buildings = np.where(classes == DemoClass.built_up, 5 + 4 * _field(rng, shape, 1), 0).astype(np.float32)
    # Water is flat.
    water = classes == DemoClass.water
    if water.any():
        elevation = elevation.copy()
        elevation[water] = float(elevation[water].min())
    return Landscape(
        transform=transform,
        crs="EPSG:25833",
        classes=classes,
        elevation=elevation.astype(np.float32),
        canopy_height=canopy,
        building_height=buildings,
    )
