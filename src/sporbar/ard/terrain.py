"""Topographic correction of surface reflectance: C-correction (Teillet et al. 1982) and SCS+C (Soenen et al. 2005).

The local illumination ``cos(i)`` of a pixel is the cosine of the angle between the sun and
the terrain normal from the DEM. Per scene and band, reflectance is regressed on ``cos(i)``
over the tile's clear land pixels (``rho = m cos(i) + b``), ``c = b / m``, and

* C-correction: ``rho_h = rho (cos(sz) + c) / (cos(i) + c)``
* SCS+C:        ``rho_h = rho (cos(slope) cos(sz) + c) / (cos(i) + c)``

Stated rules (recorded on the ARD item): ``c`` is estimated from at least :data:`MIN_SAMPLE`
pixels of SCL classes :data:`SAMPLE_SCL` (vegetation, not vegetated) with a DEM; when there are
fewer, or reflectance does not rise with ``cos(i)`` (``m <= 0``), the band of that scene is left
uncorrected (``c`` recorded as null). ``c`` below 0 (steeper than Lambertian) is taken as 0.
``cos(i)`` is taken as at least 0 (terrain shadow: flagged in the quality layer), and the factor
is capped at :data:`FACTOR_MAX`. Pixels without DEM are not corrected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.errors import InputDataError

METHODS = ("c-correction", "scs+c", "none")
SAMPLE_SCL = (4, 5)  # Sen2Cor vegetation, not vegetated: the pixels c is estimated from
MIN_SAMPLE = 500  # pixels needed to estimate c
FACTOR_MAX = 4.0  # largest factor applied (deep terrain shadow would otherwise explode)


@dataclass(frozen=True)
class TerrainNormal:
    """Unit terrain normal per pixel of a tile (float32, NaN where there is no DEM).

    Attributes:
        east, north, up: components; ``up`` is ``cos(slope)``.
    """

    east: np.ndarray
    north: np.ndarray
    up: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Pixels with a DEM."""
        valid: np.ndarray = np.isfinite(self.up)
        return valid


def terrain_normal(dem: np.ndarray, geobox: GeoBox) -> TerrainNormal:
    """The terrain normal of ``dem`` (metres, on ``geobox``; NaN: none) by central differences.

    Raises:
        ValueError: ``dem`` is not of the shape of ``geobox``.
    """
    if dem.shape != geobox.shape.yx:
        raise ValueError(f"DEM of shape {dem.shape} is not on the tile grid {geobox.shape.yx}")
    a = geobox.affine
    z = dem.astype(np.float64)
    d_row, d_col = np.gradient(z) if min(z.shape) > 1 else (np.zeros_like(z), np.zeros_like(z))
    p = d_col / a.a  # dz/d(east)
    q = d_row / a.e  # dz/d(north); e < 0 on a north-up grid
    n = np.sqrt(1 + p * p + q * q)
    return TerrainNormal((-p / n).astype(np.float32), (-q / n).astype(np.float32), (1 / n).astype(np.float32))


def illumination(normal: TerrainNormal, sun_zenith: np.ndarray, sun_azimuth: np.ndarray) -> np.ndarray:
    """``cos(i)`` per pixel from the sun zenith and azimuth (degrees, per pixel or scalars), float32."""
    sz, sa = np.radians(sun_zenith), np.radians(sun_azimuth)
    out: np.ndarray = (normal.up * np.cos(sz) + normal.east * (np.sin(sz) * np.sin(sa))
                       + normal.north * (np.sin(sz) * np.cos(sa))).astype(np.float32)
    return out


def estimate_c(reflectance: np.ndarray, cos_i: np.ndarray, sample: np.ndarray) -> float:
    """``c = b / m`` of the regression ``reflectance = m cos(i) + b`` over ``sample``; NaN if none (see module).

    Args:
        reflectance: (y, x), NaN where no data.
        cos_i: (y, x) local illumination, NaN where no DEM.
        sample: (y, x) bool, the pixels the regression may use.
    """
    use = sample & np.isfinite(reflectance) & np.isfinite(cos_i)
    n = int(use.sum())
    if n < MIN_SAMPLE:
        return float("nan")
    x = cos_i[use].astype(np.float64)
    y = reflectance[use].astype(np.float64)
    xm, ym = x.mean(), y.mean()
    sxx = float(np.dot(x - xm, x - xm))
    m = float(np.dot(x - xm, y - ym)) / sxx if sxx > 0 else 0.0
    if m <= 0:
        return float("nan")
    return max(float(ym - m * xm) / m, 0.0)


def correction_factor(
    method: str, c: float, cos_i: np.ndarray, cos_sun: np.ndarray, cos_slope: np.ndarray
) -> np.ndarray:
    """The factor reflectance is multiplied by (1 where ``c`` is NaN or there is no DEM), float32.

    Args:
        method: ``"c-correction"`` or ``"scs+c"``.
        c: from :func:`estimate_c`.
        cos_i: local illumination per pixel.
        cos_sun: cosine of the sun zenith per pixel.
        cos_slope: cosine of the slope per pixel (``TerrainNormal.up``).

    Raises:
        ValueError: an unknown method.
    """
    if not np.isfinite(c):
        return np.ones(cos_i.shape, np.float32)
    if method == "c-correction":
        reference = cos_sun
    elif method == "scs+c":
        reference = cos_slope * cos_sun
    else:
        raise ValueError(f"unknown terrain correction method {method!r} (use one of {', '.join(METHODS)})")
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (reference + c) / (np.maximum(cos_i, 0.0) + c)
    out: np.ndarray = np.where(np.isfinite(cos_i), np.minimum(f, FACTOR_MAX), 1.0).astype(np.float32)
    return out


def read_dem(path: Path, geobox: GeoBox) -> np.ndarray:
    """Heights of the DEM file at ``path`` on ``geobox`` (float32, NaN where it has none).

    Resampled by the mean of the cells in a grid pixel where the DEM is finer (a 1 m lidar DTM),
    bilinearly where it is as coarse or coarser.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: it cannot be read, or covers no pixel of the tile (names the file and tile bounds).
    """
    import rasterio
    from rasterio.warp import Resampling, reproject

    from sporbar.errors import MissingInputError

    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: DEM file not found (ard.terrain.dem)")
    out = np.full(geobox.shape.yx, np.nan, np.float32)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputDataError(f"{path}: the DEM has no CRS")
            finer = abs(src.res[0]) < 0.75 * abs(geobox.resolution.x)
            reproject(
                rasterio.band(src, 1), out, dst_transform=geobox.affine, dst_crs=str(geobox.crs),
                dst_nodata=np.nan, resampling=Resampling.average if finer else Resampling.bilinear,
            )
    except rasterio.errors.RasterioError as err:
        raise InputDataError(f"{path}: cannot read the DEM: {err}") from err
    if not np.isfinite(out).any():
        raise InputDataError(
            f"{path}: the DEM covers no pixel of the tile {tuple(round(v) for v in geobox.boundingbox)} "
            f"({geobox.crs}); give a DEM that covers it in ard.terrain.dem, or set ard.terrain.method: none"
        )
    return out
