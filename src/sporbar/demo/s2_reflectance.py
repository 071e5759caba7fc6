"""Simulated Sentinel-2 L2A reflectance and scene classification of the demo landscape.

Reflectance follows the class and the season (green-up, farmland harvest in August,
senescence in September); clouds are bright smooth blobs with shadows cast away from
the sun, and both are marked in the scene classification (SCL) as Sen2Cor would.
Digital numbers follow processing baseline 05.10: ``DN = reflectance * 10000 + 1000``.
The granule is in UTM 32N (EPSG:32632, MGRS 32VNR) while the landscape is in UTM 33N.
Same config, same numbers: no clock is read and every random draw is seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds
from scipy import ndimage

from sporbar.bands import BAND_IDS
from sporbar.demo.landscape import DemoClass, Landscape
from sporbar.demo.names import DEMO_S2_CRS

GRANULE_MARGIN = 120  # metres of granule around the area (the landscape has 300 m)
QUANTIFICATION = 10000
BOA_OFFSET = -1000
CLOUD_HEIGHT = 700.0  # metres; sets how far shadows fall from their clouds
ANGLE_STEP = 5000  # metres between the nodes of the MTD_TL.xml angle grids, as in real granules


# SCL classes (Sen2Cor)
SCL_NODATA, SCL_SHADOW, SCL_VEG, SCL_NOT_VEG, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH = 8, 9

# Bands the demo L2A products hold, in bandId order (B10 is an L1C-only cirrus band).
SPECTRAL_ORDER = [b for b in BAND_IDS if b != "B10"]
# Reflectance spectra per class: (off-season / bare, peak season), bands in SPECTRAL_ORDER.
_SPECTRA: dict[DemoClass, tuple[list[float], list[float]]] = {
    DemoClass.forest: (
        [0.025, 0.03, 0.05, 0.035, 0.07, 0.16, 0.20, 0.22, 0.23, 0.23, 0.14, 0.07],
        [0.02, 0.025, 0.045, 0.025, 0.07, 0.20, 0.26, 0.28, 0.30, 0.30, 0.14, 0.06],
    ),
    DemoClass.mire: (
        [0.04, 0.05, 0.07, 0.07, 0.10, 0.13, 0.15, 0.16, 0.17, 0.17, 0.18, 0.11],
        [0.03, 0.04, 0.06, 0.045, 0.09, 0.18, 0.22, 0.24, 0.25, 0.25, 0.17, 0.09],
    ),
    DemoClass.heath: (
        [0.045, 0.05, 0.07, 0.08, 0.11, 0.14, 0.16, 0.17, 0.18, 0.18, 0.22, 0.15],
        [0.035, 0.04, 0.06, 0.05, 0.09, 0.17, 0.21, 0.23, 0.24, 0.24, 0.20, 0.12],
    ),
    DemoClass.farmland: (
        [0.06, 0.07, 0.10, 0.13, 0.16, 0.18, 0.20, 0.22, 0.23, 0.23, 0.30, 0.25],
        [0.02, 0.025, 0.06, 0.03, 0.09, 0.30, 0.40, 0.42, 0.44, 0.44, 0.20, 0.09],
    ),
    DemoClass.water: (
        [0.05, 0.05, 0.04, 0.025, 0.02, 0.015, 0.012, 0.01, 0.009, 0.008, 0.005, 0.004],
        [0.05, 0.05, 0.045, 0.03, 0.025, 0.018, 0.014, 0.012, 0.01, 0.009, 0.005, 0.004],
    ),
    DemoClass.bare_rock: (
        [0.14, 0.15, 0.17, 0.19, 0.21, 0.22, 0.23, 0.24, 0.25, 0.25, 0.27, 0.24],
        [0.14, 0.15, 0.17, 0.19, 0.21, 0.22, 0.23, 0.24, 0.25, 0.25, 0.27, 0.24],
    ),
    DemoClass.built_up: (
        [0.09, 0.10, 0.11, 0.12, 0.14, 0.16, 0.17, 0.18, 0.19, 0.19, 0.22, 0.20],
        [0.09, 0.10, 0.11, 0.12, 0.14, 0.16, 0.17, 0.18, 0.19, 0.19, 0.22, 0.20],
    ),
}
# Terrain illumination: reflectance seen = flat reflectance * (cos(i) + c) / (cos(sz) + c), the
# model of the C-correction, with c larger where diffuse sky light is a larger share (short
# wavelengths); bands in SPECTRAL_ORDER.
TERRAIN_C = [0.9, 0.7, 0.55, 0.45, 0.4, 0.33, 0.3, 0.28, 0.28, 0.3, 0.2, 0.18]
# Within-class variability, so that classes overlap as in real data: relative brightness
# change per spectral region (1 sigma), phenology shift (days, 1 sigma), neighbour mixing.
PATCH_VARIATION = 0.22
PHENOLOGY_SHIFT_DAYS = 12.0
EDGE_MIXING = 0.35
# Spectral region (index into the patch fields) of each band in SPECTRAL_ORDER.
_REGION_OF_BAND = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2]
_CLOUD = [0.52, 0.50, 0.50, 0.51, 0.52, 0.53, 0.53, 0.54, 0.54, 0.40, 0.38, 0.30]
# Phenology: (day of year, fraction of peak) nodes per class; farmland is cut in August.
_PHENOLOGY: dict[DemoClass, list[tuple[int, float]]] = {
    DemoClass.forest: [(100, 0.2), (160, 0.8), (195, 1.0), (235, 0.95), (275, 0.5)],
    DemoClass.mire: [(100, 0.0), (165, 0.6), (200, 1.0), (235, 0.8), (275, 0.2)],
    DemoClass.heath: [(100, 0.0), (165, 0.6), (200, 1.0), (235, 0.8), (275, 0.3)],
    DemoClass.farmland: [(100, 0.0), (150, 0.3), (180, 1.0), (215, 0.9), (225, 0.0), (275, 0.15)],
}


@dataclass(frozen=True)
class GranuleGrid:
    """The demo granule's 10 m grid in EPSG:32632 (origin aligned to 60 m)."""

    ulx: float
    uly: float
    nrows10: int
    ncols10: int

    def transform(self, res: int) -> Affine:
        """Affine of the ``res`` m grid."""
        return Affine(res, 0, self.ulx, 0, -res, self.uly)

    def shape(self, res: int) -> tuple[int, int]:
        """(rows, cols) at ``res`` m."""
        return self.nrows10 * 10 // res, self.ncols10 * 10 // res


def granule_grid(bbox_25833: tuple[float, float, float, float]) -> GranuleGrid:
    """The granule covering ``bbox_25833`` plus a margin, snapped outwards to 60 m in EPSG:32632."""
    m = GRANULE_MARGIN
    b = (bbox_25833[0] - m, bbox_25833[1] - m, bbox_25833[2] + m, bbox_25833[3] + m)
    minx, miny, maxx, maxy = transform_bounds("EPSG:25833", DEMO_S2_CRS, *b, densify_pts=21)
    x0, y0 = math.floor(minx / 60) * 60, math.floor(miny / 60) * 60
    x1, y1 = math.ceil(maxx / 60) * 60, math.ceil(maxy / 60) * 60
    return GranuleGrid(
        ulx=float(x0), uly=float(y1), nrows10=int(y1 - y0) // 10, ncols10=int(x1 - x0) // 10
    )


def _phenology(cls: DemoClass, doy: np.ndarray) -> np.ndarray:
    """Fraction of peak greenness on day(s) of year ``doy`` (1 for classes without a season)."""
    nodes = _PHENOLOGY.get(cls)
    if nodes is None:
        return np.ones_like(doy, dtype=np.float64)
    return cast(np.ndarray, np.interp(doy, [n[0] for n in nodes], [n[1] for n in nodes]))


def sun_angles(day: date, lat: float, lon: float) -> tuple[float, float]:
    """Approximate (zenith, azimuth) in degrees at the demo sensing time 10:40:31 UTC."""
    doy = day.timetuple().tm_yday
    decl = math.radians(23.44 * math.sin(math.radians(360 / 365 * (doy - 81))))
    solar_hours = 10 + 40.5 / 60 + lon / 15
    ha = math.radians(15 * (solar_hours - 12))
    phi = math.radians(lat)
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    zen = math.acos(max(-1.0, min(1.0, cos_z)))
    az = math.atan2(math.sin(ha), math.cos(ha) * math.sin(phi) - math.tan(decl) * math.cos(phi))
    return round(math.degrees(zen), 6), round((math.degrees(az) + 180) % 360, 6)


def angle_node_shape(grid: GranuleGrid) -> tuple[int, int]:
    """(rows, cols) of the granule's angle grids: nodes every ANGLE_STEP m from its corner, past its far edge."""
    rows, cols = grid.shape(10)
    return rows * 10 // ANGLE_STEP + 2, cols * 10 // ANGLE_STEP + 2


def sun_angle_grid(grid: GranuleGrid, day: date) -> tuple[np.ndarray, np.ndarray]:
    """Sun (zenith, azimuth) in degrees at every angle-grid node of the granule."""
    from rasterio.warp import transform as transform_points

    nr, nc = angle_node_shape(grid)
    cc, rr = np.meshgrid(np.arange(nc), np.arange(nr))
    xs = (grid.ulx + cc * ANGLE_STEP).ravel().tolist()
    ys = (grid.uly - rr * ANGLE_STEP).ravel().tolist()
    lons, lats = transform_points(DEMO_S2_CRS, "EPSG:4326", xs, ys)
    angles = np.array([sun_angles(day, la, lo) for la, lo in zip(lats, lons, strict=True)])
    return angles[:, 0].reshape(nr, nc), angles[:, 1].reshape(nr, nc)


def _on_granule(values: np.ndarray, landscape: Landscape, grid: GranuleGrid, resampling: Resampling,
                nodata: int | None = None) -> np.ndarray:
    """``values`` on the landscape's grid, reprojected onto the granule's 10 m grid (0 where none)."""
    out = np.zeros(grid.shape(10), values.dtype)
    reproject(
        values,
        out,
        src_transform=landscape.transform,
        src_crs=landscape.crs,
        dst_transform=grid.transform(10),
        dst_crs=DEMO_S2_CRS,
        resampling=resampling,
        **({} if nodata is None else {"src_nodata": nodata, "dst_nodata": nodata}),
    )
    return out


def sample_elevation(landscape: Landscape, grid: GranuleGrid) -> np.ndarray:
    """The landscape's terrain height (bilinear) on the granule's 10 m grid, float32."""
    return _on_granule(landscape.elevation.astype(np.float32, copy=False), landscape, grid, Resampling.bilinear)


def terrain_illumination(elevation: np.ndarray, sun: tuple[float, float]) -> np.ndarray:
    """Per band (SPECTRAL_ORDER), the factor terrain puts on flat reflectance: (12, y, x) float32.

    ``(max(cos i, 0) + c) / (cos sz + c)`` with ``c`` of TERRAIN_C and ``i`` the angle between the
    sun (``sun`` = zenith, azimuth in degrees) and the terrain normal of ``elevation`` (10 m grid).
    """
    d_row, d_col = np.gradient(elevation.astype(np.float64), 10.0)
    p, q = d_col, -d_row  # dz/d(east), dz/d(north): rows run south
    n = np.sqrt(1 + p * p + q * q)
    sz, sa = math.radians(sun[0]), math.radians(sun[1])
    cos_i = (math.cos(sz) - p * math.sin(sz) * math.sin(sa) - q * math.sin(sz) * math.cos(sa)) / n
    c = np.asarray(TERRAIN_C, np.float64)[:, None, None]
    out: np.ndarray = ((np.maximum(cos_i, 0)[None] + c) / (math.cos(sz) + c)).astype(np.float32)
    return out


def smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A smooth random field (Gaussian-filtered noise, ``sigma`` pixels), zero mean and unit std."""
    f: np.ndarray = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    f -= f.mean()
    return f / max(float(f.std()), 1e-9)


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over ``k`` x ``k`` pixel blocks of the last two axes (edges that do not fill a block dropped)."""
    ny, nx = a.shape[-2] // k, a.shape[-1] // k
    means: np.ndarray = a[..., : ny * k, : nx * k].reshape(*a.shape[:-2], ny, k, nx, k).mean(axis=(-3, -1))
    return means


def sample_classes(landscape: Landscape, grid: GranuleGrid) -> np.ndarray:
    """The landscape classes (nearest neighbour) on the granule's 10 m grid; 0 outside."""
    return _on_granule(landscape.classes.astype(np.uint8, copy=False), landscape, grid, Resampling.nearest, nodata=0)


@dataclass(frozen=True)
class SimulatedScene:
    """One simulated date on the granule's 10 m grid."""

    reflectance: np.ndarray  # (12, y, x) float32, SPECTRAL_ORDER, 10 m
    scl: np.ndarray  # (y, x) uint8, 10 m
    valid: np.ndarray  # (y, x) bool


def simulate(
    classes: np.ndarray,
    texture: np.ndarray,
    patches: np.ndarray,
    day: date,
    sun: tuple[float, float],
    cloud_fraction: float,
    rng: np.random.Generator,
    illumination: np.ndarray | None = None,
) -> SimulatedScene:
    """Reflectance, SCL and valid mask of one date.

    Class spectra at the date's phenology, patch variation, mixed edges, terrain illumination
    (``illumination`` from :func:`terrain_illumination`, if given), sensor noise, then clouds and
    their shadows (``sun`` = (zenith, azimuth)).
    """
    ny, nx = classes.shape
    doy = day.timetuple().tm_yday
    refl = np.zeros((12, ny, nx), np.float32)
    for cls, (low, peak) in _SPECTRA.items():
        sel = classes == cls
        if not sel.any():
            continue
        # Phenology runs earlier or later from patch to patch (aspect, altitude, management).
        f = _phenology(cls, doy + PHENOLOGY_SHIFT_DAYS * patches[3][sel])
        lo, pk = np.asarray(low)[:, None], np.asarray(peak)[:, None]
        spec = lo + f[None, :] * (pk - lo)
        # Patches differ in brightness per spectral region (visible, red edge/NIR, SWIR):
        # species mix, moisture, soil; plus fine texture.
        region = patches[_REGION_OF_BAND][:, sel]
        refl[:, sel] = spec * (1 + PATCH_VARIATION * region) * (1 + 0.08 * texture[sel])[None, :]
    # Mixed pixels: each 10 m pixel sees some of its neighbours (sensor PSF, class edges).
    blurred = ndimage.gaussian_filter(refl, sigma=(0, 1.0, 1.0), mode="nearest")
    refl = (1 - EDGE_MIXING) * refl + EDGE_MIXING * blurred
    if illumination is not None:
        refl *= illumination
    refl += rng.normal(0, 0.01, refl.shape).astype(np.float32)
    np.clip(refl, 0.001, None, out=refl)

    # Clouds: smooth blobs on a padded field, so shadows of clouds outside also fall in.
    zen, az = sun
    shift = CLOUD_HEIGHT * math.tan(math.radians(zen)) / 10  # pixels
    dr, dc = -math.cos(math.radians(az)) * shift, math.sin(math.radians(az)) * shift
    pad = int(math.ceil(shift)) + 2
    field = smooth(rng, (ny + 2 * pad, nx + 2 * pad), 9.0)
    frac = float(np.clip(cloud_fraction * rng.uniform(0.2, 1.8), 0.0, 0.9))
    thr = np.quantile(field, 1 - frac) if frac > 0 else np.inf
    opacity_big = np.clip((field - thr) / 0.8, 0, 1) ** 0.7 if frac > 0 else np.zeros_like(field)
    opacity = opacity_big[pad : pad + ny, pad : pad + nx]
    # Shadow at p is cast by the cloud at p + (towards the sun) * shift.
    r0, c0 = pad + int(round(dr)), pad + int(round(dc))
    shadow = opacity_big[r0 : r0 + ny, c0 : c0 + nx] * (opacity < 0.02)

    refl *= (1 - 0.65 * shadow)[None]
    cloud = np.asarray(_CLOUD, np.float32)[:, None, None]
    refl = refl * (1 - opacity)[None] + cloud * (1 + 0.05 * texture)[None] * opacity[None]

    red, nir = refl[3], refl[7]
    ndvi = (nir - red) / (nir + red)
    scl = np.where(ndvi > 0.4, SCL_VEG, SCL_NOT_VEG).astype(np.uint8)
    scl[classes == DemoClass.water] = SCL_WATER
    scl[shadow > 0.03] = SCL_SHADOW
    scl[opacity > 0.02] = SCL_CLOUD_MEDIUM
    scl[opacity > 0.5] = SCL_CLOUD_HIGH
    valid = classes != 0
    scl[~valid] = SCL_NODATA
    return SimulatedScene(reflectance=refl.astype(np.float32), scl=scl, valid=valid)


def to_dn(refl: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """L2A digital numbers (baseline 05.10: ``reflectance * 10000 + 1000``); 0 where not ``valid``."""
    dn: np.ndarray = np.clip(np.rint(refl * QUANTIFICATION - BOA_OFFSET), 1, 65534).astype(np.uint16)
    dn[..., ~valid] = 0
    return dn


def scene_percentages(scl: np.ndarray) -> dict[str, float]:
    """The Image_Content_QI percentages of an SCL raster (of valid pixels; no-data of all)."""
    n = scl.size
    valid = max(int((scl != SCL_NODATA).sum()), 1)

    def pct(*cls: int) -> float:
        return 100.0 * float(np.isin(scl, cls).sum()) / valid

    return {
        "CLOUDY_PIXEL_PERCENTAGE": pct(SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, 10),
        "NODATA_PIXEL_PERCENTAGE": 100.0 * float((scl == SCL_NODATA).sum()) / n,
        "CLOUD_SHADOW_PERCENTAGE": pct(SCL_SHADOW),
        "VEGETATION_PERCENTAGE": pct(SCL_VEG),
        "NOT_VEGETATED_PERCENTAGE": pct(SCL_NOT_VEG),
        "WATER_PERCENTAGE": pct(SCL_WATER),
        "MEDIUM_PROBA_CLOUDS_PERCENTAGE": pct(SCL_CLOUD_MEDIUM),
        "HIGH_PROBA_CLOUDS_PERCENTAGE": pct(SCL_CLOUD_HIGH),
        "THIN_CIRRUS_PERCENTAGE": pct(10),
    }
