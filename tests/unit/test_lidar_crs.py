"""Lidar in any projected delivery CRS: the file's CRS read, recorded on the raw item, points reprojected.

Real files: ``../shared/realdata/lidar`` (laspy's test data: Oregon LCC in feet, Nebraska
EPSG:6880 in US feet, a COPC with a compound CRS, a LAS without CRS). Generated files: the
demo tiles (EPSG:25833) reprojected with pyproj into UTM 32, 33 and 35, as the Norwegian
national lidar is delivered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import laspy
import numpy as np
import pyproj
import pytest
import yaml
from _lidar_fixtures import SHARED, TILE, Area, area, fetch_demo_tile  # noqa: F401

from sporbar.config import load
from sporbar.errors import GeographicCrsError, LidarCrsError, NoCrsError
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.registry import source
from sporbar.las import lidar_crs, read_header
from sporbar.lidar.products import compute_products
from sporbar.lidar.read import iter_points
from sporbar.lidar.run import run_lidar
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan

REAL = SHARED / "realdata" / "lidar"


def real(name: str) -> Path:
    """A file of the shared real lidar data; skips the test when ../shared is absent."""
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} not present: the shared real-data folder (../shared/realdata/lidar) is needed")
    return path


# Moves the demo points (on a 1 cm lattice, so many lie exactly on 10 m cell edges) half a
# lattice step off the edges: then no reprojection error (< 1 mm) can move a point across one.
SHIFT = 0.005


def reproject_laz(src: Path, dst: Path, epsg: int) -> Path:
    """``src`` (EPSG:25833) moved by SHIFT, x/y transformed by pyproj into EPSG:``epsg``, at 1 mm resolution."""
    las = laspy.read(str(src))
    x, y = pyproj.Transformer.from_crs(25833, epsg, always_xy=True).transform(
        np.asarray(las.x) + SHIFT, np.asarray(las.y) + SHIFT)
    header = laspy.LasHeader(point_format=las.header.point_format, version=las.header.version)
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([np.floor(x.min()), np.floor(y.min()), 0.0])
    header.add_crs(pyproj.CRS.from_epsg(epsg))
    out = laspy.LasData(header)
    out.points = laspy.ScaleAwarePointRecord(las.points.array.copy(), header.point_format, header.scales,
                                             header.offsets)
    out.x, out.y, out.z = x, y, np.asarray(las.z)
    out.update_header()
    dst.parent.mkdir(parents=True, exist_ok=True)
    out.write(str(dst))
    return dst


def write_las(path: Path, crs: pyproj.CRS | None, x: float, y: float) -> Path:
    """A three-point LAS 1.4 file at (x, y) with the CRS record ``crs`` (or none)."""
    las = laspy.LasData(laspy.LasHeader(point_format=6, version="1.4"))
    if crs is not None:
        las.header.add_crs(crs)
    las.x, las.y, las.z = np.full(3, x), np.full(3, y), np.array([100.0, 101.0, 102.0])
    las.write(str(path))
    return path


def _local_cfg(area: Area, folder: Path, tmp: Path, **lidar: object):  # noqa: F811
    data = yaml.safe_load(area.cfg_path.read_text())
    data["sources"]["lidar"] = {"source": "local", "local": {"path": str(folder)}, **lidar}
    path = tmp / "local.yaml"
    path.write_text(yaml.safe_dump(data))
    return load(path)


def test_real_files_crs() -> None:
    autzen = lidar_crs("a", read_header(real("autzen_trim.laz")))
    assert autzen.code is None and autzen.horizontal.is_projected  # Oregon LCC (ft), no EPSG code
    assert autzen.z_to_metres == pytest.approx(0.3048) and autzen.vertical is None
    both = lidar_crs("b", read_header(real("file_with_both_wkt_and_geotiff_vlrs.las")))
    assert both.code == "EPSG:6880" and both.z_to_metres == pytest.approx(0.3048006096)
    copc = lidar_crs("c", read_header(real("simple.copc.laz")))
    assert copc.code == "EPSG:2991" and copc.vertical is not None and copc.vertical.to_epsg() == 6360
    assert copc.z_to_metres == pytest.approx(0.3048006096)  # heights in NAVD88 US feet
    simple = real("simple.las")
    with pytest.raises(NoCrsError, match=rf"^{simple}: lidar file carries no CRS.*sources.lidar.epsg"):
        lidar_crs(simple, read_header(simple))
    stated = lidar_crs(simple, read_header(simple), stated_epsg=2991)
    assert stated.stated and stated.code == "EPSG:2991"


def test_geographic_crs_is_a_named_error(tmp_path: Path) -> None:
    p = write_las(tmp_path / "wgs84.las", pyproj.CRS.from_epsg(4326), 10.3, 63.4)
    with pytest.raises(GeographicCrsError, match=rf"^{p}: lidar CRS is EPSG:4326 .*geographic"):
        lidar_crs(p, read_header(p))


def test_raw_items_of_real_files_record_their_own_crs(area: Area, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "real"
    folder.mkdir()
    for name in ("autzen_trim.laz", "file_with_both_wkt_and_geotiff_vlrs.las", "simple.copc.laz"):
        shutil.copyfile(real(name), folder / name)
    cfg = _local_cfg(area, folder, tmp_path)
    src = source(cfg, "lidar")
    with pytest.raises(NothingFoundError, match="no lidar tiles overlap") as err:
        src.search(cfg)  # Oregon and Nebraska are not in the Norwegian demo area
    assert "3 LAS/LAZ file(s) there" in str(err.value) and "EPSG:6880" in str(err.value)
    # (file, expected WGS84 centre from the MANIFEST: lon, lat)
    expected = {"autzen_trim.laz": (-123.07, 44.05), "file_with_both_wkt_and_geotiff_vlrs.las": (-97.06, 41.45)}
    for name, (lon, lat) in expected.items():
        h = read_header(folder / name)
        entry = {"id": f"x_{name.split('.')[0]}", "href": str(folder / name)}
        d = src.fetch(RunContext.current(), cfg, entry, tmp_path / "raw" / entry["id"] / "item.json")
        validate_item_dict(d)
        p = d["properties"]
        crs = lidar_crs(name, h)
        assert p["proj:code"] == crs.code and p["sporbar:crs_source"] == "file"
        assert p["proj:bbox"] == [round(float(v), 2) for v in (*h.mins[:2], *h.maxs[:2])]
        to_wgs84 = pyproj.Transformer.from_crs(crs.horizontal, 4326, always_xy=True)
        x0, y0, x1, y1 = (float(v) for v in (*h.mins[:2], *h.maxs[:2]))
        lons, lats = to_wgs84.transform([x0, x0, x1, x1], [y0, y1, y0, y1])
        assert d["bbox"] == pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=1e-6)
        w, s, e, n = d["bbox"]
        assert w < e and s < n and abs((w + e) / 2 - lon) < 0.02 and abs((s + n) / 2 - lat) < 0.02
        ft = float(crs.horizontal.axis_info[0].unit_conversion_factor)  # both files are in feet
        area_m2 = (x1 - x0) * (y1 - y0) * ft * ft
        assert ft < 0.31 and p["pc:density"] == pytest.approx(h.point_count / area_m2, rel=1e-3)
    autzen = json.loads((tmp_path / "raw/x_autzen_trim/item.json").read_text())["properties"]
    assert autzen["proj:code"] is None and "Lambert_Conformal_Conic" in autzen["proj:wkt2"]
    entry = {"id": "x_copc", "href": str(folder / "simple.copc.laz")}
    copc = src.fetch(RunContext.current(), cfg, entry, tmp_path / "raw/x_copc/item.json")["properties"]
    assert copc["proj:code"] == "EPSG:2991" and copc["sporbar:vertical_crs"] == "NAVD88 height (ftUS) (EPSG:6360)"


def test_local_folder_without_crs_names_the_file(area: Area, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "nocrs"
    folder.mkdir()
    shutil.copyfile(real("simple.las"), folder / "simple.las")
    cfg = _local_cfg(area, folder, tmp_path)
    with pytest.raises(NoCrsError, match=rf"^{folder / 'simple.las'}: lidar file carries no CRS"):
        source(cfg, "lidar").search(cfg)
    write_las(folder / "simple.las", pyproj.CRS.from_epsg(4258), 10.3, 63.4)
    with pytest.raises(GeographicCrsError, match="simple.las: lidar CRS is EPSG:4258"):
        source(cfg, "lidar").search(cfg)
    # a CRS stated in the config: the file is read in it (and lies in Oregon: nothing overlaps)
    shutil.copyfile(real("simple.las"), folder / "simple.las")
    stated = _local_cfg(area, folder, tmp_path, epsg=2991)
    with pytest.raises(NothingFoundError, match=r"1 LAS/LAZ file\(s\) there, in EPSG:2991"):
        source(stated, "lidar").search(stated)


@pytest.fixture(scope="module")
def zones(area: Area, tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Path]]:  # noqa: F811
    """The demo delivery tiles (moved by SHIFT) in 25833, and reprojected into 25832 and 25835; key 0: as made."""
    root = tmp_path_factory.mktemp("zones")
    tiles = [area.source / t["path"] for t in area.lidar]
    out: dict[int, list[Path]] = {0: tiles}
    for epsg in (25832, 25833, 25835):
        out[epsg] = [reproject_laz(t, root / str(epsg) / t.name, epsg) for t in tiles]
    return out


@pytest.mark.parametrize("epsg", [25832, 25833, 25835])
def test_reprojected_points_land_where_pyproj_puts_them(area: Area, zones: dict[int, list[Path]],  # noqa: F811
                                                        epsg: int) -> None:
    gb = area.cfg.grid.geobox(TILE)
    b = gb.extent.boundingbox
    bbox = (b.left, b.bottom, b.right, b.top)
    got = list(iter_points(zones[epsg], bbox, grid_crs="EPSG:25833"))
    gx, gy = np.concatenate([c.x for c in got]), np.concatenate([c.y for c in got])
    # pyproj on the file's own coordinates, and the original points before reprojection
    px, py, ox, oy = [], [], [], []
    to_grid = pyproj.Transformer.from_crs(epsg, 25833, always_xy=True)
    for delivered, original in zip(zones[epsg], zones[0], strict=True):
        las, orig = laspy.read(str(delivered)), laspy.read(str(original))
        x, y = to_grid.transform(np.asarray(las.x), np.asarray(las.y))
        keep = (x >= b.left) & (x < b.right) & (y > b.bottom) & (y <= b.top)
        px.append(x[keep])
        py.append(y[keep])
        ox.append(np.asarray(orig.x)[keep] + SHIFT)
        oy.append(np.asarray(orig.y)[keep] + SHIFT)
    assert gx.size == sum(a.size for a in px) > 100_000
    assert np.array_equal(gx, np.concatenate(px)) and np.array_equal(gy, np.concatenate(py))
    # 1 mm storage resolution: every point within 1 mm of where it was before reprojection
    assert np.abs(gx - np.concatenate(ox)).max() < 1e-3 and np.abs(gy - np.concatenate(oy)).max() < 1e-3


def test_tile_delivered_in_utm32_gives_the_same_products(area: Area, zones: dict[int, list[Path]],  # noqa: F811
                                                         tmp_path: Path) -> None:
    gb = area.cfg.grid.geobox(TILE)
    ref = compute_products(zones[25833], gb)
    for epsg in (25832, 25835):
        other = compute_products(zones[epsg], gb)
        assert other.points == ref.points
        for key, a in {**ref.as_dict(), **ref.metrics}.items():
            # heights are the same numbers; x/y moved < 1 mm: the TIN and the heights above it by less
            b = {**other.as_dict(), **other.metrics}[key]
            assert np.array_equal(np.isnan(a), np.isnan(b)), (epsg, key)
            d = np.abs(a - b)[~np.isnan(a)]
            if key == "terrain_aspect":  # degrees, circular: nearly flat cells turn most
                d = np.minimum(d, 360 - d) / 100
            # a point may cross a fine cell edge (the DSM's and CHM's cell maxima): rarely, and little
            assert np.mean(d < 0.01) > 0.99 and d.max() < 1.0, (epsg, key, np.mean(d < 0.01), d.max())
            if key == "dtm":
                assert d.max() < 0.01
    # through the stage: raw items of the UTM 32 delivery, products item on the UTM 33 grid
    src = tmp_path / "src" / "lidar"
    src.mkdir(parents=True)
    items = []
    for t, f in zip(area.lidar, zones[25832], strict=True):
        shutil.copyfile(f, src / Path(t["path"]).name)
    for lt in plan.Plan(area.cfg).lidar_tiles_for(TILE):
        p = tmp_path / "raw" / lt / "item.json"
        d = fetch_demo_tile(area.cfg, src.parent, lt, p)
        assert d["properties"]["proj:code"] == "EPSG:25832"
        items.append(p)
    d = run_lidar(area.cfg, TILE, items, tmp_path / "products" / "item.json", ctx=RunContext.current())
    validate_item_dict(d)
    assert d["properties"]["proj:code"] == "EPSG:25833"
    assert "Input CRS: EPSG:25832" in d["properties"]["processing:lineage"]
    assert d["properties"]["sporbar:point_count"] == ref.points


def test_no_crs_in_the_stage_is_a_named_error_unless_stated(area: Area, tmp_path: Path) -> None:  # noqa: F811
    p = write_las(tmp_path / "bare.las", None, 268900.0, 7030000.0)
    gb = area.cfg.grid.geobox(TILE)
    with pytest.raises(NoCrsError, match=rf"^{p}: lidar file carries no CRS"):
        compute_products([p], gb)
    assert compute_products([p], gb, stated_epsg=25833).points == 3
    with pytest.raises(LidarCrsError):
        compute_products([write_las(tmp_path / "geo.las", pyproj.CRS.from_epsg(4326), 10.3, 63.4)], gb)


@pytest.mark.parametrize(("name", "utm"), [("autzen_trim.laz", 32610),
                                          ("file_with_both_wkt_and_geotiff_vlrs.las", 32614)])
def test_real_points_land_where_pyproj_puts_them(name: str, utm: int) -> None:
    """Real files in US state planes (feet; WKT, and WKT + GeoTIFF records) read onto a UTM grid."""
    path = real(name)
    crs = lidar_crs(path, read_header(path))
    las = laspy.read(str(path))
    x, y = pyproj.Transformer.from_crs(crs.horizontal, utm, always_xy=True).transform(
        np.asarray(las.x), np.asarray(las.y))
    z = np.asarray(las.z) * crs.z_to_metres
    # the middle of the file: a bbox that cuts points off on every side
    (x0, x1), (y0, y1) = np.percentile(x, [20, 80]), np.percentile(y, [20, 80])
    got = list(iter_points([path], (x0, y0, x1, y1), grid_crs=f"EPSG:{utm}", chunk_size=max(len(x) // 7, 1)))
    gx, gy, gz = (np.concatenate([getattr(c, k) for c in got]) for k in ("x", "y", "z"))
    keep = (x >= x0) & (x < x1) & (y > y0) & (y <= y1)
    assert 0 < keep.sum() < len(x) and gx.size == keep.sum()
    np.testing.assert_array_equal(gx, x[keep])
    np.testing.assert_array_equal(gy, y[keep])
    np.testing.assert_array_equal(gz, z[keep])
