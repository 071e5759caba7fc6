"""Synthetic Sentinel-2 L2A products in the real SAFE layout, sampled from the demo landscape.

Each demo date becomes one ``<scene>.SAFE`` folder with ``manifest.safe`` (standard
dataObject IDs such as ``S2_Level-2A_Product_Metadata``), ``MTD_MSIL2A.xml``,
``INSPIRE.xml``, ``DATASTRIP/<ds>/MTD_DS.xml``, ``GRANULE/<granule>/MTD_TL.xml`` and
lossless JPEG 2000 bands in ``IMG_DATA/R10m|R20m|R60m``, as delivered by the Copernicus
Data Space, so that stactools-sentinel2 reads it as it reads a real product. The granule
is in UTM 32N (EPSG:32632, MGRS 32VNR) while the landscape and the output grid are in
UTM 33N, so the ARD step really reprojects.

Reflectance follows the class and the season (green-up, farmland harvest in August,
senescence in September); clouds are bright smooth blobs with shadows cast away from
the sun, and both are marked in the scene classification (SCL) as Sen2Cor would.
Digital numbers follow processing baseline 05.10: ``DN = reflectance * 10000 + 1000``.
Same config, same bytes: no clock is read and every random draw is seeded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.warp import transform as transform_points
from scipy import ndimage

from sporbar.config import Config
from sporbar.demo.landscape import DemoClass, Landscape
from sporbar.fetch.safe import BAND_IDS, NATIVE_RESOLUTION
from sporbar.io import atomic_path
from sporbar.workflow import plan

log = logging.getLogger(__name__)

# Files written per resolution folder (as in real L2A products, minus AOT/WVP/TCI).
FILES_PER_RES: dict[int, list[str]] = {
    10: ["B02", "B03", "B04", "B08"],
    20: ["B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL"],
    60: ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "SCL"],
}
GRANULE_MARGIN = 120  # metres of granule around the area (the landscape has 300 m)
QUANTIFICATION = 10000
BOA_OFFSET = -1000
CLOUD_HEIGHT = 700.0  # metres; sets how far shadows fall from their clouds
# Solar irradiance (W/m2/um) per bandId as in the products' Reflectance_Conversion.
SOLAR_IRRADIANCE: dict[str, tuple[float, ...]] = {
    "S2A": (1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32,
            812.92, 367.15, 245.59, 85.25),
    "S2B": (1874.3, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28, 953.93,
            817.58, 365.41, 247.08, 87.75),
}
# Mean viewing incidence angles (zenith, azimuth; degrees) of the demo granule per bandId:
# the same relative orbit sees the tile from the same direction on every date; the bands
# differ a little because their detectors sit at different places in the focal plane.
VIEW_ZENITH, VIEW_AZIMUTH = 4.87, 104.6
_VIEW_BAND_SHIFT = (0.062, -0.041, -0.027, -0.013, 0.004, 0.018, 0.031, -0.035, 0.045, 0.069,
                    0.051, 0.027, 0.049)

# SCL classes (Sen2Cor)
SCL_NODATA, SCL_SHADOW, SCL_VEG, SCL_NOT_VEG, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH = 8, 9
SCL_NAMES = [
    "NO_DATA",
    "SATURATED_DEFECTIVE",
    "CAST_SHADOWS",
    "CLOUD_SHADOW",
    "VEGETATION",
    "NOT_VEGETATED",
    "WATER",
    "UNCLASSIFIED",
    "CLOUD_MEDIUM_PROBA",
    "CLOUD_HIGH_PROBA",
    "THIN_CIRRUS",
    "SNOW_ICE",
]

# Bands the demo L2A products hold, in bandId order (B10 is an L1C-only cirrus band).
_SPECTRAL_ORDER = [b for b in BAND_IDS if b != "B10"]
# Reflectance spectra per class: (off-season / bare, peak season), bands in _SPECTRAL_ORDER.
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
# Within-class variability, so that classes overlap as in real data: relative brightness
# change per spectral region (1 sigma), phenology shift (days, 1 sigma), neighbour mixing.
PATCH_VARIATION = 0.22
PHENOLOGY_SHIFT_DAYS = 12.0
EDGE_MIXING = 0.35
# Spectral region (index into the patch fields) of each band in _SPECTRAL_ORDER.
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
    minx, miny, maxx, maxy = transform_bounds("EPSG:25833", plan.DEMO_S2_CRS, *b, densify_pts=21)
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
    return np.interp(doy, [n[0] for n in nodes], [n[1] for n in nodes])


def _sun_angles(day: date, lat: float, lon: float) -> tuple[float, float]:
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


def _earth_sun_factor(day: date) -> float:
    """Reflectance_Conversion/U of ``day``: the Earth-Sun distance correction (ESA formula)."""
    doy = day.timetuple().tm_yday
    return round(1.0 / (1.0 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2, 14)


def _smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    f -= f.mean()
    return f / max(float(f.std()), 1e-9)


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    ny, nx = a.shape[-2] // k, a.shape[-1] // k
    return a[..., : ny * k, : nx * k].reshape(*a.shape[:-2], ny, k, nx, k).mean(axis=(-3, -1))


def _sample_classes(landscape: Landscape, grid: GranuleGrid) -> np.ndarray:
    out = np.zeros(grid.shape(10), np.uint8)
    reproject(
        landscape.classes,
        out,
        src_transform=landscape.transform,
        src_crs=landscape.crs,
        dst_transform=grid.transform(10),
        dst_crs=plan.DEMO_S2_CRS,
        src_nodata=0,
        dst_nodata=0,
        resampling=Resampling.nearest,
    )
    return out


@dataclass(frozen=True)
class _Scene:
    reflectance: np.ndarray  # (12, y, x) float32, _SPECTRAL_ORDER, 10 m
    scl: np.ndarray  # (y, x) uint8, 10 m
    valid: np.ndarray  # (y, x) bool


def _simulate(
    classes: np.ndarray,
    texture: np.ndarray,
    patches: np.ndarray,
    day: date,
    sun: tuple[float, float],
    cloud_fraction: float,
    rng: np.random.Generator,
) -> _Scene:
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
    refl += rng.normal(0, 0.01, refl.shape).astype(np.float32)
    np.clip(refl, 0.001, None, out=refl)

    # Clouds: smooth blobs on a padded field, so shadows of clouds outside also fall in.
    zen, az = sun
    shift = CLOUD_HEIGHT * math.tan(math.radians(zen)) / 10  # pixels
    dr, dc = -math.cos(math.radians(az)) * shift, math.sin(math.radians(az)) * shift
    pad = int(math.ceil(shift)) + 2
    field = _smooth(rng, (ny + 2 * pad, nx + 2 * pad), 9.0)
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
    return _Scene(reflectance=refl.astype(np.float32), scl=scl, valid=valid)


def _to_dn(refl: np.ndarray, valid: np.ndarray) -> np.ndarray:
    dn = np.clip(np.rint(refl * QUANTIFICATION - BOA_OFFSET), 1, 65534).astype(np.uint16)
    dn[..., ~valid] = 0
    return dn


def _write_jp2(path: Path, data: np.ndarray, transform: Affine) -> None:
    profile: dict[str, Any] = {
        "driver": "JP2OpenJPEG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": plan.DEMO_S2_CRS,
        "transform": transform,
        "nodata": 0,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        rasterio.open(path, "w", **profile, QUALITY=100, REVERSIBLE="YES", YCBCR420="NO") as ds,
    ):
        ds.write(data, 1)


def _names(scene: str, day: date, index: int) -> dict[str, str]:
    platform = scene[:3]
    d = day.strftime("%Y%m%d")
    base = {"S2A": 46000, "S2B": 37400}[platform]
    orbit = base + (day - date(2024, 5, 1)).days * 14 + 1
    tile = plan.DEMO_MGRS_TILE
    stamp = f"{d}T130000"
    return {
        "platform": platform,
        "spacecraft": "Sentinel-2A" if platform == "S2A" else "Sentinel-2B",
        "granule": f"L2A_T{tile}_A{orbit:06d}_{d}{plan.DEMO_SENSING_TIME}",
        "prefix": f"T{tile}_{d}{plan.DEMO_SENSING_TIME}",
        "orbit": str(orbit),
        "tile_id": f"{platform}_OPER_MSI_L2A_TL_2APS_{stamp}_A{orbit:06d}_T{tile}_N05.10",
        "datastrip_id": (
            f"{platform}_OPER_MSI_L2A_DS_2APS_{stamp}_S{d}{plan.DEMO_SENSING_TIME}_N05.10"
        ),
        "datastrip_dir": f"DS_2APS_{stamp}_S{d}{plan.DEMO_SENSING_TIME}",
        "datatake_id": f"G{platform}_{scene[11:26]}_{orbit:06d}_N05.10",
        "sensing": f"{day.isoformat()}T10:40:31.024Z",
        "generation": f"{day.isoformat()}T13:00:00.000000Z",
        "rel_orbit": str(int(plan.DEMO_RELATIVE_ORBIT[1:])),
    }


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, "  ")
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="utf-8") + b"\n"


def _footprint(grid: GranuleGrid) -> list[tuple[float, float]]:
    """Granule corners as (lat, lon), closed ring, counter-clockwise from upper left."""
    rows, cols = grid.shape(10)
    x0, y1 = grid.ulx, grid.uly
    x1, y0 = x0 + cols * 10, y1 - rows * 10
    xs, ys = [x0, x0, x1, x1, x0], [y1, y0, y0, y1, y1]
    lons, lats = transform_points(plan.DEMO_S2_CRS, "EPSG:4326", xs, ys)
    return [(round(la, 9), round(lo, 9)) for la, lo in zip(lats, lons, strict=True)]


def _product_xml(
    scene: str,
    n: dict[str, str],
    image_files: list[str],
    grid: GranuleGrid,
    cloud: float,
    pct: dict[str, float],
) -> bytes:
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_User_Product")
    gi = _sub(root, f"{{{ns}}}General_Info")
    pi = _sub(gi, "Product_Info")
    _sub(pi, "PRODUCT_START_TIME", n["sensing"])
    _sub(pi, "PRODUCT_STOP_TIME", n["sensing"])
    _sub(pi, "PRODUCT_URI", f"{scene}.SAFE")
    _sub(pi, "PROCESSING_LEVEL", "Level-2A")
    _sub(pi, "PRODUCT_TYPE", "S2MSI2A")
    _sub(pi, "PROCESSING_BASELINE", "05.10")
    _sub(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-znk9xsj")
    _sub(pi, "GENERATION_TIME", n["generation"])
    _sub(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(pi, "PREVIEW_GEO_INFO", "Not applicable")
    dt = _sub(pi, "Datatake", datatakeIdentifier=n["datatake_id"])
    _sub(dt, "SPACECRAFT_NAME", n["spacecraft"])
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "DATATAKE_SENSING_START", n["sensing"])
    _sub(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    _sub(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    qo = _sub(pi, "Query_Options", completeSingleTile="true")
    _sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    po = _sub(pi, "Product_Organisation")
    gl = _sub(po, "Granule_List")
    g = _sub(
        gl,
        "Granule",
        datastripIdentifier=n["datastrip_id"],
        granuleIdentifier=n["tile_id"],
        imageFormat="JPEG2000",
    )
    for f in image_files:
        _sub(g, "IMAGE_FILE", f)
    pic = _sub(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", "0"), ("SATURATED", "65535")):
        sv = _sub(pic, "Special_Values")
        _sub(sv, "SPECIAL_VALUE_TEXT", text)
        _sub(sv, "SPECIAL_VALUE_INDEX", idx)
    ql = _sub(pic, "QUANTIFICATION_VALUES_LIST")
    _sub(ql, "BOA_QUANTIFICATION_VALUE", str(QUANTIFICATION), unit="none")
    _sub(ql, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
    _sub(ql, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
    ol = _sub(pic, "BOA_ADD_OFFSET_VALUES_LIST")
    for i in range(len(BAND_IDS)):
        _sub(ol, "BOA_ADD_OFFSET", str(BOA_OFFSET), band_id=str(i))
    rc = _sub(pic, "Reflectance_Conversion")
    _sub(rc, "U", repr(_earth_sun_factor(date.fromisoformat(n["sensing"][:10]))))
    sl = _sub(rc, "Solar_Irradiance_List")
    for i, e in enumerate(SOLAR_IRRADIANCE[n["platform"]]):
        _sub(sl, "SOLAR_IRRADIANCE", str(e), bandId=str(i), unit="W/m²/µm")
    sil = _sub(pic, "Spectral_Information_List")
    for i, b in enumerate(BAND_IDS):
        physical = b if b == "B8A" else f"B{int(b[1:])}"
        si = _sub(sil, "Spectral_Information", bandId=str(i), physicalBand=physical)
        _sub(si, "RESOLUTION", str(NATIVE_RESOLUTION[b]))
    scl = _sub(pic, "Scene_Classification_List")
    for i, name in enumerate(SCL_NAMES):
        sc = _sub(scl, "Scene_Classification_ID")
        _sub(sc, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
        _sub(sc, "SCENE_CLASSIFICATION_INDEX", str(i))
    geo = _sub(root, f"{{{ns}}}Geometric_Info")
    pf = _sub(_sub(_sub(geo, "Product_Footprint"), "Product_Footprint"), "Global_Footprint")
    _sub(pf, "EXT_POS_LIST", " ".join(f"{la} {lo}" for la, lo in _footprint(grid)) + " ")
    _sub(geo, "RASTER_CS_TYPE", "POINT")
    _sub(geo, "PIXEL_ORIGIN", "1")
    qi = _sub(root, f"{{{ns}}}Quality_Indicators_Info")
    _sub(qi, "Cloud_Coverage_Assessment", f"{cloud:.6f}")
    tq = _sub(qi, "Image_Content_QI")
    for k, v in pct.items():
        _sub(tq, k, f"{v:.6f}")
    return _xml_bytes(root)


def _tile_xml(
    n: dict[str, str], grid: GranuleGrid, sun: tuple[float, float], pct: dict[str, float]
) -> bytes:
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_Tile_ID")
    gi = _sub(root, f"{{{ns}}}General_Info")
    _sub(gi, "TILE_ID", n["tile_id"], metadataLevel="Brief")
    _sub(gi, "DATASTRIP_ID", n["datastrip_id"], metadataLevel="Standard")
    _sub(gi, "SENSING_TIME", n["sensing"], metadataLevel="Standard")
    geo = _sub(root, f"{{{ns}}}Geometric_Info")
    tg = _sub(geo, "Tile_Geocoding", metadataLevel="Brief")
    _sub(tg, "HORIZONTAL_CS_NAME", "WGS84 / UTM zone 32N")
    _sub(tg, "HORIZONTAL_CS_CODE", plan.DEMO_S2_CRS)
    for res in (10, 20, 60):
        rows, cols = grid.shape(res)
        s = _sub(tg, "Size", resolution=str(res))
        _sub(s, "NROWS", str(rows))
        _sub(s, "NCOLS", str(cols))
    for res in (10, 20, 60):
        gp = _sub(tg, "Geoposition", resolution=str(res))
        _sub(gp, "ULX", str(int(grid.ulx)))
        _sub(gp, "ULY", str(int(grid.uly)))
        _sub(gp, "XDIM", str(res))
        _sub(gp, "YDIM", str(-res))
    ta = _sub(geo, "Tile_Angles", metadataLevel="Standard")
    ms = _sub(ta, "Mean_Sun_Angle")
    _sub(ms, "ZENITH_ANGLE", str(sun[0]), unit="deg")
    _sub(ms, "AZIMUTH_ANGLE", str(sun[1]), unit="deg")
    vl = _sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, shift in enumerate(_VIEW_BAND_SHIFT):
        va = _sub(vl, "Mean_Viewing_Incidence_Angle", bandId=str(i))
        _sub(va, "ZENITH_ANGLE", f"{VIEW_ZENITH + shift:.6f}", unit="deg")
        _sub(va, "AZIMUTH_ANGLE", f"{VIEW_AZIMUTH + 25 * shift:.6f}", unit="deg")
    qi = _sub(root, f"{{{ns}}}Quality_Indicators_Info", metadataLevel="Standard")
    ic = _sub(qi, "Image_Content_QI")
    for k, v in pct.items():
        _sub(ic, k, f"{v:.6f}")
    return _xml_bytes(root)


def _inspire_xml(scene: str, n: dict[str, str], grid: GranuleGrid) -> bytes:
    """A small ISO 19139 ``INSPIRE.xml``: identifier, contact, dates, bounding box, time."""
    gmd, gco, gml = (
        "http://www.isotc211.org/2005/gmd",
        "http://www.isotc211.org/2005/gco",
        "http://www.opengis.net/gml",
    )
    for p, u in (("gmd", gmd), ("gco", gco), ("gml", gml)):
        ET.register_namespace(p, u)

    def g(parent: ET.Element, tag: str) -> ET.Element:
        return _sub(parent, f"{{{gmd}}}{tag}")

    def text(parent: ET.Element, tag: str, value: str, kind: str = "CharacterString") -> None:
        _sub(g(parent, tag), f"{{{gco}}}{kind}", value)

    def code(parent: ET.Element, tag: str, code_tag: str, value: str) -> None:
        _sub(
            g(parent, tag),
            f"{{{gmd}}}{code_tag}",
            value,
            codeList=f"http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#{code_tag}",
            codeListValue=value,
        )

    root = ET.Element(f"{{{gmd}}}MD_Metadata")
    text(root, "fileIdentifier", scene)
    code(root, "language", "LanguageCode", "eng")
    code(root, "characterSet", "MD_CharacterSetCode", "utf8")
    code(root, "hierarchyLevel", "MD_ScopeCode", "dataset")
    party = g(g(root, "contact"), "CI_ResponsibleParty")
    text(party, "organisationName", "ESA")
    address = g(g(g(party, "contactInfo"), "CI_Contact"), "address")
    text(g(address, "CI_Address"), "electronicMailAddress", "eosupport@copernicus.esa.int")
    code(party, "role", "CI_RoleCode", "pointOfContact")
    text(root, "dateStamp", n["generation"][:10], "Date")
    text(root, "metadataStandardName", "ISO19115")
    text(root, "metadataStandardVersion", "2003/Cor.1:2006")
    ident = g(g(root, "identificationInfo"), "MD_DataIdentification")
    citation = g(g(ident, "citation"), "CI_Citation")
    text(citation, "title", "SENTINEL-2 MSI Level-2A User Product")
    ci_date = g(g(citation, "date"), "CI_Date")
    text(ci_date, "date", n["generation"][:10], "Date")
    code(ci_date, "dateType", "CI_DateTypeCode", "creation")
    text(g(g(citation, "identifier"), "RS_Identifier"), "code", scene)
    text(ident, "abstract", "Bottom-of-atmosphere reflectance of one MGRS tile (Sentinel-2 MSI Level-2A)")
    code(ident, "language", "LanguageCode", "eng")
    _sub(g(ident, "topicCategory"), f"{{{gmd}}}MD_TopicCategoryCode", "imageryBaseMapsEarthCover")
    extent = g(g(ident, "extent"), "EX_Extent")
    box = g(g(extent, "geographicElement"), "EX_GeographicBoundingBox")
    lats, lons = zip(*_footprint(grid), strict=True)
    for tag, v in (
        ("westBoundLongitude", min(lons)),
        ("eastBoundLongitude", max(lons)),
        ("southBoundLatitude", min(lats)),
        ("northBoundLatitude", max(lats)),
    ):
        text(box, tag, f"{v:.6f}", "Decimal")
    period = _sub(
        g(g(extent, "temporalElement"), "EX_TemporalExtent"), f"{{{gmd}}}extent"
    )
    tp = _sub(period, f"{{{gml}}}TimePeriod", **{f"{{{gml}}}id": "acquisition"})
    _sub(tp, f"{{{gml}}}beginPosition", n["sensing"])
    _sub(tp, f"{{{gml}}}endPosition", n["sensing"])
    return _xml_bytes(root)


def _datastrip_xml(n: dict[str, str]) -> bytes:
    """A small ``MTD_DS.xml``: the datatake, sensing and processing times of the datastrip."""
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Datastrip_Metadata.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_DataStrip_ID")
    gi = _sub(root, f"{{{ns}}}General_Info")
    dt = _sub(gi, "Datatake_Info", datatakeIdentifier=n["datatake_id"])
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "SPACECRAFT_NAME", n["spacecraft"])
    _sub(dt, "DATATAKE_SENSING_START", n["sensing"])
    _sub(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    _sub(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    ti = _sub(gi, "Datastrip_Time_Info")
    _sub(ti, "DATASTRIP_SENSING_START", n["sensing"])
    _sub(ti, "DATASTRIP_SENSING_STOP", n["sensing"])
    pi = _sub(gi, "Processing_Info")
    _sub(pi, "UTC_DATE_TIME", n["generation"])
    _sub(pi, "PROCESSING_CENTER", "2APS")
    _sub(pi, "PROCESSING_BASELINE", "05.10")
    ai = _sub(gi, "Archiving_Info")
    _sub(ai, "ARCHIVING_CENTRE", "2APS")
    _sub(ai, "ARCHIVING_TIME", n["generation"])
    tiles = _sub(_sub(_sub(root, f"{{{ns}}}Image_Data_Info"), "Tiles_Information"), "Tile_List")
    _sub(tiles, "Tile", tileId=n["tile_id"])
    return _xml_bytes(root)


# Standard manifest dataObject IDs of the metadata files (stactools-sentinel2 looks them up).
_METADATA_OBJECTS = {
    "MTD_MSIL2A.xml": "S2_Level-2A_Product_Metadata",
    "INSPIRE.xml": "INSPIRE_Metadata",
    "MTD_DS.xml": "S2_Level-2A_Datastrip1_Metadata",
    "MTD_TL.xml": "S2_Level-2A_Tile1_Metadata",
}
_IMG_FILE = re.compile(r"_(?P<band>[A-Z0-9]{3})_(?P<res>\d0)m\.jp2$")


def _data_object_id(rel: str) -> str:
    """The dataObject ID of the SAFE file ``rel`` as in real L2A manifests."""
    name = rel.rsplit("/", 1)[-1]
    if name in _METADATA_OBJECTS:
        return _METADATA_OBJECTS[name]
    m = _IMG_FILE.search(name)
    if m is None:
        raise ValueError(f"{rel}: no manifest ID for this file")
    return f"IMG_DATA_Band_{m['band']}_{m['res']}m_Tile1_Data"


def _manifest(safe: Path, scene: str, n: dict[str, str], grid: GranuleGrid) -> bytes:
    xfdu, sns, gml = (
        "urn:ccsds:schema:xfdu:1",
        "http://www.esa.int/safe/sentinel/1.1",
        "http://www.opengis.net/gml",
    )
    for p, u in (("xfdu", xfdu), ("safe", sns), ("gml", gml)):
        ET.register_namespace(p, u)
    root = ET.Element(
        f"{{{xfdu}}}XFDU", version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
    )
    files = sorted(p for p in safe.rglob("*") if p.is_file() and p.name != "manifest.safe")
    # (dataObject ID, path in the SAFE, file): metadata first, as in real manifests
    order = list(_METADATA_OBJECTS.values())
    ids = sorted(
        ((_data_object_id(f.relative_to(safe).as_posix()), f.relative_to(safe).as_posix(), f) for f in files),
        key=lambda t: (order.index(t[0]) if t[0] in order else 2.5, t[1]),
    )
    ipm = _sub(root, "informationPackageMap")
    cu = _sub(
        ipm,
        f"{{{xfdu}}}contentUnit",
        unitType="Product_Level-2A",
        textInfo="SENTINEL-2 MSI Level-2A User Product",
        pdiID="processing",
        dmdID="acquisitionPeriod platform",
    )

    def unit(parent: ET.Element, oid: str, kind: str) -> None:
        du = _sub(parent, f"{{{xfdu}}}contentUnit", ID=oid.removesuffix("_Data") + "_Unit", unitType=kind)
        _sub(du, "dataObjectPointer", dataObjectID=oid)

    unit(cu, "S2_Level-2A_Product_Metadata", "Metadata Unit")
    unit(cu, "INSPIRE_Metadata", "Metadata Unit")
    ds = _sub(_sub(cu, f"{{{xfdu}}}contentUnit", ID="Datastrips", textInfo="Datastrips Container"),
              f"{{{xfdu}}}contentUnit", ID="Datastrip1", textInfo="Datastrip Container")
    unit(ds, "S2_Level-2A_Datastrip1_Metadata", "Metadata Unit")
    tile = _sub(_sub(cu, f"{{{xfdu}}}contentUnit", ID="Tiles", textInfo="Tiles Container"),
                f"{{{xfdu}}}contentUnit", ID="Tile1", textInfo="Tile Container")
    img = _sub(tile, f"{{{xfdu}}}contentUnit", ID="IMG_Data_Tile1", textInfo="Image Data Container")
    for oid, _, _ in ids:
        if oid.startswith("IMG_DATA_"):
            unit(img, oid, "Measurement Data Unit")
    unit(tile, "S2_Level-2A_Tile1_Metadata", "Metadata Unit")
    ms = _sub(root, "metadataSection")
    ap = _sub(
        _sub(
            _sub(
                ms,
                "metadataObject",
                ID="acquisitionPeriod",
                category="DMD",
                classification="DESCRIPTION",
            ),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    per = _sub(ap, f"{{{sns}}}acquisitionPeriod")
    _sub(per, f"{{{sns}}}startTime", n["sensing"])
    pl = _sub(
        _sub(
            _sub(ms, "metadataObject", ID="platform", category="DMD", classification="DESCRIPTION"),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    plat = _sub(pl, f"{{{sns}}}platform")
    _sub(plat, f"{{{sns}}}familyName", "SENTINEL")
    _sub(plat, f"{{{sns}}}number", n["platform"][-1])
    _sub(
        _sub(plat, f"{{{sns}}}instrument"),
        f"{{{sns}}}familyName",
        "Multi-Spectral Instrument",
        abbreviation="MSI",
    )
    fs = _sub(
        _sub(
            _sub(
                ms,
                "metadataObject",
                ID="measurementFrameSet",
                category="DMD",
                classification="DESCRIPTION",
            ),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    fp = _sub(
        _sub(fs, f"{{{sns}}}frameSet"),
        f"{{{sns}}}footPrint",
        srsName="http://www.opengis.net/gml/srs/epsg.xml#4326",
    )
    _sub(fp, f"{{{gml}}}coordinates", " ".join(f"{la} {lo}" for la, lo in _footprint(grid)) + " ")
    for oid in _METADATA_OBJECTS.values():
        info = _sub(ms, "metadataObject", ID=f"{oid}_Information", category="DMD", classification="DESCRIPTION")
        _sub(info, "dataObjectPointer", dataObjectID=oid)
    dos = _sub(root, "dataObjectSection")
    for oid, rel, f in ids:
        data = f.read_bytes()
        bs = _sub(
            _sub(dos, "dataObject", ID=oid),
            "byteStream",
            mimeType="text/xml" if rel.endswith(".xml") else "application/octet-stream",
            size=str(len(data)),
        )
        _sub(bs, "fileLocation", locatorType="URL", href=f"./{rel}")
        _sub(bs, "checksum", hashlib.md5(data).hexdigest(), checksumName="MD5")
    del scene
    return _xml_bytes(root)


def _percentages(scl: np.ndarray) -> dict[str, float]:
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


def write_scene(
    safe_dir: Path,
    scene: str,
    day: date,
    index: int,
    *,
    classes: np.ndarray,
    texture: np.ndarray,
    patches: np.ndarray,
    grid: GranuleGrid,
    cloud_fraction: float,
    rng: np.random.Generator,
) -> float:
    """Write one SAFE folder at ``safe_dir`` (atomically); return its cloud cover in percent."""
    n = _names(scene, day, index)
    rows, cols = grid.shape(10)
    lons, lats = transform_points(
        plan.DEMO_S2_CRS, "EPSG:4326", [grid.ulx + cols * 5], [grid.uly - rows * 5]
    )
    sun = _sun_angles(day, lats[0], lons[0])
    sim = _simulate(classes, texture, patches, day, sun, cloud_fraction, rng)
    scl20 = sim.scl[::2, ::2]
    scl_by_res = {20: scl20, 60: scl20[1::3, 1::3]}
    pct = _percentages(scl20)
    cloud = round(pct["CLOUDY_PIXEL_PERCENTAGE"], 6)
    image_files: list[str] = []
    with atomic_path(safe_dir) as tmp:
        img = tmp / "GRANULE" / n["granule"] / "IMG_DATA"
        for res in (20, 60, 10):  # the order of a real Product_Organisation
            for band in FILES_PER_RES[res]:
                rel = f"GRANULE/{n['granule']}/IMG_DATA/R{res}m/{n['prefix']}_{band}_{res}m"
                image_files.append(rel)
                if band == "SCL":
                    data = scl_by_res[res]
                else:
                    k = res // 10
                    refl = sim.reflectance[_SPECTRAL_ORDER.index(band)]
                    valid = (
                        sim.valid if k == 1 else _block_mean(sim.valid.astype(np.float32), k) == 1
                    )
                    data = _to_dn(refl if k == 1 else _block_mean(refl, k), valid)
                _write_jp2(
                    img / f"R{res}m" / f"{n['prefix']}_{band}_{res}m.jp2", data, grid.transform(res)
                )
        (tmp / "GRANULE" / n["granule"] / "MTD_TL.xml").write_bytes(_tile_xml(n, grid, sun, pct))
        (tmp / "MTD_MSIL2A.xml").write_bytes(_product_xml(scene, n, image_files, grid, cloud, pct))
        (tmp / "INSPIRE.xml").write_bytes(_inspire_xml(scene, n, grid))
        ds = tmp / "DATASTRIP" / n["datastrip_dir"]
        ds.mkdir(parents=True)
        (ds / "MTD_DS.xml").write_bytes(_datastrip_xml(n))
        (tmp / "manifest.safe").write_bytes(_manifest(tmp, scene, n, grid))
    return cloud


def write_scenes(cfg: Config, landscape: Landscape, out_dir: Path) -> list[dict[str, Any]]:
    """Write one Sentinel-2 L2A SAFE folder per ``demo.dates`` below ``out_dir/sentinel-2``.

    Args:
        cfg: the config (area bbox, demo seed, dates and cloud fraction).
        landscape: the demo landscape (EPSG:25833) to sample.
        out_dir: the demo source folder.

    Returns:
        Index entries ``{"id", "path" (relative to out_dir), "cloud_cover" (percent)}``,
        in date order.
    """
    demo = cfg.data["demo"]
    grid = granule_grid(tuple(cfg.data["area"]["bbox"]))
    classes = _sample_classes(landscape, grid)
    texture = _smooth(np.random.default_rng([demo["seed"], 2]), classes.shape, 1.5).astype(
        np.float32
    )
    prng = np.random.default_rng([demo["seed"], 3])
    patches = np.stack([_smooth(prng, classes.shape, 5.0) for _ in range(4)]).astype(np.float32)
    days = sorted(date.fromisoformat(d) for d in demo["dates"])
    out: list[dict[str, Any]] = []
    for i, (day, scene) in enumerate(zip(days, plan.demo_scene_ids(cfg), strict=True)):
        rng = np.random.default_rng([demo["seed"], 1000 + i])
        rel = f"sentinel-2/{scene}.SAFE"
        cloud = write_scene(
            Path(out_dir) / rel,
            scene,
            day,
            i,
            classes=classes,
            texture=texture,
            patches=patches,
            grid=grid,
            cloud_fraction=demo["cloud_fraction"],
            rng=rng,
        )
        log.info("demo: %s (cloud %.1f%%)", scene, cloud)
        out.append({"id": scene, "path": rel, "cloud_cover": cloud})
    return out
