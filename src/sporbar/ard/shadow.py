"""Cloud shadow from the cloud mask, the cloud height and the sun: where shadows can fall, and are dark.

A cloud at height ``h`` casts its shadow ``h * tan(sun zenith)`` metres away from the sun (towards
the sun azimuth + 180 degrees). The cloud mask swept along that direction for every height from
``min_height`` to ``max_height`` (one grid pixel apart) is where a shadow can be; of it, the pixels
dark in NIR (B08 < ``dark_nir``) and SWIR (B11 < ``dark_swir``) and not water (NDWI <= 0) are
shadow: the potential-shadow and dark-pixel steps of Fmask (Zhu & Woodcock 2012) and of the
``s2cloudless`` shadow recipe, without Fmask's shape matching. One sun position per scene (the
granule means), and the grid's north taken as the granule's (the meridian convergence between UTM
zones is under 3 degrees over Norway's tiles).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def shadow_offsets(sun_zenith: float, sun_azimuth: float, min_height: float, max_height: float,
                   resolution: float) -> list[tuple[int, int]]:
    """(row, col) pixel shifts from a cloud to its shadow, one per grid pixel of distance, nearest first.

    Args:
        sun_zenith: degrees.
        sun_azimuth: degrees clockwise from north.
        min_height: lowest cloud height (m) swept.
        max_height: highest cloud height (m) swept.
        resolution: grid pixel size (m); rows grow southwards.
    """
    tan_z = math.tan(math.radians(min(sun_zenith, 89.0)))
    d0, d1 = min_height * tan_z / resolution, max_height * tan_z / resolution
    # away from the sun: east component -sin(az), north component -cos(az); a row is one pixel south
    dr, dc = math.cos(math.radians(sun_azimuth)), -math.sin(math.radians(sun_azimuth))
    out: list[tuple[int, int]] = []
    for d in np.arange(d0, d1 + 1.0, 1.0):
        step = (int(round(d * dr)), int(round(d * dc)))
        if not out or out[-1] != step:
            out.append(step)
    return out


def project(cloud: np.ndarray, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Union of ``cloud`` (y, x) bool shifted by each (row, col) offset; nothing wraps round the edges."""
    ny, nx = cloud.shape
    out = np.zeros_like(cloud, dtype=bool)
    for r, c in offsets:
        if abs(r) >= ny or abs(c) >= nx:
            continue
        out[max(r, 0): ny + min(r, 0), max(c, 0): nx + min(c, 0)] |= \
            cloud[max(-r, 0): ny - max(r, 0), max(-c, 0): nx - max(c, 0)]
    return out


def geometric_shadow(cloud: np.ndarray, green: np.ndarray, nir: np.ndarray, swir: np.ndarray,
                     sun: tuple[float, float], params: Mapping[str, Any], resolution: float) -> np.ndarray:
    """Cloud shadow (y, x) bool of one scene.

    Args:
        cloud: (y, x) bool cloud mask.
        green: (y, x) reflectance of B03 (NaN: no data, never shadow).
        nir: (y, x) reflectance of B08.
        swir: (y, x) reflectance of B11.
        sun: (zenith, azimuth) in degrees.
        params: ``ard.mask.shadow`` (``min_height``, ``max_height``, ``dark_nir``, ``dark_swir``).
        resolution: grid pixel size (m).
    """
    offsets = shadow_offsets(sun[0], sun[1], float(params["min_height"]), float(params["max_height"]), resolution)
    reach = project(cloud, offsets) & ~cloud
    with np.errstate(invalid="ignore", divide="ignore"):
        land = (green - nir) <= 0  # NDWI <= 0: dark water is not shadow
        dark = (nir < params["dark_nir"]) & (swir < params["dark_swir"])
    result: np.ndarray = reach & dark & land
    return result
