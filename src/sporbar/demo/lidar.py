"""Synthetic airborne lidar: one LAZ file (LAS 1.4, point format 6) per delivered tile.

The points follow the demo landscape: terrain from ``elevation`` (bilinear), canopy
returns from ``canopy_height`` with some pulses reaching the ground, flat roofs at
``building_height``, flat low-intensity water and a few noise points. Classes are
ASPRS: 2 ground, 3/4/5 low/medium/high vegetation, 6 building, 7 noise, 9 water.

As in a real project delivery, points are clipped to the project boundary (the area
bbox plus :data:`PROJECT_MARGIN`) and cut into the delivery tiling
(``demo.lidar_tile_size``). Same config, same bytes: every tile has its own seed
(from ``demo.seed`` and the tile corner) and the header carries no clock time.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import laspy
import numpy as np
import pyproj

from sporbar.config import Config
from sporbar.demo.landscape import LANDSCAPE_RES, DemoClass, Landscape
from sporbar.demo.names import demo_lidar_tile_ids, lidar_tile_bounds
from sporbar.io import atomic_path

log = logging.getLogger(__name__)

# The demo flight: one acquisition day, recorded in the LAS header and the raw items.
ACQUISITION_DATE = date(2023, 8, 15)
# Metres added around the area bbox: the project boundary the delivery is clipped to.
PROJECT_MARGIN = 50.0
CRS = "EPSG:25833"
SCALE = 0.01  # metres per coordinate unit
# Adjusted standard GPS time (GPS seconds - 1e9) at 08:00 UTC on the acquisition day.
_GPS_EPOCH = date(1980, 1, 6)
GPS_T0 = (ACQUISITION_DATE - _GPS_EPOCH).days * 86400.0 + 18 + 8 * 3600 - 1e9
FLYING_HEIGHT = 1500.0  # metres above ground
STRIP_WIDTH = 800.0  # metres between flight lines (north-south lines)
AIRCRAFT_SPEED = 60.0  # metres per second

# ASPRS classification codes.
GROUND, LOW_VEG, MEDIUM_VEG, HIGH_VEG, BUILDING, NOISE, WATER = 2, 3, 4, 5, 6, 7, 9

_CANOPY_HIT = 0.75  # share of forest pulses whose first return is in the canopy
_UNDER_CANOPY_GROUND = 0.45  # share of canopy hits whose last return reaches the ground
_WATER_DROPOUT = 0.3  # share of pulses over water that return nothing (specular)
_NOISE_RATE = 2e-4  # noise points per pulse


def tile_region(cfg: Config, lidar_tile: str) -> tuple[float, float, float, float] | None:
    """Where a delivered tile has points: its bounds within the project boundary, or None."""
    minx, miny, maxx, maxy = cfg.data["area"]["bbox"]
    tx0, ty0, tx1, ty1 = lidar_tile_bounds(cfg, lidar_tile)
    x0, y0 = max(tx0, minx - PROJECT_MARGIN), max(ty0, miny - PROJECT_MARGIN)
    x1, y1 = min(tx1, maxx + PROJECT_MARGIN), min(ty1, maxy + PROJECT_MARGIN)
    if x1 <= x0 or y1 <= y0:
        return None
    return float(x0), float(y0), float(x1), float(y1)


def _cell(landscape: Landscape, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row/column of the landscape cell holding each point (clipped to the raster)."""
    t = landscape.transform
    ny, nx = landscape.shape
    col = np.clip(((x - t.c) / LANDSCAPE_RES).astype(np.int64), 0, nx - 1)
    row = np.clip(((t.f - y) / LANDSCAPE_RES).astype(np.int64), 0, ny - 1)
    return row, col


def terrain_height(landscape: Landscape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Terrain height at points, bilinear between landscape cell centres."""
    t = landscape.transform
    ny, nx = landscape.shape
    fc = np.clip((x - t.c) / LANDSCAPE_RES - 0.5, 0, nx - 1)
    fr = np.clip((t.f - y) / LANDSCAPE_RES - 0.5, 0, ny - 1)
    c0 = np.minimum(fc.astype(np.int64), nx - 2) if nx > 1 else np.zeros(fc.shape, np.int64)
    r0 = np.minimum(fr.astype(np.int64), ny - 2) if ny > 1 else np.zeros(fr.shape, np.int64)
    dc, dr = fc - c0, fr - r0
    e = landscape.elevation.astype(np.float64)
    c1, r1 = np.minimum(c0 + 1, nx - 1), np.minimum(r0 + 1, ny - 1)
    top = e[r0, c0] * (1 - dc) + e[r0, c1] * dc
    bottom = e[r1, c0] * (1 - dc) + e[r1, c1] * dc
    height: np.ndarray = top * (1 - dr) + bottom * dr
    return height


def _tile_points(
    landscape: Landscape,
    region: tuple[float, float, float, float],
    density: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Simulate the returns of one tile; arrays of equal length, sorted by GPS time."""
    x0, y0, x1, y1 = region
    n = int(round((x1 - x0) * (y1 - y0) * density))
    px = rng.uniform(x0, x1, n)
    py = rng.uniform(y0, y1, n)
    row, col = _cell(landscape, px, py)
    cls = landscape.classes[row, col]
    ground = terrain_height(landscape, px, py) + rng.normal(0, 0.04, n)
    canopy = landscape.canopy_height[row, col].astype(np.float64)
    roof = landscape.building_height[row, col].astype(np.float64)
    u = rng.random(n)
    u2 = rng.random(n)

    is_water = cls == DemoClass.water
    keep = ~(is_water & (u < _WATER_DROPOUT))
    forest = (cls == DemoClass.forest) & (canopy > 0)
    hit = forest & (u < _CANOPY_HIT)
    building = (cls == DemoClass.built_up) & (roof > 0)
    low = np.isin(cls, [DemoClass.heath, DemoClass.mire, DemoClass.farmland]) & (u < 0.3)

    # First (or only) return of every pulse.
    z1 = ground.copy()
    c1 = np.full(n, GROUND, np.uint8)
    i1 = rng.normal(300, 40, n)
    h = canopy * (0.55 + 0.45 * u2)  # height of the first canopy hit below the tree top
    z1[hit] = ground[hit] + h[hit]
    c1[hit] = np.where(h[hit] < 2, LOW_VEG, np.where(h[hit] < 5, MEDIUM_VEG, HIGH_VEG))
    i1[hit] = rng.normal(140, 35, int(hit.sum()))
    z1[low] = ground[low] + canopy[low] * u2[low]
    c1[low] = LOW_VEG
    i1[low] = rng.normal(220, 40, int(low.sum()))
    z1[building] = ground[building] + roof[building]
    c1[building] = BUILDING
    i1[building] = rng.normal(420, 50, int(building.sum()))
    z1[is_water] = ground[is_water]
    c1[is_water] = WATER
    i1[is_water] = rng.normal(25, 8, int(is_water.sum()))
    rock = cls == DemoClass.bare_rock
    i1[rock] = rng.normal(600, 60, int(rock.sum()))

    # Second (last) return: the ground under the canopy for part of the canopy hits.
    two = hit & (rng.random(n) < _UNDER_CANOPY_GROUND)
    nret = np.where(two, 2, 1).astype(np.uint8)

    # Flight geometry: north-south strips, alternating direction, flown west to east.
    strip = np.floor(px / STRIP_WIDTH)
    centre = (strip + 0.5) * STRIP_WIDTH
    along = np.where(strip % 2 == 0, py, -py)
    t = GPS_T0 + (strip - strip.min()) * 900.0 + (along - along.min()) / AIRCRAFT_SPEED
    angle = np.degrees(np.arctan2(px - centre, FLYING_HEIGHT))

    idx2 = np.flatnonzero(two)
    n_noise = int(rng.binomial(n, _NOISE_RATE))
    inoise = rng.integers(0, n, n_noise)
    count2 = idx2.size
    src = np.concatenate([np.arange(n), idx2, inoise])
    pts: dict[str, np.ndarray] = {
        "x": np.concatenate([px, px[idx2], px[inoise] + rng.normal(0, 0.5, n_noise)]),
        "y": np.concatenate([py, py[idx2], py[inoise] + rng.normal(0, 0.5, n_noise)]),
        "z": np.concatenate(
            [
                z1,
                ground[idx2],
                ground[inoise] + rng.choice([-1, 1], n_noise) * rng.uniform(8, 150, n_noise),
            ]
        ),
        "classification": np.concatenate(
            [c1, np.full(count2, GROUND, np.uint8), np.full(n_noise, NOISE, np.uint8)]
        ),
        "intensity": np.concatenate([i1, rng.normal(90, 25, count2), rng.uniform(0, 100, n_noise)]),
        "return_number": np.concatenate(
            [np.ones(n, np.uint8), np.full(count2, 2, np.uint8), np.ones(n_noise, np.uint8)]
        ),
        "number_of_returns": np.concatenate(
            [nret, np.full(count2, 2, np.uint8), np.ones(n_noise, np.uint8)]
        ),
        # the second return comes back a few nanoseconds after the first
        "gps_time": np.concatenate(
            [t, t[idx2] + 2e-8 * (z1[idx2] - ground[idx2] + 1), t[inoise] + 1e-6]
        ),
        "scan_angle": angle[src],
        "strip": strip[src],
    }
    keep_all = np.concatenate([keep, keep[idx2], np.ones(n_noise, bool)])
    order = np.lexsort((pts["return_number"], pts["gps_time"]))
    order = order[keep_all[order]]
    return {k: v[order] for k, v in pts.items()}


def _header(region: tuple[float, float, float, float]) -> laspy.LasHeader:
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([SCALE, SCALE, SCALE])
    header.offsets = np.array([np.floor(region[0]), np.floor(region[1]), 0.0])
    header.add_crs(pyproj.CRS.from_user_input(CRS))
    header.date = ACQUISITION_DATE
    header.system_identifier = "sporbar demo (synthetic ALS)"
    header.generating_software = "sporbar demo lidar"
    header.global_encoding.gps_time_type = laspy.header.GpsTimeType.STANDARD
    return header


def write_lidar_tile(cfg: Config, landscape: Landscape, lidar_tile: str, path: Path) -> int:
    """Write one delivered LAZ tile; return its number of points (0: nothing written)."""
    region = tile_region(cfg, lidar_tile)
    if region is None:
        return 0
    _, tx, ty = lidar_tile.split("_")
    rng = np.random.default_rng(
        [int(cfg.data["demo"]["seed"]), int(tx) % 2**32, int(ty) % 2**32, 0x1AD]
    )
    pts = _tile_points(landscape, region, float(cfg.data["demo"]["lidar_density"]), rng)
    las = laspy.LasData(_header(region))
    las.x = pts["x"]
    las.y = pts["y"]
    las.z = pts["z"]
    las.intensity = np.clip(np.round(pts["intensity"]), 0, 65535).astype(np.uint16)
    las.return_number = pts["return_number"]
    las.number_of_returns = pts["number_of_returns"]
    las.classification = pts["classification"]
    las.scan_angle = np.round(pts["scan_angle"] / 0.006).astype(np.int16)  # 0.006 degree units
    las.scan_direction_flag = (pts["strip"] % 2 == 0).astype(np.uint8)
    las.point_source_id = (pts["strip"] - np.floor(region[0] / STRIP_WIDTH) + 1).astype(np.uint16)
    las.gps_time = pts["gps_time"]
    las.update_header()
    with atomic_path(Path(path)) as tmp:
        las.write(str(tmp), do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
    return len(las.points)


def write_lidar_tiles(cfg: Config, landscape: Landscape, out_dir: Path) -> list[dict[str, Any]]:
    """Write ``out_dir/lidar/<lidar_tile>.laz`` for every delivered tile of the config.

    Returns:
        One ``{"id", "path", "points"}`` entry per written tile, in tile order; ``path``
        is relative to ``out_dir``.
    """
    out: list[dict[str, Any]] = []
    for tile in demo_lidar_tile_ids(cfg):
        rel = f"lidar/{tile}.laz"
        n = write_lidar_tile(cfg, landscape, tile, Path(out_dir) / rel)
        if n:
            log.info("demo lidar: %s %d points", rel, n)
            out.append({"id": tile, "path": rel, "points": n})
    return out
