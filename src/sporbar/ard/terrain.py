"""Topographic correction of surface reflectance: C-correction (Teillet et al. 1982) and SCS+C (Soenen et al. 2005).

The local illumination ``cos(i)`` of a pixel is the cosine of the angle between the sun and
the terrain normal from the DEM. Per scene and band, reflectance is regressed on ``cos(i)``
over the tile's clear land pixels (``rho = m cos(i) + b``), ``c = b / m`` (Teillet), within NDVI
strata so land cover that follows the terrain does not bias it (:func:`estimate_c`), and

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
MIN_STRATUM = 50  # pixels a stratum needs to take part
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


def ndvi_strata(red: np.ndarray, nir: np.ndarray, sample: np.ndarray, k: int) -> np.ndarray:
    """Stratum (0..k-1) of each pixel by NDVI, edges the NDVI quantiles of the ``sample`` pixels; -1: no NDVI.

    NDVI barely changes with illumination, so a stratum holds one kind of surface whatever its slope
    (Szantoi and Simonetti 2013): the regression within it sees illumination, not land cover.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    ok = np.isfinite(ndvi)
    out = np.full(ndvi.shape, -1, np.int8)
    use = ok & sample
    if k <= 1 or not use.any():
        out[ok] = 0
        return out
    edges = np.quantile(ndvi[use], np.linspace(0, 1, k + 1)[1:-1])
    out[ok] = np.searchsorted(edges, ndvi[ok], side="right").astype(np.int8)
    return out


def estimate_c(
    reflectance: np.ndarray, cos_i: np.ndarray, sample: np.ndarray, strata: np.ndarray | None = None
) -> float:
    """``c`` of the regression of reflectance on ``cos(i)`` over ``sample``, within NDVI strata; NaN if none.

    Within each stratum reflectance is divided by the stratum's mean and ``cos(i)`` centred on
    the stratum's mean; one line through all of them gives the slope ``m'`` (``1 / (cos(i) + c)``
    of the C model), so ``c = 1 / m' - mean cos(i)``. With one stratum this is Teillet's
    ``c = b / m`` of ``reflectance = m cos(i) + b``; with several, land covers that follow the
    terrain (bright rock on steep slopes, farmland in the flat valley) do not tilt the line.

    Args:
        reflectance: (y, x), NaN where no data.
        cos_i: (y, x) local illumination, NaN where no DEM.
        sample: (y, x) bool, the pixels the regression may use.
        strata: (y, x) stratum 0.. of each pixel (-1: none, :func:`ndvi_strata`); None: one stratum.

    Returns:
        ``c`` (>= 0); NaN with fewer than MIN_SAMPLE pixels or ``m' <= 0`` (see the module's rules).
    """
    use = sample & np.isfinite(reflectance) & np.isfinite(cos_i)
    if strata is not None:
        use &= strata >= 0
    idx = strata[use].astype(np.intp) if strata is not None else np.zeros(int(use.sum()), np.intp)
    if idx.size < MIN_SAMPLE:
        return float("nan")
    x = cos_i[use].astype(np.float64)
    y = reflectance[use].astype(np.float64)
    k = int(idx.max()) + 1
    n = np.bincount(idx, minlength=k).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xm = np.bincount(idx, x, minlength=k) / n
        ym = np.bincount(idx, y, minlength=k) / n
    dx = x - xm[idx]
    sxx = np.bincount(idx, dx * dx, minlength=k)
    ok = (n >= MIN_STRATUM) & (sxx > 0) & (ym > 0)
    keep = ok[idx]
    if keep.sum() < MIN_SAMPLE:
        return float("nan")
    dxk = dx[keep]
    slope = float(np.dot(dxk, y[keep] / ym[idx][keep] - 1) / np.dot(dxk, dxk))
    if slope <= 0:
        return float("nan")
    x_mean = float(np.sum(sxx[ok] * xm[ok]) / np.sum(sxx[ok]))
    return max(1 / slope - x_mean, 0.0)


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
    if method == "c-correction":
        reference = cos_sun
    elif method == "scs+c":
        reference = cos_slope * cos_sun
    else:
        raise ValueError(f"unknown terrain correction method {method!r} (use one of {', '.join(METHODS)})")
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (reference + c) / (np.maximum(cos_i, 0.0) + c)
    ok = np.isfinite(cos_i) & bool(np.isfinite(c))
    out: np.ndarray = np.where(ok, np.minimum(f, FACTOR_MAX), 1.0).astype(np.float32)
    return out


def read_dem(path: Path, geobox: GeoBox) -> np.ndarray:
    """Heights of the DEM file at ``path`` on ``geobox`` (float32, NaN where it has none).

    Resampled by :func:`sporbar.raster.read_on_grid` (mean of finer cells, else bilinear).

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: it cannot be read, or covers no pixel of the tile (names the file and tile bounds).
    """
    from sporbar.raster import read_on_grid

    out = read_on_grid(path, geobox, what="DEM (ard.terrain.dem)")
    if not np.isfinite(out).any():
        raise InputDataError(
            f"{path}: the DEM covers no pixel of the tile {tuple(round(v) for v in geobox.boundingbox)} "
            f"({geobox.crs}); give a DEM that covers it in ard.terrain.dem, or set ard.terrain.method: none"
        )
    return out
