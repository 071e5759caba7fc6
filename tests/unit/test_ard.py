"""``sporbar ard``: reprojection onto the tile grid, SCL masking, period medians, indices, item."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import yaml
from _s2_fixtures import REPO, TILE, fetch_demo_scene, raw, scene_ids, source, tiny, write_tiny_config  # noqa: F401
from click.testing import CliRunner

from sporbar.ard.load import load, read_scenes
from sporbar.ard.run import make_ard
from sporbar.ard.write import open_cube
from sporbar.cli.main import cli
from sporbar.config import load as load_config
from sporbar.demo.landscape import DemoClass, make_landscape
from sporbar.errors import InputDataError
from sporbar.raster import read_cog
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict

CTX = RunContext.current()


@pytest.fixture(scope="module")
def ard(tiny, raw, tmp_path_factory) -> tuple[Path, dict]:  # noqa: F811
    out = tmp_path_factory.mktemp("ard") / TILE / "item.json"
    return out, make_ard(tiny[1], TILE, raw, out, ctx=CTX)


def test_item_is_valid_and_on_the_tile_grid(tiny, ard):  # noqa: F811
    out, d = ard
    validate_item_dict(json.loads(out.read_text(encoding="utf-8")))
    assert d["id"] == f"ard-{TILE}" and d["properties"]["datetime"] is None
    assert d["properties"]["start_datetime"] == "2024-06-01T00:00:00Z"
    assert d["properties"]["proj:code"] == "EPSG:25833" and d["properties"]["proj:shape"] == [
        64,
        64,
    ]
    assert sorted(d["assets"]) == [
        "clear-early",
        "clear-late",
        "composite-early",
        "composite-late",
        "cube",
        "quality",
        "season",
        "thumbnail",
    ]
    assert len([ln for ln in d["links"] if ln["rel"] == "derived_from"]) == 3
    geobox = tiny[1].grid.geobox(TILE)
    data, names = read_cog(out.parent / "composite-early.tif", geobox=geobox)
    assert names == [*tiny[1].data["ard"]["bands"], *tiny[1].data["ard"]["indices"]] and data.dtype == np.float32
    assert [b["name"] for b in d["assets"]["composite-early"]["eo:bands"]] == names
    valid = data[:10][np.isfinite(data[:10])]
    assert valid.size and (valid > -0.1).all() and (valid < 1.0).all()
    clear, _ = read_cog(out.parent / "clear-early.tif", geobox=geobox)
    assert clear.dtype == np.uint8 and clear.max() <= 2
    cube = open_cube(out.parent / "cube.zarr")
    assert (
        cube.dims == ("time", "band", "y", "x")
        and cube.shape[0] == 3
        and cube.shape[2:] == (64, 64)
    )


def test_season_percentiles_are_those_of_every_clear_observation(tiny, ard):  # noqa: F811
    """The season asset holds numpy's nanpercentile over the cube's clear observations, per band and index."""
    import warnings

    out, d = ard
    season = tiny[1].data["ard"]["season"]
    assert season["bands"], "the demo config names season bands"
    data, names = read_cog(out.parent / "season.tif", geobox=tiny[1].grid.geobox(TILE))
    assert names == [f"{b}_p{q}" for b in season["bands"] for q in season["percentiles"]] + ["clear_count"]
    assert [b["name"] for b in d["assets"]["season"]["eo:bands"]] == names
    cube = open_cube(out.parent / "cube.zarr")
    band = {str(b): i for i, b in enumerate(cube["band"].values)}
    values = cube.values.astype(np.float64)
    for name in season["bands"]:
        if name in band:
            series = values[:, band[name]]
        else:  # an index, per observation
            from sporbar.bands import INDEX_BANDS

            a, b = (values[:, band[x]] for x in INDEX_BANDS[name])
            series = (a - b) / (a + b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanpercentile(series, season["percentiles"], axis=0)
        got = np.stack([data[names.index(f"{name}_p{q}")] for q in season["percentiles"]])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=name)
    clear = np.isfinite(values).all(axis=1).sum(axis=0)
    np.testing.assert_array_equal(data[-1], clear)


def test_cloudy_pixels_do_not_leak_into_the_composite(tiny, raw, ard, tmp_path):  # noqa: F811
    """Where scene A is masked (cloud/shadow), composite(A, B) equals composite(B alone)."""
    out, _ = ard
    a, b = raw[0], raw[1]  # both in period 'early'
    only_b = tmp_path / "b" / "item.json"
    make_ard(tiny[1], TILE, [b], only_b, ctx=CTX)
    cube = open_cube(out.parent / "cube.zarr").values
    masked_a = np.isnan(cube[0, 0]) & np.isfinite(cube[1, 0])
    assert masked_a.sum() > 20, "scene A has no masked pixel over clear B: change the demo seed"
    both, _ = read_cog(out.parent / "composite-early.tif")
    alone, _ = read_cog(only_b.parent / "composite-early.tif")
    np.testing.assert_array_equal(both[:, masked_a], alone[:, masked_a])
    # ...and A really is cloudy there: its unmasked blue is much brighter than B's
    raw_a = load(read_scenes([a]), ["B02"], geobox=tiny[1].grid.geobox(TILE)).values[0, 0]
    assert np.nanmax(raw_a[masked_a]) > 0.3


def test_ndvi_of_forest_exceeds_water(tiny, ard):  # noqa: F811
    out, _ = ard
    comp, names = read_cog(out.parent / "composite-late.tif")
    ndvi = comp[names.index("NDVI")]
    land = make_landscape(tuple(tiny[1].data["area"]["bbox"]), seed=tiny[1].data["demo"]["seed"])
    gb = tiny[1].grid.geobox(TILE)
    r0 = int(round((land.transform.f - gb.affine.f) / 10))
    c0 = int(round((gb.affine.c - land.transform.c) / 10))
    classes = land.classes[r0 : r0 + 64, c0 : c0 + 64]
    forest = np.nanmedian(ndvi[classes == DemoClass.forest])
    water = np.nanmedian(ndvi[classes == DemoClass.water])
    assert forest > 0.6 and water < 0.1


def test_outputs_are_deterministic(tiny, raw, ard, tmp_path):  # noqa: F811
    _, d = ard
    d2 = make_ard(tiny[1], TILE, raw, tmp_path / "again" / "item.json", ctx=CTX)
    for key, asset in d["assets"].items():
        assert d2["assets"][key]["file:checksum"] == asset["file:checksum"], key


def test_scene_missing_band_names_item_and_band(tiny, raw, tmp_path):  # noqa: F811
    d = json.loads(raw[0].read_text(encoding="utf-8"))
    del d["assets"]["B08"]
    for a in d["assets"].values():
        a["href"] = str((raw[0].parent / a["href"]).resolve())
    broken = tmp_path / "broken" / "item.json"
    broken.parent.mkdir()
    broken.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(InputDataError, match=rf"{broken}: band 'B08' missing \(found B01,"):
        make_ard(tiny[1], TILE, [broken], tmp_path / "out" / "item.json", ctx=CTX)


def test_cloudy_scenes_are_dropped(tmp_path, raw, caplog):  # noqa: F811
    cover = [json.loads(p.read_text(encoding="utf-8"))["properties"]["eo:cloud_cover"] for p in raw]
    assert cover[0] > 40 > max(cover[1:])  # the first (early) scene is the cloudy one
    cfg = load_config(write_tiny_config(tmp_path, sources={"sentinel2": {"max_cloud_cover": 40}}))
    with caplog.at_level(logging.INFO, logger="sporbar.ard.run"):
        d = make_ard(cfg, TILE, raw, tmp_path / "out" / "item.json", ctx=CTX)
    assert "dropping" in caplog.text and raw[0].parent.name in caplog.text
    clear, _ = read_cog(tmp_path / "out" / "clear-early.tif")
    assert clear.max() < 2
    assert "Dropped for cloud cover" in d["properties"]["processing:lineage"]
    none = load_config(
        write_tiny_config(tmp_path / "n", sources={"sentinel2": {"max_cloud_cover": 0}})
    )
    with pytest.raises(InputDataError, match="exceed sources/sentinel2/max_cloud_cover 0%"):
        make_ard(none, TILE, raw, tmp_path / "none" / "item.json", ctx=CTX)


def test_cli_smoke(tiny, raw, tmp_path):  # noqa: F811
    out = tmp_path / "cli" / "item.json"
    args = ["ard", "-c", str(tiny[0]), "--tile", TILE, "-o", str(out)]
    for p in raw:
        args += [str(p)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert out.is_file()


def test_period_with_no_scene_is_recorded_and_refused_downstream(raw, tmp_path, caplog):  # noqa: F811
    """Regression (issue 12.6): a period with no scene gave an all-NaN composite without a word,
    and `samples` then crashed in np.concatenate([]). Now ARD records it, samples/predict refuse it."""
    from sporbar.errors import EmptyPeriodError
    from sporbar.training.features import feature_stack

    periods = [
        {"id": "early", "start": "2024-06-01", "end": "2024-07-05"},
        {"id": "winter", "start": "2024-12-01", "end": "2024-12-31"},  # no demo date falls here
    ]
    ard = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))["ard"]
    cfg = load_config(write_tiny_config(tmp_path, ard={**ard, "periods": periods}))
    out = tmp_path / "ard" / "item.json"
    with caplog.at_level(logging.WARNING, logger="sporbar.ard.run"):
        d = make_ard(cfg, TILE, raw, out, ctx=CTX)
    validate_item_dict(json.loads(out.read_text(encoding="utf-8")))
    assert d["properties"]["sporbar:period_scenes"] == {"early": 2, "winter": 0}
    assert "no scene in this period" in d["assets"]["composite-winter"]["title"]
    assert f"period winter (2024-12-01..2024-12-31) holds no scene on tile {TILE}" in caplog.text
    comp, _ = read_cog(out.parent / "composite-winter.tif")
    assert np.isnan(comp).all()
    with pytest.raises(EmptyPeriodError) as err:
        feature_stack(cfg, TILE, out, tmp_path / "lidar" / "item.json")
    msg = str(err.value)
    assert msg.startswith(f"{out}: ARD period 'winter' (2024-12-01..2024-12-31) holds no scene on tile {TILE}")
    assert "ard.periods" in msg


def test_loaded_bytes_do_not_depend_on_the_chunk_size(tiny, raw):  # noqa: F811
    """Regression: GDAL fitted its kernel scale and transform approximation to each chunk's
    window, so 10 m bands differed between chunk sizes (odc-stac's own reader still does)."""
    import odc.stac

    from sporbar.ard.load import SCL, load_dn
    from sporbar.ard.warp import BlockWarpDriver

    scenes = read_scenes(raw)
    geobox = tiny[1].grid.geobox(TILE)
    bands = ["B02", "B08", "B05", SCL]
    whole = load_dn(scenes, bands, geobox=geobox).compute()
    chunked = load_dn(scenes, bands, geobox=geobox, chunks=24).compute()
    assert whole["B02"].chunks is None and (whole["B02"].values > 0).mean() > 0.9
    for b in bands:
        assert whole[b].values.tobytes() == chunked[b].values.tobytes(), b
    # the same with warp blocks smaller than the tile, cut differently by two chunkings
    items = [s.item for s in scenes]
    loads = [
        odc.stac.load(items, bands=bands, geobox=geobox, groupby="id", chunks={"x": c, "y": c},
                      resampling={SCL: "nearest", "*": "bilinear"}, driver=BlockWarpDriver(block=16)).compute()
        for c in (64, 24)
    ]
    for b in bands:
        assert loads[0][b].values.tobytes() == loads[1][b].values.tobytes(), b
        assert (loads[0][b].values == whole[b].values).mean() > 0.5  # same data, other warp blocks


REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
PATCH = REALDATA / "bigearthnet" / "BigEarthNet-S2" / "S2B_MSIL2A_20170924T93020_69_24"  # Finland, EPSG:32635
SAFE_META = REALDATA / "s2-safe-metadata"


def _patch_scene(tmp_path: Path, raster_bands: dict):
    """A raw item (a :class:`Scene`) over the real BigEarthNet patch files, with ``raster:bands``."""
    from datetime import datetime

    import pystac
    import rasterio
    from odc.geo.geom import box
    from pystac.extensions.projection import ProjectionExtension

    item = pystac.Item("patch", None, None, datetime=datetime(2017, 9, 24, 9, 30), properties={})
    for band in ("B02", "B05", "B08", "B11"):
        href = next(PATCH.glob(f"*_{band}.tif"))
        item.add_asset(band, pystac.Asset(str(href), media_type=pystac.MediaType.GEOTIFF, roles=["data"]))
        with rasterio.open(href) as ds:
            proj = ProjectionExtension.ext(item.assets[band], add_if_missing=True)
            proj.code, proj.shape, proj.transform = str(ds.crs), list(ds.shape), list(ds.transform)[:6]
            footprint = box(*ds.bounds, crs=ds.crs).to_crs("EPSG:4326")
        item.assets[band].extra_fields["raster:bands"] = [raster_bands]
    item.geometry, item.bbox = footprint.json, list(footprint.boundingbox)
    path = tmp_path / "patch" / "item.json"
    path.parent.mkdir(parents=True)
    item.set_self_href(str(path))
    item.save_object(include_self_link=False)
    return read_scenes([path])[0]


@pytest.mark.skipif(not PATCH.is_dir(), reason="needs ../shared/realdata (BigEarthNet patches)")
def test_real_sentinel2_patch_loads_with_its_scale_offset_on_any_grid(tmp_path):
    """Real L2A band files (BigEarthNet, Finland) with the scale/offset stactools writes for
    processing baseline 04.00 (real MTD metadata): exact values on the files' own grid,
    bilinear 20 m -> 10 m within the source range, chunk-independent on a rotated grid."""
    import rasterio
    from odc.geo.geobox import GeoBox

    meta = json.loads((SAFE_META / "S2B_MSIL2A_20220413T150759_N0400_R025_T33XWJ_20220414T082126.SAFE"
                       / "expected_output.json").read_text())
    rb = meta["assets"]["blue"]["raster:bands"][0]
    old = json.loads((SAFE_META / "S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE"
                      / "expected_output.json").read_text())["assets"]["blue"]["raster:bands"][0]
    assert (rb["scale"], rb["offset"], old["offset"]) == (0.0001, -0.1, 0)  # baseline 04.00 added the offset
    scene = _patch_scene(tmp_path, {k: rb[k] for k in ("scale", "offset", "nodata", "data_type")})
    assert scene.scale_offset("B02") == (0.0001, -0.1)
    with rasterio.open(scene.band_path("B02")) as ds:
        dn, own = ds.read(1), GeoBox(ds.shape, ds.transform, ds.crs)
    with rasterio.open(scene.band_path("B05")) as ds:
        dn20 = ds.read(1)
    refl = load([scene], ["B02", "B05"], geobox=own).values[0]
    np.testing.assert_array_equal(refl[0], dn.astype(np.float32) * np.float32(1e-4) + np.float32(-0.1))
    b05 = refl[1][np.isfinite(refl[1])]
    lo, hi = dn20.min() * 1e-4 - 0.1, dn20.max() * 1e-4 - 0.1
    assert b05.size > 0.8 * refl[1].size and lo - 1e-6 <= b05.min() and b05.max() <= hi + 1e-6
    assert abs(b05.mean() - (dn20.mean() * 1e-4 - 0.1)) < 0.01
    # onto the national grid (EPSG:25833, zone 33: rotated ~8 degrees against zone 35)
    ctr = own.extent.centroid.to_crs("EPSG:25833").coords[0]
    x0, y0 = int(ctr[0] // 10 * 10 - 400), int(ctr[1] // 10 * 10 + 400)
    national = GeoBox((80, 80), rasterio.Affine(10, 0, x0, 0, -10, y0), "EPSG:25833")
    a = load([scene], ["B02", "B05", "B11"], geobox=national).values
    b = load([scene], ["B02", "B05", "B11"], geobox=national, chunks=24).values
    assert a.tobytes() == b.tobytes() and np.isfinite(a).mean() > 0.9


def test_median_of_clear_observations_equals_numpy_nanmedian_for_any_number_of_scenes():
    import warnings

    from sporbar.ard.composite import nanmedian_time

    rng = np.random.default_rng(3)
    for t in range(0, 34):
        a = rng.random((t, 2, 9, 9), dtype=np.float32)
        a[:, :, :3] = np.round(a[:, :, :3], 1)  # ties
        a[rng.random(a.shape) < 0.4] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
            expected = np.nanmedian(a, axis=0) if t else np.full((2, 9, 9), np.nan)
        np.testing.assert_array_equal(nanmedian_time(a), expected.astype(np.float32), err_msg=f"{t} scenes")


def test_percentiles_of_clear_observations_equal_numpy_nanpercentile_for_any_number_of_scenes():
    import warnings

    from sporbar.ard.composite import nanpercentiles_time

    rng = np.random.default_rng(4)
    qs = [0, 10, 25, 50, 75, 90, 100]
    for t in range(0, 34):
        a = rng.random((t, 2, 9, 9), dtype=np.float32)
        a[:, :, :3] = np.round(a[:, :, :3], 1)  # ties
        a[rng.random(a.shape) < 0.4] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
            expected = np.nanpercentile(a.astype(np.float64), qs, axis=0) if t else np.full((7, 2, 9, 9), np.nan)
        np.testing.assert_allclose(nanpercentiles_time(a, qs), expected, rtol=1e-6, atol=1e-7, equal_nan=True,
                                   err_msg=f"{t} scenes")


def test_cog_written_by_windows_and_threads_has_the_bytes_of_write_cog(tiny, tmp_path):  # noqa: F811
    from sporbar.raster import cog_writer, write_cog

    geobox = tiny[1].grid.geobox(TILE)
    rng = np.random.default_rng(5)
    data = rng.random((3, *geobox.shape.yx), dtype=np.float32)
    data[:, :10, :7] = np.nan
    write_cog(tmp_path / "whole.tif", data, geobox, nodata=float("nan"), band_names=["a", "b", "c"])
    for threads in (1, 2):
        path = tmp_path / f"windows-{threads}.tif"
        with cog_writer(path, geobox, count=3, dtype="float32", nodata=float("nan"), band_names=["a", "b", "c"],
                        threads=threads) as out:
            for row in range(0, geobox.shape.y, 24):  # strips that do not match the 256 px COG tiles
                out.write(data[:, row : row + 24], row=row)
        assert path.read_bytes() == (tmp_path / "whole.tif").read_bytes(), threads
