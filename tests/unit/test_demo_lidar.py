"""Demo LAZ tiles: format, determinism, clipping, classes and heights from the landscape."""

from __future__ import annotations

from pathlib import Path

import laspy
import numpy as np
from _lidar_fixtures import Area, area  # noqa: F401

from sporbar.demo.landscape import DemoClass
from sporbar.demo.lidar import PROJECT_MARGIN, terrain_height, write_lidar_tiles
from sporbar.demo.names import demo_lidar_tile_ids, lidar_tile_bounds


def test_one_laz_per_delivered_tile(area: Area) -> None:  # noqa: F811
    assert [t["id"] for t in area.lidar] == demo_lidar_tile_ids(area.cfg)
    for t in area.lidar:
        assert t["path"] == f"lidar/{t['id']}.laz"
        assert (area.source / t["path"]).is_file()
        assert t["points"] > 10_000


def test_laz_bytes_are_deterministic(area: Area, tmp_path: Path) -> None:  # noqa: F811
    again = write_lidar_tiles(area.cfg, area.landscape, tmp_path)
    assert again == area.lidar
    for t in area.lidar:
        assert (tmp_path / t["path"]).read_bytes() == (area.source / t["path"]).read_bytes()


def test_header_is_las14_pf6_with_crs_and_scales(area: Area) -> None:  # noqa: F811
    las = laspy.read(area.source / area.lidar[0]["path"])
    h = las.header
    assert (h.version.major, h.version.minor, h.point_format.id) == (1, 4, 6)
    assert np.allclose(h.scales, 0.01)
    assert h.parse_crs().to_epsg() == 25833
    assert h.global_encoding.wkt
    assert len(las.points) == area.lidar[0]["points"]
    assert np.all(np.diff(las.gps_time) >= 0) and las.gps_time.min() > 0
    ret, nret = np.asarray(las.return_number), np.asarray(las.number_of_returns)
    assert set(np.unique(ret).tolist()) == {1, 2}
    assert np.all(ret <= nret)
    assert np.ptp(np.asarray(las.scan_angle)) > 100  # 0.006 degree units
    assert np.ptp(np.asarray(las.intensity)) > 100


def test_points_clipped_to_project_boundary_and_tile(area: Area) -> None:  # noqa: F811
    minx, miny, maxx, maxy = area.cfg.data["area"]["bbox"]
    for t in area.lidar:
        las = laspy.read(area.source / t["path"])
        x0, y0, x1, y1 = lidar_tile_bounds(area.cfg, t["id"])
        x, y = np.asarray(las.x), np.asarray(las.y)
        assert (
            x.min() >= max(x0, minx - PROJECT_MARGIN) - 1
            and x.max() <= min(x1, maxx + PROJECT_MARGIN) + 1
        )
        assert (
            y.min() >= max(y0, miny - PROJECT_MARGIN) - 1
            and y.max() <= min(y1, maxy + PROJECT_MARGIN) + 1
        )


def test_density_classes_and_heights_follow_landscape(area: Area) -> None:  # noqa: F811
    las = [laspy.read(area.source / t["path"]) for t in area.lidar]
    x = np.concatenate([np.asarray(f.x) for f in las])
    y = np.concatenate([np.asarray(f.y) for f in las])
    z = np.concatenate([np.asarray(f.z) for f in las])
    cls = np.concatenate([np.asarray(f.classification) for f in las])
    first = np.concatenate([np.asarray(f.return_number) for f in las]) == 1
    minx, miny, maxx, maxy = area.cfg.data["area"]["bbox"]
    m = PROJECT_MARGIN
    pulses_per_m2 = first.sum() / ((maxx - minx + 2 * m) * (maxy - miny + 2 * m))
    assert 0.8 < pulses_per_m2 < 1.05  # density 1, fewer pulses return from water
    # ground returns lie on the terrain
    g = cls == 2
    assert np.median(np.abs(z[g] - terrain_height(area.landscape, x[g], y[g]))) < 0.1
    # ASPRS classes follow the landscape classes present
    t = area.landscape.transform
    present = set(
        np.unique(
            area.landscape.classes[
                int((t.f - maxy) / 10) : int((t.f - miny) / 10),
                int((minx - t.c) / 10) : int((maxx - t.c) / 10),
            ]
        ).tolist()
    )
    found = set(np.unique(cls).tolist())
    assert {2, 7} <= found
    expect = {DemoClass.forest: 5, DemoClass.water: 9, DemoClass.built_up: 6}
    for c, asprs in expect.items():
        if c in present:
            assert asprs in found, f"{c.name} in the landscape but no class {asprs} points"
    # high vegetation stands well above the ground; water is flat and dark
    hv = cls == 5
    assert np.median(z[hv] - terrain_height(area.landscape, x[hv], y[hv])) > 5
    if 9 in found:
        inten = np.concatenate([np.asarray(f.intensity) for f in las])
        assert np.median(inten[cls == 9]) < 0.3 * np.median(inten[g])
