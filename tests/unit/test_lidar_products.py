"""`sporbar lidar`: DTM, DSM, CHM, density on a tile from raw lidar items."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from _lidar_fixtures import TILE, Area, area, fetch_demo_tile  # noqa: F401
from _stac_fixtures import vouch_for_file
from click.testing import CliRunner
from odc.geo.geobox import GeoBox

from sporbar.cli.main import cli
from sporbar.config import load
from sporbar.demo.landscape import DemoClass
from sporbar.errors import GeographicCrsError, InputDataError
from sporbar.io import sha256_multihash
from sporbar.lidar.classes import PointClasses
from sporbar.lidar.products import fill_nearest
from sporbar.lidar.read import Points
from sporbar.lidar.run import run_lidar
from sporbar.lidar.spill import BlockSpill, metres
from sporbar.lidar_bands import metric_names
from sporbar.raster import read_cog
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan


@pytest.fixture(scope="module")
def raw_items(area: Area, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:  # noqa: F811
    root = tmp_path_factory.mktemp("raw")
    out = []
    for t in plan.Plan(area.cfg).lidar_tiles_for(TILE):
        p = root / "raw" / "lidar" / t / "item.json"
        fetch_demo_tile(area.cfg, area.source, t, p)
        out.append(p)
    return out


def _landscape_window(area: Area, geobox: GeoBox, arr: np.ndarray) -> np.ndarray:  # noqa: F811
    t = area.landscape.transform
    r0, c0 = int((t.f - geobox.affine.f) / 10), int((geobox.affine.c - t.c) / 10)
    ny, nx = geobox.shape.yx
    return arr[r0 : r0 + ny, c0 : c0 + nx]


def test_cli_lidar_products(area: Area, raw_items: list[Path], tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "lidar" / "products" / TILE / "item.json"
    args = ["lidar", "-c", str(area.cfg_path), "--tile", TILE, "-o", str(out)]
    for p in raw_items:
        args += [str(p)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    validate_item_dict(d)
    assert d["id"] == f"lidar-products-{TILE}"
    assert d["properties"]["datetime"] == "2023-08-15T00:00:00Z"
    assert d["properties"]["proj:code"] == "EPSG:25833" and d["properties"]["proj:shape"] == [
        64,
        64,
    ]
    derived = sorted(link["title"] for link in d["links"] if link["rel"] == "derived_from")
    assert derived == sorted(p.parent.name for p in raw_items)
    assert set(d["assets"]) == {"dtm", "dsm", "chm", "density", "metrics", "thumbnail",
                                "dtm_fine", "dsm_fine", "chm_fine"}
    names = metric_names(area.cfg.data["lidar"])
    assert [b["name"] for b in d["assets"]["metrics"]["bands"]] == names
    assert len(d["assets"]["metrics"]["raster:bands"]) == len(names)
    assert d["properties"]["sporbar:excluded_points"]["unknown_classes"] == {}
    assert d["properties"]["sporbar:excluded_points"]["noise"] > 0  # the demo has a few noise points
    for key in ("dtm", "dsm", "chm", "density"):
        asset = d["assets"][key]
        assert asset["file:checksum"] == sha256_multihash(out.parent / f"{key}.tif")
        assert asset["raster:bands"][0]["data_type"] == "float32"
    assert d["assets"]["chm"]["raster:bands"][0]["unit"] == "metre"

    gb = area.cfg.grid.geobox(TILE)
    dtm, dsm, chm, density = (
        read_cog(out.parent / f"{k}.tif", geobox=gb)[0][0] for k in ("dtm", "dsm", "chm", "density")
    )
    elev = _landscape_window(area, gb, area.landscape.elevation)
    classes = _landscape_window(area, gb, area.landscape.classes)
    assert not np.isnan(dtm).any()
    assert np.median(np.abs(dtm - elev)) < 1.0
    assert np.all(dsm >= dtm - 1e-3)
    assert np.all(chm >= 0)
    forest = np.median(chm[classes == DemoClass.forest])
    open_land = np.median(
        chm[
            np.isin(
                classes,
                [
                    DemoClass.farmland,
                    DemoClass.heath,
                    DemoClass.mire,
                    DemoClass.bare_rock,
                    DemoClass.water,
                ],
            )
        ]
    )
    assert forest > 5 and forest > open_land + 5
    assert 0.8 < np.median(density) < 1.6
    metrics, found = read_cog(out.parent / "metrics.tif", geobox=gb)
    assert found == names
    m = dict(zip(names, metrics, strict=True))
    is_forest = classes == DemoClass.forest
    is_open = np.isin(classes, [DemoClass.farmland, DemoClass.heath, DemoClass.mire])
    assert np.median(m["cover"][is_forest]) > 0.5 and np.median(m["cover"][is_open]) < 0.1
    assert abs(np.median(m["h_p95"][is_forest]) - forest) < 3  # the canopy top, as the CHM says
    ok = np.isfinite(m["h_p10"])
    assert ok.mean() > 0.99
    stack = np.stack([m[n] for n in names if n.startswith("h_p")] + [m["h_max"]])[:, ok]
    assert np.all(np.diff(stack, axis=0) >= 0)  # p10 <= p25 <= ... <= p95 <= max


def test_laz_in_a_geographic_crs_is_refused(area: Area, raw_items: list[Path], tmp_path: Path) -> None:  # noqa: F811
    import laspy
    import pyproj

    bad = tmp_path / "bad"
    shutil.copytree(raw_items[0].parent, bad)
    laz = next(bad.glob("*.laz"))
    las = laspy.read(laz)
    las.header.add_crs(pyproj.CRS.from_epsg(4326))
    las.write(str(laz))
    vouch_for_file(bad / "item.json", "data")  # the item records the changed file: the CRS check must catch it
    with pytest.raises(GeographicCrsError, match="EPSG:4326") as err:
        run_lidar(area.cfg, TILE, [raw_items[1], bad / "item.json"], tmp_path / "out" / "item.json",
                  ctx=RunContext.current())
    assert str(laz) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_spill_counts_used_and_excluded_points(tmp_path: Path) -> None:
    pts = Points(
        x=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 15.0, 16.0, 25.0, 6.0, 17.0]),
        y=np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
        z=np.array([100.0, 102.0, 120.0, 130.0, 500.0, 50.0, 58.0, 999.0, 300.0, 0.0]),
        classification=np.array([2, 2, 5, 5, 7, 2, 6, 2, 65, 2], np.uint8),
        return_number=np.array([2, 2, 1, 1, 1, 1, 1, 1, 1, 1], np.uint8),
        withheld=np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool),
    )
    spill = BlockSpill((0.0, 0.0, 20.0, 10.0), 10.0, 20.0, 0.0, PointClasses.asprs(), res=10.0, fine_res=1.0,
                      folder=tmp_path)
    spill.add(pts)
    assert spill.points == 6  # noise, class 65, the withheld point and the point outside the tile left out
    assert spill.excluded.as_dict() == {"noise": 1, "withheld": 1, "unknown_classes": {"65": 1}}
    rec = spill.load(0)  # the point east of the tile is kept for the buffer
    assert sorted(metres(rec, spill.origin)[0].tolist()) == [1.0, 2.0, 3.0, 4.0, 15.0, 16.0, 25.0]
    assert rec["first"].sum() == 5
    assert spill.counts.tolist() == [[4, 2]]  # used points per 10 m cell: density


def test_spill_keeps_first_returns_and_the_lowest_ground_per_fine_cell(tmp_path: Path) -> None:
    pts = Points(
        x=np.array([1.2, 1.7, 1.5, 3.5, 3.6, 5.5]),
        y=np.array([5.5, 5.2, 5.5, 5.5, 5.5, 5.5]),
        z=np.array([100.3, 100.1, 120.0, 101.0, 130.0, 125.0]),
        classification=np.array([2, 2, 2, 2, 5, 5], np.uint8),
        return_number=np.array([2, 3, 1, 2, 2, 1], np.uint8),
        withheld=np.zeros(6, bool),
    )
    spill = BlockSpill((0.0, 0.0, 10.0, 10.0), 10.0, 10.0, 0.0, PointClasses.asprs(), res=10.0, fine_res=1.0,
                      folder=tmp_path)
    spill.add(pts)
    rec = spill.load(0)
    x = metres(rec, spill.origin)[0]
    # cell x 1..2: the lowest ground (1.7) is a TIN candidate, the ground first return (1.5) stays a first
    # return; x 3..4: its only ground point; the vegetation return that is not first is dropped
    assert sorted(x.tolist()) == [1.5, 1.7, 3.5, 5.5]
    assert sorted(x[rec["tin"] == 1].tolist()) == [1.7, 3.5]
    assert spill.points == 6 and spill.counts.tolist() == [[6]]  # every used point in the density


def test_fill_nearest_only_inside_mask() -> None:
    v = np.array([[1.0, np.nan, np.nan], [np.nan, np.nan, 5.0]])
    where = np.array([[True, True, False], [True, False, True]])
    out = fill_nearest(v, where)
    assert out[0, 1] == 1.0 and out[1, 0] == 1.0
    assert np.isnan(out[0, 2]) and np.isnan(out[1, 1])


def _copy_item_with_laz(raw_item: Path, folder: Path) -> tuple[Path, Path]:
    """A copy of a raw lidar item folder; returns (item path, its LAZ file)."""
    shutil.copytree(raw_item.parent, folder)
    return folder / "item.json", next(folder.glob("*.laz"))


def test_truncated_laz_is_a_named_error(area: Area, raw_items: list[Path], tmp_path: Path,  # noqa: F811
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 12.6): lazrs.LazrsError escaped the LAZ reader as a traceback."""
    from sporbar.cli.main import main
    from sporbar.las import read_header
    from sporbar.lidar.read import iter_points

    item, laz = _copy_item_with_laz(raw_items[0], tmp_path / "cut")
    data = laz.read_bytes()
    laz.write_bytes(data[: len(data) // 2])
    h = read_header(laz)  # the header is whole; the point chunks are cut
    bbox = (h.mins[0], h.mins[1], h.maxs[0] + 1, h.maxs[1] + 1)
    with pytest.raises(InputDataError, match="truncated or corrupt") as err:
        list(iter_points([laz], bbox, grid_crs="EPSG:25833"))
    assert str(laz) in str(err.value) and "sporbar fetch lidar --overwrite" in str(err.value)
    out = tmp_path / "out" / "item.json"
    with pytest.raises(SystemExit) as ended:
        main(["lidar", "-c", str(area.cfg_path), "--tile", TILE, "-o", str(out), str(item)])
    assert ended.value.code == 1
    msg = capsys.readouterr().err
    assert f"Error: {laz}: " in msg and "Traceback" not in msg and not out.exists()


def test_laz_given_instead_of_an_item(area: Area, raw_items: list[Path], tmp_path: Path,  # noqa: F811
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 12.10): `sporbar lidar` given a LAZ file printed a UnicodeDecodeError traceback."""
    from sporbar.cli.main import main

    laz = next(raw_items[0].parent.glob("*.laz"))
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    for wrong in (laz, empty):
        with pytest.raises(SystemExit) as ended:
            main(["lidar", "-c", str(area.cfg_path), "--tile", TILE, "-o", str(tmp_path / "o" / "item.json"),
                  str(wrong)])
        assert ended.value.code == 1
        msg = capsys.readouterr().err
        assert msg.startswith(f"Error: {wrong}: not a STAC item") and "raw/lidar/<lidar_tile>/item.json" in msg


def test_laz_with_zero_points_is_warned_and_recorded(area: Area, raw_items: list[Path], tmp_path: Path,  # noqa: F811
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Regression (issue 12.7): an emptied LAZ changed the products without a word."""
    import laspy

    item, laz = _copy_item_with_laz(raw_items[0], tmp_path / "empty")
    las = laspy.read(laz)
    empty = laspy.LasData(las.header)
    empty.points = las.points[:0]
    empty.write(laz)
    assert laspy.read(laz).header.point_count == 0
    vouch_for_file(item, "data")  # the item records the emptied file: the stage must still warn
    raw_id = json.loads(item.read_text())["id"]
    with caplog.at_level("WARNING", logger="sporbar.lidar.run"):
        d = run_lidar(area.cfg, TILE, [item, *raw_items[1:]], tmp_path / "out" / "item.json",
                      ctx=RunContext.current())
    assert f"{laz} (item {raw_id}) holds no point" in caplog.text
    assert d["properties"]["sporbar:empty_inputs"] == [raw_id]
    assert f"Inputs with no point: {raw_id}." in d["properties"]["processing:lineage"]
    validate_item_dict(d)
    full = run_lidar(area.cfg, TILE, raw_items, tmp_path / "full" / "item.json", ctx=RunContext.current())
    assert "sporbar:empty_inputs" not in full["properties"]
    assert d["properties"]["sporbar:point_count"] < full["properties"]["sporbar:point_count"]


def _append_points(laz: Path, n: int, *, classification: int, dz: float, withheld: bool = False) -> int:
    """Append ``n`` single first returns of ``classification`` at ``dz`` m above points of ``laz``."""
    import laspy

    las = laspy.read(laz)
    pick = np.random.default_rng(5).choice(len(las.points), n, replace=False)
    extra = laspy.ScaleAwarePointRecord(las.points.array[pick].copy(), las.header.point_format,
                                        las.header.scales, las.header.offsets)
    extra.z = np.asarray(extra.z) + dz
    extra.classification[:] = classification
    extra.return_number[:] = 1
    extra.number_of_returns[:] = 1
    extra.withheld[:] = withheld
    las.points = laspy.ScaleAwarePointRecord(np.concatenate([las.points.array, extra.array]),
                                             las.header.point_format, las.header.scales, las.header.offsets)
    las.write(str(laz))
    return n


def test_unknown_class_and_withheld_points_do_not_change_the_surfaces(
        area: Area, raw_items: list[Path], tmp_path: Path) -> None:  # noqa: F811
    """Issue 16: class 65 (an artefact class of some deliveries) 80 m above the canopy raised the DSM."""
    ref = run_lidar(area.cfg, TILE, raw_items, tmp_path / "ref" / "item.json", ctx=RunContext.current())
    item, laz = _copy_item_with_laz(raw_items[0], tmp_path / "odd")
    _append_points(laz, 500, classification=65, dz=80.0)
    _append_points(laz, 300, classification=2, dz=-40.0, withheld=True)
    vouch_for_file(item, "data")
    d = run_lidar(area.cfg, TILE, [item, *raw_items[1:]], tmp_path / "odd-out" / "item.json",
                  ctx=RunContext.current())
    validate_item_dict(d)
    excluded = d["properties"]["sporbar:excluded_points"]
    ex_ref = ref["properties"]["sporbar:excluded_points"]
    inside = excluded["unknown_classes"]["65"]
    assert 0 < inside <= 500 and excluded["withheld"] > 0 and excluded["noise"] == ex_ref["noise"]
    assert "unknown classes: class 65: " in d["properties"]["processing:lineage"]
    assert d["properties"]["sporbar:point_count"] == ref["properties"]["sporbar:point_count"]
    for key in ("dtm", "dsm", "chm", "density", "metrics"):
        a = read_cog(tmp_path / "ref" / f"{key}.tif")[0]
        b = read_cog(tmp_path / "odd-out" / f"{key}.tif")[0]
        assert np.array_equal(a, b, equal_nan=True), key
    # withheld points kept on request: the DTM sinks where they are; class 65 still left out
    data = yaml.safe_load(area.cfg_path.read_text())
    data["lidar"] = {"withheld": "keep"}
    (tmp_path / "keep.yaml").write_text(yaml.safe_dump(data))
    keep = run_lidar(load(tmp_path / "keep.yaml"), TILE, [item, *raw_items[1:]], tmp_path / "keep" / "item.json",
                     ctx=RunContext.current())
    assert keep["properties"]["sporbar:excluded_points"]["withheld"] == 0
    dtm_keep = read_cog(tmp_path / "keep" / "dtm.tif")[0]
    dtm_ref = read_cog(tmp_path / "ref" / "dtm.tif")[0]
    dsm_keep = read_cog(tmp_path / "keep" / "dsm.tif")[0]
    dsm_ref = read_cog(tmp_path / "ref" / "dsm.tif")[0]
    assert (dtm_keep < dtm_ref - 0.5).any() and not (dsm_keep > dsm_ref + 60).any()  # class 65 still out


def test_tile_without_ground_and_the_filter_off_is_warned_and_recorded(
        area: Area, raw_items: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    """No ground class and ``min_ground_share: 0``: no terrain, so no DTM, CHM or heights, said in the item."""
    import laspy

    from sporbar.config import Config

    items = []
    for i, raw in enumerate(raw_items):
        item, laz = _copy_item_with_laz(raw, tmp_path / f"bare{i}")
        las = laspy.read(laz)
        las.classification[np.isin(np.asarray(las.classification), (2, 9))] = 1  # ground and water
        las.write(str(laz))
        vouch_for_file(item, "data")
        items.append(item)
    data = json.loads(json.dumps(area.cfg.data))
    data["lidar"]["ground_filter"]["min_ground_share"] = 0
    with caplog.at_level("WARNING", logger="sporbar.lidar.run"):
        d = run_lidar(Config(data), TILE, items, tmp_path / "out" / "item.json", ctx=RunContext.current())
    assert "no ground points" in caplog.text and str(TILE) in caplog.text
    assert "No ground points" in d["properties"]["processing:lineage"]
    validate_item_dict(d)
    folder = tmp_path / "out"
    for key in ("dtm", "chm", "metrics"):
        assert np.isnan(read_cog(folder / f"{key}.tif")[0]).all(), key  # unknown, not 0 m
    assert np.nanmax(read_cog(folder / "density.tif")[0]) > 0  # the points are there


def test_a_buffer_under_five_fine_cells_is_refused() -> None:
    from sporbar.errors import ConfigError
    from sporbar.lidar_bands import fine_factor

    assert fine_factor(10.0, 1.0, 5.0) == 10
    with pytest.raises(ConfigError, match=r"lidar.buffer 4 m must be at least 5 x lidar.resolution \(5 m\)"):
        fine_factor(10.0, 1.0, 4.0)
