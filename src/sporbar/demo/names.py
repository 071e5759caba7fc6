"""Names and footprints of the demo source's products, from the config alone.

The demo Sentinel-2 granule: MGRS tile 32VNR (UTM 32N) covers the demo area south of
Trondheim; the output grid is UTM 33N, so ARD really reprojects, as with real data.
The demo lidar delivery is cut into square tiles of ``demo.lidar_tile_size`` metres,
named by their lower-left corner.
"""

from __future__ import annotations

import math
from datetime import date

from sporbar.config import Config

DEMO_MGRS_TILE = "32VNR"
DEMO_S2_CRS = "EPSG:32632"
DEMO_SENSING_TIME = "T104031"
DEMO_RELATIVE_ORBIT = "R094"
DEMO_BASELINE = "N0510"


def demo_scene_id(day: date, index: int) -> str:
    """SAFE product name of the demo scene on ``day`` (S2A and S2B alternate)."""
    platform = "S2A" if index % 2 == 0 else "S2B"
    d = day.strftime("%Y%m%d")
    return (
        f"{platform}_MSIL2A_{d}{DEMO_SENSING_TIME}_{DEMO_BASELINE}_{DEMO_RELATIVE_ORBIT}"
        f"_T{DEMO_MGRS_TILE}_{d}T130000"
    )


def demo_scene_ids(cfg: Config) -> list[str]:
    """The demo source's Sentinel-2 product names, in date order."""
    days = sorted(date.fromisoformat(d) for d in cfg.data["demo"]["dates"])
    return [demo_scene_id(d, i) for i, d in enumerate(days)]


def lidar_tile_id(x0: int, y0: int) -> str:
    """Name of the delivered lidar tile whose lower-left corner is (x0, y0) metres."""
    return f"lidar_{x0}_{y0}"


def demo_lidar_tile_ids(cfg: Config) -> list[str]:
    """The demo delivery's lidar tiles (``demo.lidar_tile_size`` m squares) that cover the area, sorted."""
    minx, miny, maxx, maxy = cfg.data["area"]["bbox"]
    size = cfg.data["demo"]["lidar_tile_size"]
    xs = range(math.floor(minx / size) * size, math.ceil(maxx / size) * size, size)
    ys = range(math.floor(miny / size) * size, math.ceil(maxy / size) * size, size)
    return sorted(lidar_tile_id(x, y) for x in xs for y in ys)


def lidar_tile_bounds(cfg: Config, lidar_tile: str) -> tuple[int, int, int, int]:
    """(minx, miny, maxx, maxy) metres (EPSG:25833) of a demo delivery's lidar tile."""
    _, x0, y0 = lidar_tile.split("_")
    size = cfg.data["demo"]["lidar_tile_size"]
    return int(x0), int(y0), int(x0) + size, int(y0) + size


def demo_product_names(scene: str, day: date, index: int) -> dict[str, str]:
    """The identifiers inside demo product ``scene`` of ``day``: granule, datastrip, orbit, times."""
    platform = scene[:3]
    d = day.strftime("%Y%m%d")
    base = {"S2A": 46000, "S2B": 37400}[platform]
    orbit = base + (day - date(2024, 5, 1)).days * 14 + 1
    tile = DEMO_MGRS_TILE
    stamp = f"{d}T130000"
    return {
        "platform": platform,
        "spacecraft": "Sentinel-2A" if platform == "S2A" else "Sentinel-2B",
        "granule": f"L2A_T{tile}_A{orbit:06d}_{d}{DEMO_SENSING_TIME}",
        "prefix": f"T{tile}_{d}{DEMO_SENSING_TIME}",
        "orbit": str(orbit),
        "tile_id": f"{platform}_OPER_MSI_L2A_TL_2APS_{stamp}_A{orbit:06d}_T{tile}_N05.10",
        "datastrip_id": (
            f"{platform}_OPER_MSI_L2A_DS_2APS_{stamp}_S{d}{DEMO_SENSING_TIME}_N05.10"
        ),
        "datastrip_dir": f"DS_2APS_{stamp}_S{d}{DEMO_SENSING_TIME}",
        "datatake_id": f"G{platform}_{scene[11:26]}_{orbit:06d}_N05.10",
        "sensing": f"{day.isoformat()}T10:40:31.024Z",
        "generation": f"{day.isoformat()}T13:00:00.000000Z",
        "rel_orbit": str(int(DEMO_RELATIVE_ORBIT[1:])),
    }


# The demo Sentinel-1 GRD acquisitions: a descending IW pass over the area the morning after
# each demo Sentinel-2 date (dual polarisation VV+VH, high resolution).
DEMO_S1_START = "T053012"
DEMO_S1_STOP = "T053037"
DEMO_S1_RELATIVE_ORBIT = 66
_S1_REFERENCE_DAY = date(2024, 5, 1)
_S1_REFERENCE_ORBIT = 53600  # Sentinel-1A's absolute orbit near the reference day


def demo_s1_day(s2_day: date) -> date:
    """The demo Sentinel-1 acquisition day that goes with demo Sentinel-2 date ``s2_day``."""
    return date.fromordinal(s2_day.toordinal() + 1)


def demo_s1_scene_id(day: date) -> str:
    """GRD product name of the demo Sentinel-1 acquisition on ``day`` (datatake and CRC derived from it)."""
    import hashlib

    orbit = _S1_REFERENCE_ORBIT + (day - _S1_REFERENCE_DAY).days * 175 // 12  # 175 orbits per 12-day cycle
    d = day.strftime("%Y%m%d")
    datatake = (orbit * 7) % 0xFFFFFF
    crc = hashlib.sha256(f"{d}{orbit}".encode()).hexdigest()[:4].upper()
    return f"S1A_IW_GRDH_1SDV_{d}{DEMO_S1_START}_{d}{DEMO_S1_STOP}_{orbit:06d}_{datatake:06X}_{crc}"


def demo_s1_scene_ids(cfg: Config) -> list[str]:
    """The demo source's Sentinel-1 GRD product names, in date order."""
    days = sorted(date.fromisoformat(d) for d in cfg.data["demo"]["dates"])
    return [demo_s1_scene_id(demo_s1_day(d)) for d in days]
