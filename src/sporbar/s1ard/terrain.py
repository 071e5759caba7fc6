"""Terrain geometry of radar backscatter on a tile: displacement, local incidence, flattening.

Stated method (recorded on the S1 ARD item):

* **Terrain displacement** (geocoding with a DEM): a scatterer at height ``h`` above the
  geolocation grid's height appears ``(h - h_grid) * cot(incidence)`` metres closer to the
  sensor in ground range, so the image pixel sampled for a map pixel is the ellipsoid one
  minus that distance over the range pixel spacing.
* **Local incidence angle**: between the DEM surface normal (central differences) and the
  direction to the sensor (against the range direction, at the ellipsoid incidence angle).
* **Terrain flattening** (Ulander 1996 projection, one facet per pixel, azimuth tilt
  neglected): ``gamma0_T = beta0 * tan(local incidence)``. Pixels in radar shadow (local
  incidence >= 90 degrees) or layover (<= 0) are NaN.

This is a geolocation-grid approximation of range-Doppler terrain correction: it uses no
orbit state vectors (which sarsen needs), so its accuracy is that of the grid interpolation.
"""

from __future__ import annotations

import numpy as np

from sporbar.s1ard.geolocation import RadarCoordinates


def displaced_pixel(rc: RadarCoordinates, dem: np.ndarray, range_spacing: float) -> np.ndarray:
    """The image pixel a map pixel is seen at, given the terrain height ``dem`` (metres, NaN unknown)."""
    cot = 1 / np.tan(np.radians(rc.incidence))
    shift = (dem - rc.height) * cot / range_spacing
    return np.asarray(rc.pixel - np.where(np.isfinite(shift), shift, 0.0))


def local_incidence(rc: RadarCoordinates, dem: np.ndarray, resolution: float) -> np.ndarray:
    """Local incidence angle (degrees) of each pixel of ``dem`` (y, x; rows north to south)."""
    dz_drow, dz_dx = np.gradient(dem.astype(np.float64), resolution)
    dz_dy = -dz_drow
    theta = np.radians(rc.incidence)
    sx, sy, sz = -rc.range_x * np.sin(theta), -rc.range_y * np.sin(theta), np.cos(theta)
    cos_local = (-dz_dx * sx - dz_dy * sy + sz) / np.sqrt(dz_dx**2 + dz_dy**2 + 1)
    return np.asarray(np.degrees(np.arccos(np.clip(cos_local, -1, 1))))


def flatten(beta0: np.ndarray, local_deg: np.ndarray) -> np.ndarray:
    """Terrain-flattened gamma0 from beta0 (linear); NaN in shadow and layover."""
    ok = (local_deg > 0) & (local_deg < 90)
    with np.errstate(invalid="ignore"):
        out = beta0 * np.tan(np.radians(np.where(ok, local_deg, 45.0)))
    return np.where(ok, out, np.nan).astype(np.float32)
