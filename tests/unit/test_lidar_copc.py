"""COPC deliveries: the tile's points by octree query, the same points a whole read gives; a broken hierarchy named."""

from __future__ import annotations

from pathlib import Path

import laspy
import numpy as np
import pytest
from _lidar_fixtures import SHARED

from sporbar.errors import InputDataError
from sporbar.las import is_copc, lidar_crs, read_header
from sporbar.lidar.read import iter_points

COPC = SHARED / "realdata" / "lidar" / "simple.copc.laz"


def copc() -> Path:
    """The real COPC of the shared data (laspy's simple.copc.laz); skips when ../shared is absent."""
    if not COPC.is_file():
        pytest.skip(f"{COPC} not present: the shared real-data folder (../shared/realdata/lidar) is needed")
    return COPC


def _sorted(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    a = np.stack([x, y, z], axis=1)
    return a[np.lexsort((a[:, 2], a[:, 1], a[:, 0]))]


@pytest.mark.parametrize("chunk_size", [100_000, 50])  # one window; about 20 windows with shared edges
def test_copc_query_gives_the_points_of_a_whole_read(chunk_size: int) -> None:
    path = copc()
    h = read_header(path)
    assert is_copc(h) and not is_copc(read_header(SHARED / "realdata" / "lidar" / "simple.laz"))
    crs = lidar_crs(path, h)  # NAD83 / Oregon LCC (m) + NAVD88 height (ftUS)
    x0, y0 = float(h.mins[0]), float(h.mins[1])
    bbox = (x0 + 500.0, y0 + 700.0, x0 + 2500.0, y0 + 3100.0)  # part of the file, in its own CRS
    got = list(iter_points([path], bbox, grid_crs=crs.horizontal, chunk_size=chunk_size))
    gx, gy, gz = (np.concatenate([getattr(c, k) for c in got]) for k in ("x", "y", "z"))
    las = laspy.read(str(path))  # every point, no query
    x, y, z = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z) * crs.z_to_metres
    keep = (x >= bbox[0]) & (x < bbox[2]) & (y > bbox[1]) & (y <= bbox[3])
    assert 100 < keep.sum() < len(x)
    np.testing.assert_array_equal(_sorted(gx, gy, gz), _sorted(x[keep], y[keep], z[keep]))
    cls = np.concatenate([c.classification for c in got])
    assert sorted(np.unique(cls).tolist()) == sorted(np.unique(np.asarray(las.classification)[keep]).tolist())


def test_copc_with_a_broken_hierarchy_is_a_named_error(tmp_path: Path) -> None:
    path = copc()
    with laspy.CopcReader.open(str(path)) as reader:
        info = reader.copc_info
    data = bytearray(path.read_bytes())
    start, size = info.hierarchy_root_offset, info.hierarchy_root_size
    data[start:start + size] = b"\xff" * size  # the root hierarchy page overwritten
    bad = tmp_path / "broken.copc.laz"
    bad.write_bytes(bytes(data))
    h = read_header(bad)
    crs = lidar_crs(bad, h)
    bbox = (float(h.mins[0]), float(h.mins[1]), float(h.maxs[0]) + 1, float(h.maxs[1]) + 1)
    with pytest.raises(InputDataError, match=rf"^{bad}: COPC hierarchy is broken"):
        list(iter_points([bad], bbox, grid_crs=crs.horizontal))
