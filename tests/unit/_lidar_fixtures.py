"""A one-tile demo area for the lidar and label tests: config, landscape, demo source.

Import the fixtures into a test module (``from _lidar_fixtures import area  # noqa: F401``).
The area is one 640 m grid tile; lidar is delivered in 500 m tiles at 1 point/m2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sporbar.config import Config, load
from sporbar.demo.landscape import Landscape, make_landscape

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
TILE = "E268800N7029760"
BBOX = [268800, 7029760, 269440, 7030400]
OTHER_CRS_LAS = SHARED / "realdata" / "lidar" / "file_with_both_wkt_and_geotiff_vlrs.las"


def write_config(folder: Path, **overrides: Any) -> Path:
    """A test config from config/config.yaml: one 640 m tile, 500 m LAZ tiles, 1 pt/m2."""
    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    data["root"] = str(folder / "results")
    data["area"] = {"name": "test-lidar", "bbox": BBOX}
    data["grid"]["tile_size"] = 640
    data["demo"].update(lidar_density=1.0, lidar_tile_size=500)
    data["sources"].pop("sentinel1", None)
    data.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Area:
    """The test area: config, its landscape and a demo source with LAZ tiles and labels."""

    cfg_path: Path
    cfg: Config
    landscape: Landscape
    source: Path
    lidar: list[dict[str, Any]]
    labels: dict[str, Any]


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> Area:
    """Config, landscape and demo source (lidar/ and labels/) of the one-tile area."""
    from sporbar.demo.labels import write_labels
    from sporbar.demo.lidar import write_lidar_tiles

    folder = tmp_path_factory.mktemp("lidar-area")
    cfg_path = write_config(folder)
    cfg = load(cfg_path)
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"])
    source = folder / "demo-source"
    lidar = write_lidar_tiles(cfg, landscape, source)
    labels = write_labels(cfg, landscape, source)
    return Area(cfg_path, cfg, landscape, source, lidar, labels)


def fetch_demo_tile(cfg: Config, source_dir: Path, lidar_tile: str, item_path: Path, **kw: Any) -> dict[str, Any]:
    """Fetch ``lidar_tile`` from the demo source folder ``source_dir`` as `sporbar fetch lidar` does."""
    from sporbar.fetch.demo_lidar import SOURCE
    from sporbar.stac.record import RunContext

    entry = SOURCE.listing(source_dir=source_dir).entry(lidar_tile)
    return SOURCE.fetch(RunContext.current(config_hash=cfg.hash), cfg, entry, item_path, **kw)


def other_crs_las() -> Path:
    """The shared LAS file in EPSG:6880; skips the test when ../shared is absent."""
    if not OTHER_CRS_LAS.is_file():
        pytest.skip(
            f"{OTHER_CRS_LAS} not present: the shared real-data folder is needed for this test"
        )
    return OTHER_CRS_LAS


def copc_moved_to(path: Path, x: float, y: float) -> bytes:
    """The real COPC at ``path`` with its points moved to (x, y) in EPSG:25833 (the demo's grid).

    The grid is fixed to EPSG:25833 and laspy cannot write a COPC, so the real file is
    relocated in place: the header's x/y offsets and bounds and the COPC octree centre move by
    the same whole metres, and the WKT record states EPSG:25833 in the same record length
    (NUL padded). The byte layout, the octree and every compressed point chunk are unchanged.
    """
    import struct

    import pyproj

    b = bytearray(path.read_bytes())
    mins = struct.unpack_from("<4d", b, 179)  # max x, min x, max y, min y
    dx, dy = round(x - mins[1]), round(y - mins[3])
    ox, oy = struct.unpack_from("<2d", b, 155)
    struct.pack_into("<2d", b, 155, ox + dx, oy + dy)
    struct.pack_into("<4d", b, 179, mins[0] + dx, mins[1] + dx, mins[2] + dy, mins[3] + dy)
    pos, n_vlrs = struct.unpack_from("<H", b, 94)[0], struct.unpack_from("<I", b, 100)[0]
    for _ in range(n_vlrs):
        user, (record, length) = bytes(b[pos + 2 : pos + 18]).rstrip(b"\0"), struct.unpack_from("<HH", b, pos + 18)
        data = pos + 54
        if (user, record) == (b"copc", 1):  # COPC info: the octree's centre x, y first
            cx, cy = struct.unpack_from("<2d", b, data)
            struct.pack_into("<2d", b, data, cx + dx, cy + dy)
        elif (user, record) == (b"LASF_Projection", 2112):
            wkt = pyproj.CRS.from_epsg(25833).to_wkt("WKT1_GDAL").encode()
            assert len(wkt) < length
            b[data : data + length] = wkt.ljust(length, b"\0")
        pos = data + length
    return bytes(b)
