"""BRDF normalisation to nadir view by the c-factor method (Roy et al. 2016), as HLS and FORCE do.

The reflectance of a band is multiplied by ``c = R(sun, nadir view) / R(sun, view)``, with
``R = f_iso + f_vol K_vol + f_geo K_geo`` the RossThick-LiSparse-Reciprocal model (Lucht et al.
2000) with fixed, MODIS-derived coefficients per band. Only the view is normalised (to nadir);
the sun zenith stays the observed one, so the terrain correction (which needs it) and BRDF do
not fight. Kernels are evaluated at the tile's angle nodes (:mod:`sporbar.ard.angles`), which
vary smoothly; the factor is upsampled to the pixels.
"""

from __future__ import annotations

import numpy as np

# (f_iso, f_vol, f_geo) per band: Roy et al. 2016 (RSE 176, 255-271) table 1 for the Landsat-like
# bands; the red-edge bands as HLS v2 uses them (Roy et al. 2017, RSE 199, 25-38). Every value agrees
# with the independent table of mapchete-eo (platforms/sentinel2/brdf/config.py, same two papers).
COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "B02": (0.0774, 0.0372, 0.0079),
    "B03": (0.1306, 0.0580, 0.0178),
    "B04": (0.1690, 0.0574, 0.0227),
    "B05": (0.2085, 0.0845, 0.0256),
    "B06": (0.2316, 0.1003, 0.0273),
    "B07": (0.2599, 0.1197, 0.0294),
    "B08": (0.3093, 0.1535, 0.0330),
    "B8A": (0.3093, 0.1535, 0.0330),
    "B11": (0.3430, 0.1154, 0.0453),
    "B12": (0.2658, 0.0639, 0.0387),
}
# LiSparse-R crown shape: b/r (vertical to horizontal radius) and h/b (centre height to vertical radius)
BR_RATIO = 1.0
HB_RATIO = 2.0


def _phase(cos_s: np.ndarray, cos_v: np.ndarray, sin_s: np.ndarray, sin_v: np.ndarray,
           cos_phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cos, angle) of the phase angle between the sun and view directions."""
    c = np.clip(cos_s * cos_v + sin_s * sin_v * cos_phi, -1.0, 1.0)
    return c, np.arccos(c)


def ross_thick(sun_zenith: np.ndarray, view_zenith: np.ndarray, relative_azimuth: np.ndarray) -> np.ndarray:
    """RossThick volume-scattering kernel (Lucht et al. 2000, eq. 38); angles in radians.

    ``relative_azimuth`` is the view azimuth minus the sun azimuth, both the directions from the
    pixel towards the sensor and the sun (the ``MTD_TL.xml`` convention): 0 puts the sensor on the
    sun's side (backscatter, the hotspot where the zeniths are equal).
    """
    cs, cv = np.cos(sun_zenith), np.cos(view_zenith)
    c, xi = _phase(cs, cv, np.sin(sun_zenith), np.sin(view_zenith), np.cos(relative_azimuth))
    out: np.ndarray = ((np.pi / 2 - xi) * c + np.sin(xi)) / (cs + cv) - np.pi / 4
    return out


def li_sparse(sun_zenith: np.ndarray, view_zenith: np.ndarray, relative_azimuth: np.ndarray) -> np.ndarray:
    """LiSparse-Reciprocal geometric kernel (Lucht et al. 2000, eqs. 39-44), b/r = 1, h/b = 2; radians."""
    ts = np.arctan(BR_RATIO * np.tan(sun_zenith))
    tv = np.arctan(BR_RATIO * np.tan(view_zenith))
    cs, cv, ss, sv = np.cos(ts), np.cos(tv), np.sin(ts), np.sin(tv)
    cos_phi = np.cos(relative_azimuth)
    c, _ = _phase(cs, cv, ss, sv, cos_phi)
    tan_s, tan_v = ss / cs, sv / cv
    d = np.sqrt(np.maximum(tan_s**2 + tan_v**2 - 2 * tan_s * tan_v * cos_phi, 0.0))
    sec = 1 / cs + 1 / cv
    cos_t = np.clip(HB_RATIO * np.sqrt(d**2 + (tan_s * tan_v * np.sin(relative_azimuth)) ** 2) / sec, -1.0, 1.0)
    t = np.arccos(cos_t)
    overlap = (t - np.sin(t) * cos_t) * sec / np.pi
    out: np.ndarray = overlap - sec + 0.5 * (1 + c) / (cs * cv)
    return out


def c_factor(band: str, sun_zenith: np.ndarray, view_zenith: np.ndarray, relative_azimuth: np.ndarray) -> np.ndarray:
    """Factor that takes ``band``'s reflectance to nadir view (same sun); angles in degrees.

    Raises:
        KeyError: no coefficients for ``band``.
    """
    f_iso, f_vol, f_geo = COEFFICIENTS[band]
    sz, vz, ra = np.radians(sun_zenith), np.radians(view_zenith), np.radians(relative_azimuth)
    zero = np.zeros_like(vz)
    nadir = f_iso + f_vol * ross_thick(sz, zero, zero) + f_geo * li_sparse(sz, zero, zero)
    observed = f_iso + f_vol * ross_thick(sz, vz, ra) + f_geo * li_sparse(sz, vz, ra)
    out: np.ndarray = nadir / observed
    return out
