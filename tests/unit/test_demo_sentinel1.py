"""The demo Sentinel-1 GRD products: real SAFE layout, LUTs as ESA defines them, fetched and catalogued."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import rasterio
from _s1_demo_fixtures import s1_source, tiny  # noqa: F401

from sporbar.config import Config
from sporbar.demo.names import demo_s1_scene_ids
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.s1_safe import read_s1_safe
from sporbar.s1ard.calibration import CalibrationType, calibrate, read_luts
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict


def _safe(source: Path, scene: str) -> Path:
    return source / "sentinel-1" / f"{scene}.SAFE"


def test_one_product_per_demo_date_read_as_a_real_one(tiny: tuple[Path, Config], s1_source: Path) -> None:  # noqa: F811
    scenes = demo_s1_scene_ids(tiny[1])
    assert len(scenes) == len(tiny[1].data["demo"]["dates"])
    m = read_s1_safe(_safe(s1_source, scenes[0]))
    assert m.polarisations == ("VV", "VH") and m.orbit_state == "descending"
    assert all(f.has_measurement and f.calibration and f.noise for f in m.files)
    # every file holds to its manifest size and MD5, and the raw item validates
    item = SENTINEL1.describe(_safe(s1_source, scenes[0]), scenes[0])
    assert {"vv", "vh", "calibration-vv", "noise-vh", "manifest"} <= set(item.assets)
    minx, miny, maxx, maxy = tiny[1].data["area"]["bbox"]
    lon0, lat0, lon1, lat1 = item.bbox
    assert 10.3 < lon0 < lon1 < 10.6 and 63.2 < lat0 < lat1 < 63.5  # around the area south of Trondheim


def test_sigma0_over_beta0_is_sin_incidence_as_in_esa_luts(tiny: tuple[Path, Config], s1_source: Path) -> None:  # noqa: F811
    scene = demo_s1_scene_ids(tiny[1])[0]
    vv = read_s1_safe(_safe(s1_source, scene)).files[0]
    with rasterio.open(vv.measurement) as ds:
        dn = ds.read(1)
    lines, pixels = np.arange(dn.shape[0], dtype=float), np.arange(dn.shape[1], dtype=float)
    out = {}
    for kind in CalibrationType:
        luts = read_luts(vv.calibration, vv.noise, calibration_type=kind, polarisation="VV")
        out[kind] = calibrate(dn, lines, pixels, luts).astype(np.float64)
    inc = np.radians(33.0 + 0.01 * pixels)  # the demo swath's incidence angles
    ratio = np.nanmedian(out[CalibrationType.sigma0] / out[CalibrationType.beta0], axis=0)
    assert np.allclose(ratio, np.sin(inc), rtol=2e-3)
    ratio = np.nanmedian(out[CalibrationType.gamma0] / out[CalibrationType.beta0], axis=0)
    assert np.allclose(ratio, np.tan(inc), rtol=2e-3)
    sigma_db = 10 * np.log10(out[CalibrationType.sigma0])
    assert -20 < np.nanmedian(sigma_db) < -3  # land backscatter in VV


def test_same_config_gives_identical_bytes(tiny: tuple[Path, Config], s1_source: Path, tmp_path: Path) -> None:  # noqa: F811
    from sporbar.demo.landscape import make_landscape
    from sporbar.demo.sentinel1 import write_s1_scenes

    cfg = tiny[1]
    write_s1_scenes(cfg, make_landscape(tuple(cfg.data["area"]["bbox"]), seed=cfg.data["demo"]["seed"]), tmp_path)

    def digest(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    assert digest(tmp_path / "sentinel-1") == digest(s1_source / "sentinel-1")


def test_fetch_from_the_demo_source_records_a_valid_item(
    tiny: tuple[Path, Config], s1_source: Path, tmp_path: Path,  # noqa: F811
) -> None:
    from sporbar.fetch.registry import source

    cfg = tiny[1]
    src = source(cfg, "sentinel1", "demo")
    scene = demo_s1_scene_ids(cfg)[1]
    item = src.fetch(RunContext.current(config_hash=cfg.hash), cfg, src.listing(source_dir=s1_source).entry(scene),
                     tmp_path / scene / "item.json")
    validate_item_dict(item)
    assert item["id"] == scene and "GRD" in item["properties"]["processing:lineage"]
    assert (tmp_path / scene / f"{scene}.SAFE" / "manifest.safe").is_file()


def test_metadata_only_copy_is_catalogued_with_the_files_it_has(
    tiny: tuple[Path, Config], s1_source: Path, tmp_path: Path,  # noqa: F811
) -> None:
    # a copy without measurement, calibration and noise files (as ../shared/realdata ships them)
    scene = demo_s1_scene_ids(tiny[1])[0]
    copy = Path(shutil.copytree(_safe(s1_source, scene), tmp_path / f"{scene}.SAFE"))
    shutil.rmtree(copy / "measurement")
    shutil.rmtree(copy / "annotation" / "calibration")
    item = SENTINEL1.describe(copy, scene)
    assert sorted(item.assets) == ["annotation-vh", "annotation-vv", "manifest"]
    validate_item_dict(item.to_dict())


def test_plan_lists_the_demo_products_without_a_search(tmp_path: Path) -> None:
    from _s2_fixtures import write_tiny_config

    from sporbar.config import load
    from sporbar.workflow import plan

    cfg = load(write_tiny_config(tmp_path, sources={"sentinel2": {"source": "demo"}, "lidar": {"source": "demo"},
                                                    "labels": {"source": "demo"}, "sentinel1": {"source": "demo"}}))
    ids = plan.s1_scene_ids(cfg)
    assert ids == demo_s1_scene_ids(cfg) and len(ids) == 3
    assert plan.s1_items(cfg)[0] == plan.path(cfg, "raw_s1", scene=ids[0])
    assert not plan.path(cfg, "s1_search").exists()
