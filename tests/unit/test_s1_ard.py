"""``sporbar s1-ard``: demo GRD scenes -> calibrated, geocoded backscatter statistics on a tile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from _s1_demo_fixtures import s1_source  # noqa: F401
from _s2_fixtures import write_tiny_config
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.config import Config, load, validate
from sporbar.demo.landscape import make_landscape
from sporbar.demo.s1_backscatter import GAMMA0_DB
from sporbar.errors import ConfigError, InputDataError, MissingInputError
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.registry import source
from sporbar.raster import write_cog
from sporbar.s1ard.periods import mean_std
from sporbar.s1ard.run import run_s1_ard
from sporbar.s1ard.speckle import lee
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    """The tiny area with Sentinel-1 from the demo source."""
    folder = tmp_path_factory.mktemp("tiny-s1")
    path = write_tiny_config(folder)
    data = load(path).data
    sources = {**data["sources"], "sentinel1": {"source": "demo"}}
    path = write_tiny_config(folder, sources=sources)
    return path, load(path)


@pytest.fixture(scope="module")
def raw_items(tiny: tuple[Path, Config], s1_source: Path) -> list[Path]:  # noqa: F811
    """The demo scenes fetched into the tiny run's raw/sentinel-1-grd/."""
    cfg = tiny[1]
    src = source(cfg, "sentinel1", "demo")
    listing = src.listing(source_dir=s1_source)
    out = []
    for scene in plan.s1_scene_ids(cfg):
        p = plan.path(cfg, "raw_s1", scene=scene)
        src.fetch(RunContext.current(config_hash=cfg.hash), cfg, listing.entry(scene), p)
        out.append(p)
    return out


def _cfg(tiny: tuple[Path, Config], **s1_ard: object) -> Config:
    return load(tiny[0], overrides={"s1_ard": {**tiny[1].data["s1_ard"], **s1_ard}})


def _truth(cfg: Config, tile: str) -> tuple[np.ndarray, np.ndarray]:
    """The demo landscape's classes and elevation on ``tile`` (10 m cells on the same grid)."""
    gb = cfg.grid.geobox(tile)
    ls = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"])
    r0, c0 = int((ls.transform.f - gb.affine.f) / 10), int((gb.affine.c - ls.transform.c) / 10)
    ny, nx = gb.shape.yx
    return ls.classes[r0 : r0 + ny, c0 : c0 + nx], ls.elevation[r0 : r0 + ny, c0 : c0 + nx]


def _dem_item(cfg: Config, tile: str, folder: Path, lowered_by: float = 0.0) -> Path:
    """A lidar products item whose DTM is the demo landscape's terrain (minus ``lowered_by`` metres)."""
    _, elevation = _truth(cfg, tile)
    dtm = (elevation - lowered_by)[None].astype(np.float32)
    write_cog(folder / "dtm.tif", dtm, cfg.grid.geobox(tile), nodata=float("nan"),
              band_names=["dtm"])
    item = pystac.Item(id=f"lidar-products-{tile}", geometry=None, bbox=None,
                       datetime=pystac.utils.str_to_datetime("2024-06-01T00:00:00Z"), properties={})
    item.add_asset("dtm", pystac.Asset(href="./dtm.tif", media_type="image/tiff", roles=["data"]))
    RunContext.current(config_hash=cfg.hash).record(item, folder / "item.json", inputs=[], lineage="test DEM",
                                                    command="lidar", parameters={})
    return folder / "item.json"


def _read(item_path: Path, period: str) -> np.ndarray:
    with rasterio.open(item_path.parent / f"backscatter-{period}.tif") as ds:
        assert list(ds.descriptions) == [f"{period}_{q}_{s}" for q in ("vv", "vh", "vhvv") for s in ("mean", "std")]
        return ds.read()


def test_ellipsoid_geocoding_records_its_steps(tiny: tuple[Path, Config], raw_items: list[Path],
                                               tmp_path: Path) -> None:
    cfg = _cfg(tiny, dem="none")
    tile = cfg.tiles[0]
    d = run_s1_ard(cfg, tile, raw_items, tmp_path / "item.json", dem_item=None,
                   ctx=RunContext.current(config_hash=cfg.hash))
    validate_item_dict(d)
    p = d["properties"]
    assert p["sporbar:period_scenes"] == {"early": 2, "late": 1}
    steps = p["sporbar:s1_processing"]
    assert steps["terrain_flattening"] == "none" and steps["dem"] == "none" and steps["calibration"] == "gamma0"
    assert "ellipsoid" in steps["geocoding"] and steps["speckle_filter"] == "lee 5x5"
    assert {link["rel"] for link in d["links"]} >= {"derived_from"}
    a = _read(tmp_path / "item.json", "early")
    assert np.isfinite(a).mean() > 0.95
    assert np.allclose(a[4], np.nan_to_num(a[4]))  # the ratio band is finite where VV and VH are
    assert np.nanmedian(a[2]) < np.nanmedian(a[0])  # VH below VV
    assert np.all(a[[1, 3, 5]][np.isfinite(a[[1, 3, 5]])] >= 0)  # standard deviations


def test_dem_geocoding_and_flattening_recover_the_class_backscatter(
    tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path,
) -> None:
    cfg_dem, cfg_ell = _cfg(tiny, dem="lidar"), _cfg(tiny, dem="none")
    tile = cfg_dem.tiles[0]
    dem = _dem_item(cfg_dem, tile, tmp_path / "dem")
    ctx = RunContext.current(config_hash=cfg_dem.hash)
    d = run_s1_ard(cfg_dem, tile, raw_items, tmp_path / "dem-run" / "item.json", dem_item=dem, ctx=ctx)
    run_s1_ard(cfg_ell, tile, raw_items, tmp_path / "ell-run" / "item.json", dem_item=None, ctx=ctx)
    steps = d["properties"]["sporbar:s1_processing"]
    assert steps["terrain_flattening"].startswith("Ulander") and steps["dem"].startswith(f"lidar-products-{tile}")
    classes, _ = _truth(cfg_dem, tile)
    flat, ell = _read(tmp_path / "dem-run" / "item.json", "early"), _read(tmp_path / "ell-run" / "item.json", "early")
    forest = classes == 1
    true_vv = GAMMA0_DB[1][0]  # forest gamma0 in VV (no seasonal change)
    assert abs(np.nanmean(flat[0][forest]) - true_vv) < 1.0
    assert np.nanstd(flat[0][forest]) < 0.5 * np.nanstd(ell[0][forest])  # terrain effects removed


def _geoid_raster(path: Path, bounds: tuple[float, float, float, float], n: float) -> Path:
    """A constant geoid model ``n`` metres in EPSG:4326 (0.01 degree cells) over ``bounds``."""
    from affine import Affine

    w, s, e, north = bounds
    cols, rows = int(np.ceil((e - w) / 0.01)), int(np.ceil((north - s) / 0.01))
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, w, 0, -0.01, north), nodata=-9999) as ds:
        ds.write(np.full((1, rows, cols), n, np.float32))
    return path


def test_orthometric_dtm_is_raised_by_the_geoid_height(
    tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path,
) -> None:
    """The demo's products are made on an ellipsoid equal to the geoid: a DTM 40 m below it (orthometric,
    N = 40) with s1_ard.geoid 40 (a number or a model raster) geocodes exactly as the true heights with
    N = 0, and without the geoid height it does not."""
    tile = tiny[1].tiles[0]
    ctx = RunContext.current(config_hash=tiny[1].hash)
    true_dem = _dem_item(tiny[1], tile, tmp_path / "dem-true")
    ortho_dem = _dem_item(tiny[1], tile, tmp_path / "dem-ortho", lowered_by=40.0)
    lonlat = tiny[1].grid.geobox(tile).to_crs("EPSG:4326").extent.boundingbox
    model = _geoid_raster(tmp_path / "geoid.tif", (lonlat.left - 0.05, lonlat.bottom - 0.05,
                                                   lonlat.right + 0.05, lonlat.top + 0.05), 40.0)
    runs = {"true": (0, true_dem), "n40": (40, ortho_dem), "model": (str(model), ortho_dem), "n0": (0, ortho_dem)}
    out = {}
    for name, (geoid, dem) in runs.items():
        cfg = _cfg(tiny, dem="lidar", geoid=geoid)
        d = run_s1_ard(cfg, tile, raw_items, tmp_path / name / "item.json", dem_item=dem, ctx=ctx)
        out[name] = (_read(tmp_path / name / "item.json", "early"), d["properties"]["sporbar:s1_processing"])
    assert np.array_equal(out["true"][0], out["n40"][0], equal_nan=True)
    assert np.allclose(out["model"][0], out["n40"][0], equal_nan=True, atol=1e-4)
    assert not np.allclose(out["n0"][0], out["true"][0], equal_nan=True, atol=0.1)
    assert out["n40"][1]["dem_vertical"]["geoid_height_m"] == 40.0
    rec = out["model"][1]["dem_vertical"]
    assert rec["geoid_model"] == str(model) and rec["file:checksum"].startswith("1220")
    assert rec["geoid_height_m_range"] == [40.0, 40.0]


def test_a_geoid_model_that_misses_the_tile_or_no_geoid_is_a_named_error(
    tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path,
) -> None:
    tile = tiny[1].tiles[0]
    dem = _dem_item(tiny[1], tile, tmp_path / "dem")
    far = _geoid_raster(tmp_path / "far.tif", (30.0, 69.0, 30.5, 69.5), 20.0)  # Finnmark, not the tile
    cfg = _cfg(tiny, dem="lidar", geoid=str(far))
    with pytest.raises(InputDataError, match=r"far\.tif: the geoid model has no value"):
        run_s1_ard(cfg, tile, raw_items, tmp_path / "run" / "item.json", dem_item=dem,
                   ctx=RunContext.current(config_hash=cfg.hash))
    data = {**tiny[1].data, "s1_ard": {k: v for k, v in tiny[1].data["s1_ard"].items() if k != "geoid"}}
    with pytest.raises(ConfigError, match="s1_ard/geoid: required with s1_ard.dem 'lidar'"):
        validate(data, source="test.yaml")


def test_a_tile_no_scene_sees_is_written_all_nan_and_says_why(
    tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path,
) -> None:
    cfg = _cfg(tiny, dem="none")
    far = cfg.grid.tile_id(*(i + 100 for i in cfg.grid.tile_index(cfg.tiles[0])))
    d = run_s1_ard(cfg, far, raw_items, tmp_path / "item.json", dem_item=None,
                   ctx=RunContext.current(config_hash=cfg.hash))
    validate_item_dict(d)
    p = d["properties"]
    assert p["sporbar:period_scenes"] == {"early": 0, "late": 0}
    assert p["sporbar:s1_uncovered_scenes"] == sorted(json.loads(Path(i).read_text())["id"] for i in raw_items)
    assert "no scene sees the tile" in d["assets"]["backscatter-early"]["title"]
    assert np.isnan(_read(tmp_path / "item.json", "late")).all()


def test_a_product_without_calibration_files_is_a_named_error(
    tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path,
) -> None:
    cfg = _cfg(tiny, dem="none")
    src = json.loads(raw_items[0].read_text())
    scene = src["id"]
    safe = Path(shutil.copytree(raw_items[0].parent / f"{scene}.SAFE", tmp_path / "raw" / f"{scene}.SAFE"))
    shutil.rmtree(safe / "annotation" / "calibration")  # a metadata-only copy, measurement kept
    item = SENTINEL1.describe(safe, scene)
    RunContext.current(config_hash=cfg.hash).record(item, tmp_path / "raw" / "item.json", inputs=[],
                                                    lineage="test", command="fetch s1", parameters={})
    with pytest.raises(MissingInputError, match=r"has no 'calibration-vv' asset.*fetch the full GRD product"):
        run_s1_ard(cfg, cfg.tiles[0], [tmp_path / "raw" / "item.json"], tmp_path / "out" / "item.json",
                   dem_item=None, ctx=RunContext.current(config_hash=cfg.hash))
    assert not (tmp_path / "out" / "item.json").exists()


def test_cli_writes_the_item(tiny: tuple[Path, Config], raw_items: list[Path], tmp_path: Path) -> None:
    cfg = _cfg(tiny, dem="none")
    cfg_path = tmp_path / "config.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(cfg.data), encoding="utf-8")
    out = tmp_path / "s1" / "item.json"
    r = CliRunner().invoke(cli, ["s1-ard", "-c", str(cfg_path), "--tile", cfg.tiles[0], "-o", str(out),
                                 *map(str, raw_items)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "scenes per period" in r.output


def test_lee_filter_smooths_speckle_and_keeps_the_mean_and_nodata() -> None:
    rng = np.random.default_rng(1)
    looks = 4.4
    field = rng.gamma(looks, 1 / looks, (80, 80)) * 0.1
    field[0, 0] = np.nan
    out = lee(field, window=7, looks=looks)
    assert np.isnan(out[0, 0])
    assert np.nanstd(out) < 0.5 * np.nanstd(field)
    assert np.nanmean(out) == pytest.approx(np.nanmean(field), rel=0.02)
    edge = np.where(np.arange(80)[None, :] < 40, 0.01, 1.0) * np.ones((80, 1))  # a sharp edge, no speckle
    kept = lee(edge, window=7, looks=looks)
    assert np.allclose(kept[:, :37], 0.01) and np.allclose(kept[:, 43:], 1.0)  # flat areas untouched
    box = np.convolve(edge[0], np.ones(7) / 7, mode="same")
    err_lee, err_box = np.abs(kept[0, 37:43] - edge[0, 37:43]), np.abs(box[37:43] - edge[0, 37:43])
    assert np.all(err_lee <= err_box + 1e-6) and err_lee.sum() < 0.5 * err_box.sum()  # sharper than a box mean


@pytest.mark.parametrize(("values", "mean", "std"), [
    ([1.0, 3.0], 2.0, 1.0),
    ([np.nan, 3.0], 3.0, 0.0),
    ([np.nan, np.nan], np.nan, np.nan),
])
def test_mean_std_ignores_nan(values: list[float], mean: float, std: float) -> None:
    m, s = mean_std([np.full((1, 1), v) for v in values], (1, 1))
    assert np.allclose(m, mean, equal_nan=True) and np.allclose(s, std, equal_nan=True)
    m, s = mean_std([], (2, 3))
    assert m.shape == (2, 3) and np.isnan(m).all() and np.isnan(s).all()


def test_model_features_read_the_s1_bands_by_name(tiny: tuple[Path, Config], raw_items: list[Path],
                                                  tmp_path: Path) -> None:
    from sporbar.training.features import feature_names, read_named_bands, s1_feature_names

    cfg = _cfg(tiny, dem="none")
    names = s1_feature_names(cfg)
    assert names[:2] == ["early_vv_mean", "early_vv_std"] and len(names) == 12
    all_names = feature_names(cfg)
    i = all_names.index("slope") + 1  # after the lidar-derived features, before any time series
    assert all_names[i : i + 12] == names
    off = load(tiny[0], overrides={"sources": {k: v for k, v in cfg.data["sources"].items() if k != "sentinel1"}})
    assert s1_feature_names(off) == [] and not set(names) & set(feature_names(off))
    tile = cfg.tiles[0]
    ctx = RunContext.current(config_hash=cfg.hash)
    run_s1_ard(cfg, tile, raw_items, tmp_path / "item.json", dem_item=None, ctx=ctx)
    got = read_named_bands(tmp_path / "item.json", ["late_vh_std", "early_vhvv_mean"], cfg.grid.geobox(tile))
    assert np.array_equal(got["late_vh_std"], _read(tmp_path / "item.json", "late")[3], equal_nan=True)
    assert np.array_equal(got["early_vhvv_mean"], _read(tmp_path / "item.json", "early")[4], equal_nan=True)
