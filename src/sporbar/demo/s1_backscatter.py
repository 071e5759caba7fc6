"""The demo Sentinel-1 acquisition: its radar geometry over the landscape and its backscatter.

Geometry: a descending IW pass (heading 190 degrees, right-looking, so range runs towards the
west-north-west) with 10 m ground-range pixels and 10 m lines; pixel (line, pixel) lies on the
ellipsoid at ``origin + line * 10 m * azimuth + pixel * 10 m * range`` in EPSG:25833, and the
incidence angle grows linearly across the swath. A scatterer at height ``h`` appears
``h * cot(incidence)`` closer to the sensor in ground range (the terrain displacement that
geocoding with a DEM undoes).

Backscatter: each landscape class has a terrain-flattened gamma0 in VV and VH (dB, C-band
values of the literature: water dark, built-up bright, forest high in VH), varying with the
season for farmland and mire; the radar sees beta0 = gamma0 / tan(local incidence), and
speckle (gamma-distributed, ENL 4.4 as IW GRDH) multiplies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from sporbar.demo.landscape import LANDSCAPE_RES, DemoClass, Landscape

HEADING_DEG = 190.0
SPACING_M = 10.0
NEAR_INCIDENCE_DEG = 33.0
INCIDENCE_PER_PIXEL_DEG = 0.01
ENL = 4.4
# terrain-flattened gamma0 (dB) per class: (VV, VH) early in the season, and the change by its end
GAMMA0_DB: dict[DemoClass, tuple[float, float, float, float]] = {
    DemoClass.forest: (-6.5, -12.0, 0.0, 0.0),
    DemoClass.mire: (-10.0, -18.0, -1.5, -1.0),
    DemoClass.heath: (-9.0, -16.5, 0.0, 0.0),
    DemoClass.farmland: (-12.0, -20.0, 4.0, 6.0),
    DemoClass.water: (-21.0, -27.0, 0.0, 0.0),
    DemoClass.bare_rock: (-8.0, -19.0, 0.0, 0.0),
    DemoClass.built_up: (-1.0, -8.0, 0.0, 0.0),
}


@dataclass(frozen=True)
class RadarGeometry:
    """Where each GRD pixel lies (ellipsoid, EPSG:25833) and its incidence angle.

    Attributes:
        origin: (x, y) metres of line 0, pixel 0.
        lines, pixels: the image size.
    """

    origin: tuple[float, float]
    lines: int
    pixels: int

    @property
    def azimuth(self) -> np.ndarray:
        """Unit vector (x, y) of increasing line (the flight direction)."""
        h = np.radians(HEADING_DEG)
        return np.array([np.sin(h), np.cos(h)])

    @property
    def range_dir(self) -> np.ndarray:
        """Unit vector (x, y) of increasing pixel (away from the sensor; right-looking)."""
        h = np.radians(HEADING_DEG + 90.0)
        return np.array([np.sin(h), np.cos(h)])

    def xy(self, line: np.ndarray, pixel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ellipsoid position (x, y) metres of (fractional) image coordinates."""
        a, r = self.azimuth, self.range_dir
        x = self.origin[0] + SPACING_M * (line * a[0] + pixel * r[0])
        y = self.origin[1] + SPACING_M * (line * a[1] + pixel * r[1])
        return x, y

    def incidence(self, pixel: np.ndarray) -> np.ndarray:
        """Ellipsoid incidence angle (degrees) at ``pixel``."""
        return NEAR_INCIDENCE_DEG + INCIDENCE_PER_PIXEL_DEG * np.asarray(pixel, np.float64)


def geometry_over(landscape: Landscape) -> RadarGeometry:
    """A geometry whose image covers the whole landscape (its rotated square plus a border)."""
    minx, miny, maxx, maxy = landscape.bounds
    side = max(maxx - minx, maxy - miny) * 1.25
    n = int(np.ceil(side / SPACING_M))
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    g = RadarGeometry((0.0, 0.0), n, n)
    origin = centre - SPACING_M * n / 2 * (g.azimuth + g.range_dir)
    return RadarGeometry((float(origin[0]), float(origin[1])), n, n)


def _cell(landscape: Landscape, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = landscape.shape
    col = np.clip(((x - landscape.transform.c) // LANDSCAPE_RES).astype(np.int64), 0, nx - 1)
    row = np.clip(((landscape.transform.f - y) // LANDSCAPE_RES).astype(np.int64), 0, ny - 1)
    return row, col


def local_incidence(landscape: Landscape, geometry: RadarGeometry) -> np.ndarray:
    """Local incidence angle (degrees) of every landscape cell, for the ellipsoid incidence there."""
    dz_dy_rows, dz_dx = np.gradient(landscape.elevation.astype(np.float64), LANDSCAPE_RES)
    dz_dy = -dz_dy_rows  # rows run north to south
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1)
    ny, nx = landscape.shape
    xs = landscape.transform.c + (np.arange(nx) + 0.5) * LANDSCAPE_RES
    ys = landscape.transform.f - (np.arange(ny) + 0.5) * LANDSCAPE_RES
    xx, yy = np.meshgrid(xs, ys)
    r = geometry.range_dir
    pixel = ((xx - geometry.origin[0]) * r[0] + (yy - geometry.origin[1]) * r[1]) / SPACING_M
    theta = np.radians(geometry.incidence(pixel))
    # unit vector from the ground towards the sensor: against the range direction, up
    sx, sy, sz = -r[0] * np.sin(theta), -r[1] * np.sin(theta), np.cos(theta)
    cos_local = (-dz_dx * sx - dz_dy * sy + sz) / norm
    return np.asarray(np.degrees(np.arccos(np.clip(cos_local, -1, 1))))


def gamma0_db(landscape: Landscape, season: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Terrain-flattened gamma0 (dB) of every landscape cell in VV and VH.

    Args:
        landscape: the demo landscape.
        season: 0 at the first acquisition, 1 at the last.
        rng: seeded; a small per-date offset per class (+-0.5 dB).
    """
    vv = np.zeros(landscape.shape, np.float64)
    vh = np.zeros(landscape.shape, np.float64)
    for cls, (v0, h0, dv, dh) in GAMMA0_DB.items():
        m = landscape.classes == cls
        jitter = rng.uniform(-0.5, 0.5, 2)
        vv[m] = v0 + dv * season + jitter[0]
        vh[m] = h0 + dh * season + jitter[1]
    return vv, vh


def beta0_image(
    landscape: Landscape,
    geometry: RadarGeometry,
    gamma_db: np.ndarray,
    local_deg: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """beta0 (linear, speckled) of every GRD pixel (lines, pixels), terrain displacement included.

    Each pixel shows the scatterer whose ellipsoid position lies ``h * cot(incidence)`` further in
    range (found by fixed-point iteration over the terrain height).
    """
    lines, pixels = np.meshgrid(np.arange(geometry.lines, dtype=np.float64),
                                np.arange(geometry.pixels, dtype=np.float64), indexing="ij")
    cot = 1 / np.tan(np.radians(geometry.incidence(pixels)))
    p_ell = pixels.copy()
    for _ in range(6):
        row, col = _cell(landscape, *geometry.xy(lines, p_ell))
        p_ell = pixels + landscape.elevation[row, col] * cot / SPACING_M
    row, col = _cell(landscape, *geometry.xy(lines, p_ell))
    gamma = 10 ** (gamma_db[row, col] / 10)
    local = np.radians(local_deg[row, col])
    beta = gamma / np.tan(np.clip(local, np.radians(1), np.radians(89)))
    beta[local_deg[row, col] >= 90] = 1e-4  # radar shadow
    speckle = rng.gamma(ENL, 1 / ENL, beta.shape)
    return np.asarray(beta * speckle)


def season_of(day: date, days: list[date]) -> float:
    """0 at the first of ``days``, 1 at the last."""
    span = (days[-1] - days[0]).days or 1
    return (day - days[0]).days / span
