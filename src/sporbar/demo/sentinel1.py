"""Synthetic Sentinel-1 IW GRDH products (VV+VH) in the real SAFE layout, seen from the demo landscape.

One product per demo Sentinel-2 date (the morning after, :func:`sporbar.demo.names.demo_s1_day`),
in ``sentinel-1/<scene>.SAFE``: ``manifest.safe``, per polarisation the product annotation with
a 10 x 10 geolocation grid, calibration and noise LUTs, and the measurement GeoTIFF (uint16
amplitude DN with GCPs, ground-range geometry). The DNs invert the product's own LUTs:
``DN^2 = beta0 * A_beta^2 + eta`` with eta the range x azimuth thermal noise, and the
sigma0/gamma LUTs follow from the incidence angle (``A_sigma^2 = A_beta^2 / sin(theta)``,
``A_gamma^2 = A_beta^2 / tan(theta)``), as in real products. Backscatter and geometry:
:mod:`sporbar.demo.s1_backscatter`. Same config, same bytes.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from sporbar.config import Config
from sporbar.demo.landscape import Landscape
from sporbar.demo.names import DEMO_S1_RELATIVE_ORBIT, DEMO_S1_START, DEMO_S1_STOP, demo_s1_day, demo_s1_scene_id
from sporbar.demo.s1_backscatter import (
    SPACING_M,
    RadarGeometry,
    beta0_image,
    gamma0_db,
    geometry_over,
    local_incidence,
    season_of,
)
from sporbar.demo.s1_safe_xml import (
    ProductNames,
    annotation_xml,
    calibration_xml,
    manifest_xml,
    noise_xml,
    relative_path,
)
from sporbar.io import atomic_path

log = logging.getLogger(__name__)

A_BETA = 237.0  # the betaNought LUT of IW GRDH products is this constant
NESZ_DB = {"vv": -24.0, "vh": -26.0}  # thermal noise equivalent sigma0 at mid swath
GRID_POINTS = 10  # geolocation grid points per side
LUT_PIXEL_STEP = 40
LUT_LINES = 5
AZIMUTH_NOISE_STEP = 10


def calibration_luts(geometry: RadarGeometry, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The calibration LUT values at ``pixels`` (they do not vary along the line)."""
    theta = np.radians(geometry.incidence(pixels))
    beta = np.full(pixels.shape, A_BETA)
    return {"sigmaNought": beta / np.sqrt(np.sin(theta)), "betaNought": beta,
            "gamma": beta / np.sqrt(np.tan(theta)), "dn": beta}


def range_noise(geometry: RadarGeometry, pixels: np.ndarray, pol: str) -> np.ndarray:
    """The range noise LUT (DN^2) at ``pixels``: NESZ with a scalloping ripple, times A_sigma^2."""
    nesz = NESZ_DB[pol] + 1.0 * np.cos(2 * np.pi * pixels / 150.0)
    return np.asarray(10 ** (nesz / 10) * calibration_luts(geometry, pixels)["sigmaNought"] ** 2)


def azimuth_noise(lines: np.ndarray) -> np.ndarray:
    """The azimuth noise LUT at ``lines``."""
    return np.asarray(1.0 + 0.03 * np.sin(2 * np.pi * lines / 200.0))


def _nodes(n: int, step: int) -> np.ndarray:
    return np.unique(np.append(np.arange(0, n, step), n - 1))


def _grid(geometry: RadarGeometry) -> list[tuple[int, int, float, float, float]]:
    to_wgs84 = Transformer.from_crs("EPSG:25833", "EPSG:4326", always_xy=True)
    lines = np.linspace(0, geometry.lines - 1, GRID_POINTS).round().astype(int)
    pixels = np.linspace(0, geometry.pixels - 1, GRID_POINTS).round().astype(int)
    out = []
    for line in lines:
        x, y = geometry.xy(np.full(pixels.shape, float(line)), pixels.astype(float))
        lon, lat = to_wgs84.transform(x, y)
        inc = geometry.incidence(pixels)
        out += [(int(line), int(p), float(lo), float(la), float(i)) for p, lo, la, i in zip(pixels, lon, lat, inc,
                                                                                         strict=True)]
    return out


def _write_tiff(path: Path, dn: np.ndarray, grid: list[tuple[int, int, float, float, float]]) -> None:
    gcps = [GroundControlPoint(row=line, col=pixel, x=lon, y=lat, z=0.0) for line, pixel, lon, lat, _ in grid]
    path.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {"driver": "GTiff", "width": dn.shape[1], "height": dn.shape[0], "count": 1,
                               "dtype": "uint16", "gcps": gcps, "crs": CRS.from_epsg(4326)}
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as ds:
        ds.write(dn, 1)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_s1_scene(
    safe_dir: Path, names: ProductNames, *, landscape: Landscape, geometry: RadarGeometry,
    local_deg: np.ndarray, season: float, rng: np.random.Generator,
) -> None:
    """Write one GRD SAFE folder at ``safe_dir`` (atomically)."""
    grid = _grid(geometry)
    shape = (geometry.lines, geometry.pixels)
    pixels = np.arange(geometry.pixels, dtype=np.float64)
    lines = np.arange(geometry.lines, dtype=np.float64)
    lut_pixels, lut_lines = _nodes(geometry.pixels, LUT_PIXEL_STEP), _nodes(geometry.lines, geometry.lines // LUT_LINES)
    az_lines = _nodes(geometry.lines, AZIMUTH_NOISE_STEP)
    vv_db, vh_db = gamma0_db(landscape, season, rng)
    corners = [grid[0], grid[GRID_POINTS - 1], grid[-1], grid[-GRID_POINTS]]
    with atomic_path(safe_dir) as tmp:
        for pol, gamma in (("vv", vv_db), ("vh", vh_db)):
            stem = names.file_stem(pol)
            beta = beta0_image(landscape, geometry, gamma, local_deg, rng)
            eta = range_noise(geometry, pixels, pol)[None, :] * azimuth_noise(lines)[:, None]
            power = beta * A_BETA**2 + eta * rng.gamma(4.4, 1 / 4.4, beta.shape)
            dn = np.clip(np.rint(np.sqrt(power)), 1, 65535).astype(np.uint16)
            _write_tiff(tmp / relative_path("measurement", stem), dn, grid)
            mid = float(geometry.incidence(np.array(geometry.pixels / 2)))
            ann = annotation_xml(names, pol, shape=shape, spacing=SPACING_M, mid_incidence=mid, grid=grid)
            _write(tmp / relative_path("annotation", stem), ann)
            cal = calibration_xml(names, pol, [int(v) for v in lut_lines], lut_pixels,
                                  calibration_luts(geometry, lut_pixels.astype(float)))
            _write(tmp / relative_path("calibration", stem), cal)
            noise = noise_xml(names, pol, lines=[int(v) for v in lut_lines], pixels=lut_pixels,
                              range_lut=range_noise(geometry, lut_pixels.astype(float), pol), shape=shape,
                              azimuth_lines=az_lines, azimuth_lut=azimuth_noise(az_lines.astype(float)))
            _write(tmp / relative_path("noise", stem), noise)
        footprint = [(c[2], c[3]) for c in corners]
        _write(tmp / "manifest.safe", manifest_xml(tmp, names, footprint=footprint))


def product_names(day: date) -> ProductNames:
    """The identifiers of the demo GRD product of ``day``."""
    scene = demo_s1_scene_id(day)
    p = scene.split("_")
    iso = day.isoformat()
    start, stop = DEMO_S1_START[1:], DEMO_S1_STOP[1:]
    return ProductNames(
        scene=scene,
        start=f"{iso}T{start[:2]}:{start[2:4]}:{start[4:]}.000000",
        stop=f"{iso}T{stop[:2]}:{stop[2:4]}:{stop[4:]}.000000",
        orbit=int(p[6]),
        relative_orbit=DEMO_S1_RELATIVE_ORBIT,
        datatake=int(p[7], 16),
    )


def write_s1_scenes(cfg: Config, landscape: Landscape, out_dir: Path) -> list[dict[str, Any]]:
    """Write one GRD SAFE folder per demo date below ``out_dir/sentinel-1``.

    Returns:
        Index entries ``{"id", "path" (relative to out_dir)}``, in date order.
    """
    demo = cfg.data["demo"]
    geometry = geometry_over(landscape)
    local = local_incidence(landscape, geometry)
    days = [demo_s1_day(d) for d in sorted(date.fromisoformat(d) for d in demo["dates"])]
    out: list[dict[str, Any]] = []
    for i, day in enumerate(days):
        names = product_names(day)
        rel = f"sentinel-1/{names.scene}.SAFE"
        write_s1_scene(Path(out_dir) / rel, names, landscape=landscape, geometry=geometry, local_deg=local,
                       season=season_of(day, days), rng=np.random.default_rng([demo["seed"], 5000 + i]))
        log.info("demo: %s", names.scene)
        out.append({"id": names.scene, "path": rel})
    return out
