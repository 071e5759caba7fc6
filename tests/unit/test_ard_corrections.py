"""Terrain and BRDF corrections of ARD: real angle grids, hand-computed C-correction, kernel values, end to end."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from _s2_fixtures import REALDATA, REPO, TILE, fetch_demo_scene, scene_ids, source, tiny, write_tiny_config  # noqa: F401
from affine import Affine
from odc.geo.geobox import GeoBox

from sporbar.ard.angles import angles_at_nodes, interpolate, read_angle_grids, upsample
from sporbar.ard.brdf import c_factor, li_sparse, ross_thick
from sporbar.ard.run import make_ard
from sporbar.ard.terrain import correction_factor, estimate_c, read_dem, terrain_normal
from sporbar.ard.write import open_cube
from sporbar.config import load as load_config
from sporbar.errors import InputDataError
from sporbar.stac.record import RunContext

CTX = RunContext.current()
T33XWJ = next(REALDATA.glob("S2B_MSIL2A_20220413T150759_N0400_*/GRANULE/*/MTD_TL.xml"))


def test_real_angle_grids_are_read_and_interpolated_bilinearly():
    g = read_angle_grids(T33XWJ)  # baseline 04.00, Svalbard: low sun
    assert (g.crs, g.ulx, g.uly, g.step, g.sun_zenith.shape) == ("EPSG:32633", 499980.0, 8900040.0, 5000.0, (23, 23))
    assert g.sun_zenith[0, 0] == 76.3089 and g.sun_zenith[1, 1] == 76.3288 and g.sun_azimuth[0, 0] == 243.707
    # halfway between the four first nodes: their mean (hand-computed from the file's values)
    z = interpolate(g, g.sun_zenith, np.array([g.ulx + 2500.0]), np.array([g.uly - 2500.0]))
    assert z[0] == pytest.approx((76.3089 + 76.3486 + 76.2891 + 76.3288) / 4, abs=1e-9)
    # the view zenith of the first node: per band the mean of the detectors that see it, then the
    # mean of the bands (read here with a regular expression, not the module's parser)
    text = T33XWJ.read_text(encoding="utf-8")
    per_band: dict[str, list[float]] = {}
    for band, body in re.findall(r'<Viewing_Incidence_Angles_Grids bandId="(\d+)"[^>]*>(.*?)</Viewing_Incidence', text,
                                 re.S):
        first = float(re.search(r"<Zenith>.*?<VALUES>(\S+)", body, re.S).group(1))
        per_band.setdefault(band, []).append(first)
    expected = np.mean([np.nanmean(v) for v in per_band.values() if not np.isnan(v).all()])
    assert g.view_zenith[0, 0] == pytest.approx(expected, abs=1e-9)
    assert 11.4 < g.view_zenith[0, 0] < 11.8  # the file's Mean_Viewing_Incidence_Angle values
    assert np.isnan(g.view_zenith[-1, -1])  # no detector sees the granule's far corner (outside the swath)


def test_tile_nodes_in_another_crs_get_the_granule_angles():
    g = read_angle_grids(T33XWJ)
    # a 10 m tile in EPSG:25833 (same zone, ETRS89): its first pixel centre is 5 m from the granule corner
    box = GeoBox((100, 100), Affine(10.0, 0.0, g.ulx, 0.0, -10.0, g.uly), "EPSG:25833")
    nodes = angles_at_nodes(g, box)
    assert nodes.sun_zenith[0, 0] == pytest.approx(76.3089 + (0.0397 - 0.0198) * 0.001, abs=2e-3)
    assert list(nodes.rows) == [0, 32, 64, 96, 99]
    full = upsample(nodes.sun_zenith, nodes.rows, nodes.cols, (100, 100))
    assert full[0, 0] == pytest.approx(nodes.sun_zenith[0, 0], abs=1e-4)
    assert full[99, 99] == pytest.approx(nodes.sun_zenith[-1, -1], abs=1e-4)


def test_granule_without_angle_grids_is_a_named_error(tmp_path):
    text = T33XWJ.read_text(encoding="utf-8")
    start, end = text.index("<Sun_Angles_Grid>"), text.index("</Sun_Angles_Grid>") + len("</Sun_Angles_Grid>")
    bad = tmp_path / "MTD_TL.xml"
    bad.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(InputDataError, match=f"{bad}: no Sun_Angles_Grid"):
        read_angle_grids(bad)


def test_c_correction_of_a_hand_computed_case():
    cos_i = np.linspace(0.2, 1.0, 1000, dtype=np.float32).reshape(20, 50)
    refl = (0.1 * cos_i + 0.05).astype(np.float32)  # m = 0.1, b = 0.05: c = 0.5
    c = estimate_c(refl, cos_i, np.ones_like(cos_i, bool))
    assert c == pytest.approx(0.5, abs=1e-5)
    cos_sun = np.full_like(cos_i, 0.8)
    f = correction_factor("c-correction", c, cos_i, cos_sun, np.ones_like(cos_i))
    # (0.8 + 0.5) / (cos_i + 0.5): every pixel gets the reflectance of a flat one, 0.1 * 0.8 + 0.05
    assert np.allclose(refl * f, 0.13, atol=1e-6)
    # SCS+C: the reference is cos(slope) cos(sz); with cos(slope) 0.9: (0.72 + 0.5) / (0.5 + 0.5) at cos_i 0.5
    scs = correction_factor("scs+c", 0.5, np.array([0.5]), np.array([0.8]), np.array([0.9]))
    assert scs[0] == pytest.approx(1.22, abs=1e-6)
    # too few pixels, or reflectance falling with illumination: no c, factor 1
    assert math.isnan(estimate_c(refl, cos_i, np.zeros_like(cos_i, bool)))
    assert math.isnan(estimate_c(1 - refl, cos_i, np.ones_like(cos_i, bool)))
    assert (correction_factor("c-correction", float("nan"), cos_i, cos_sun, cos_i) == 1).all()


def test_terrain_normal_of_a_south_facing_plane():
    box = GeoBox((5, 5), Affine(10.0, 0.0, 0.0, 0.0, -10.0, 50.0), "EPSG:25833")
    rows = np.arange(5, dtype=np.float32)[:, None] * np.ones((1, 5), np.float32)
    dem = 100 + 10 * rows  # 10 m lower per 10 m row northwards: faces south at 45 degrees
    n = terrain_normal(dem[::-1].copy(), box)
    assert n.up[2, 2] == pytest.approx(math.cos(math.radians(45)), abs=1e-6)
    assert n.north[2, 2] == pytest.approx(-math.sin(math.radians(45)), abs=1e-6) and n.east[2, 2] == 0


def test_kernels_match_their_published_values():
    r = np.radians
    # both kernels are 0 for sun and view at nadir (Lucht et al. 2000: normalised so)
    assert ross_thick(r(0.0), r(0.0), r(0.0)) == pytest.approx(0, abs=1e-12)
    assert li_sparse(r(0.0), r(0.0), r(0.0)) == pytest.approx(0, abs=1e-12)
    # hotspot (equal zeniths, relative azimuth 0): RossThick = (pi/2) / (2 cos t) - pi/4,
    # LiSparse-R = -sec t + sec^2 t / 1 ... = sec^2(t) - sec(t) with h/b = 2, b/r = 1
    t = r(30.0)
    assert ross_thick(t, t, 0.0) == pytest.approx(math.pi / 2 / (2 * math.cos(t)) - math.pi / 4, abs=1e-12)
    assert li_sparse(t, t, 0.0) == pytest.approx(1 / math.cos(t) ** 2 - 1 / math.cos(t), abs=1e-12)
    # reciprocity: sun and view exchanged give the same value
    for k in (ross_thick, li_sparse):
        assert k(r(40.0), r(8.0), r(70.0)) == pytest.approx(k(r(8.0), r(40.0), r(70.0)), abs=1e-12)
    # the c-factor darkens the backscatter side (the hotspot side) and brightens forward scatter
    assert c_factor("B04", np.array(45.0), np.array(10.0), np.array(0.0)) < 1 < c_factor(
        "B04", np.array(45.0), np.array(10.0), np.array(180.0))
    assert c_factor("B08", np.array(45.0), np.array(0.0), np.array(0.0)) == pytest.approx(1.0, abs=1e-12)


@pytest.fixture(scope="module")
def raw(tiny, source, tmp_path_factory) -> list[Path]:  # noqa: F811
    root = tmp_path_factory.mktemp("raw")
    out = []
    for s in scene_ids(tiny[1]):
        fetch_demo_scene(tiny[1], source, s, root / s / "item.json")
        out.append(root / s / "item.json")
    return out


def test_item_states_the_corrections_and_the_dem(tiny, raw, tmp_path):  # noqa: F811
    cfg = tiny[1]
    flat = load_config(write_tiny_config(tmp_path / "none", ard={**cfg.data["ard"], "terrain": {"method": "none"},
                                                                  "brdf": {"method": "none"}}))
    before = make_ard(flat, TILE, raw, tmp_path / "a" / "item.json", ctx=CTX)
    assert before["properties"]["sporbar:terrain"] == {"method": "none"}  # stated, not silent
    assert before["properties"]["sporbar:brdf"] == {"method": "none"}
    after = make_ard(cfg, TILE, raw, tmp_path / "b" / "item.json", ctx=CTX)
    t, b = after["properties"]["sporbar:terrain"], after["properties"]["sporbar:brdf"]
    assert t["method"] == "c-correction" and t["dem_coverage"] == 1.0
    assert t["dem"][0]["href"].endswith("dem.tif") and t["dem"][0]["file:checksum"].startswith("1220")
    assert set(t["c"]) == {json.loads(p.read_text())["id"] for p in raw}
    assert all(v is None or v >= 0 for c in t["c"].values() for v in c.values())
    assert b["method"] == "c-factor" and b["coefficients"]["B04"] == {"f_iso": 0.169, "f_vol": 0.0574, "f_geo": 0.0227}
    a = open_cube(tmp_path / "a" / "cube.zarr").values
    c = open_cube(tmp_path / "b" / "cube.zarr").values
    assert np.array_equal(np.isnan(a), np.isnan(c))  # the corrections change values, never the mask
    assert not np.allclose(a[np.isfinite(a)], c[np.isfinite(c)])


def test_terrain_correction_removes_illumination_within_a_class(tmp_path):
    """The benchmark (benchmarks/terrain.py) on the demo's first tile: forest r(cos i, reflectance) below 0.1."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("terrain_benchmark", REPO / "benchmarks" / "terrain.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(tmp_path, "forest", "c-correction")
    before = np.array([v[0] for v in result.values()])
    after = np.array([v[1] for v in result.values()])
    assert (before[3:] > 0.3).all(), result  # red edge to SWIR: the terrain shows
    assert (np.abs(after) < 0.1).all(), result


def test_no_dem_for_the_tile_is_a_named_error(tiny, raw, tmp_path):  # noqa: F811
    ard = {**tiny[1].data["ard"], "terrain": {"method": "c-correction", "dem": None}}
    path = write_tiny_config(tmp_path, ard=ard)
    cfg = load_config(path)
    cfg.data["ard"]["terrain"]["dem"] = None  # the fixture gives tiny configs a DEM: take it away
    with pytest.raises(InputDataError, match=f"no DEM for tile {TILE}"):
        make_ard(cfg, TILE, raw, tmp_path / "o" / "item.json", ctx=CTX)
    far = GeoBox((10, 10), Affine(10.0, 0.0, 100000.0, 0.0, -10.0, 6600000.0), "EPSG:25833")
    with pytest.raises(InputDataError, match="covers no pixel of the tile"):
        read_dem(Path(tiny[1].data["ard"]["terrain"]["dem"]), far)


def test_quality_flags_of_a_hand_made_scl():
    import xarray as xr

    from sporbar.ard.mask import CLOUD, CLOUD_SHADOW, NODATA, SNOW, clear_mask, fractions, scl_flags

    scl = np.full((1, 7, 7), 4, np.uint8)
    scl[0, 3, 3] = 9  # one cloudy pixel
    scl[0, 0, :] = 0  # a row of no data
    scl[0, 6, 6] = 11  # snow
    scl[0, 6, 0] = 3  # cloud shadow
    mask_classes = [0, 1, 3, 8, 9, 10]
    f = scl_flags(scl, mask_classes, 1)[0]
    cloud = (f & CLOUD) != 0
    assert cloud.sum() == 5 and cloud[2:5, 3].all() and cloud[3, 2:5].all()  # a disk of radius 1: a plus
    assert (f[0] & NODATA).all() and not (f[0] & CLOUD).any()
    assert f[6, 6] == SNOW and f[5, 0] == CLOUD_SHADOW and f[6, 1] == CLOUD_SHADOW
    assert scl_flags(scl, mask_classes, 0)[0][2, 3] == 0  # no dilation: the neighbour stays clear
    # snow is never clear, even though 11 is not among the masked classes; the dilated ring is not clear
    clear = clear_mask(xr.DataArray(scl, dims=("time", "y", "x")), mask_classes,
                       xr.DataArray(f[None], dims=("time", "y", "x"))).values[0]
    assert not clear[6, 6] and not clear[2, 3] and clear[1, 1]
    fr = fractions(f)
    assert fr["valid"] == round(42 / 49, 6) and fr["snow"] == round(1 / 42, 6) and fr["cloud"] == round(5 / 42, 6)


def test_item_has_the_quality_asset_and_fractions(tiny, raw, tmp_path):  # noqa: F811
    from sporbar.ard.mask import NOT_CLEAR
    from sporbar.raster import read_cog
    from sporbar.stac.validate import validate_item_dict

    out = tmp_path / "q" / "item.json"
    d = make_ard(tiny[1], TILE, raw, out, ctx=CTX)
    validate_item_dict(json.loads(out.read_text(encoding="utf-8")))
    a = d["assets"]["quality"]
    assert "quality" in a["roles"] and [b["name"] for b in a["classification:bitfields"]] == [
        "nodata", "cloud", "cloud_shadow", "snow", "terrain_shadow"]
    flags, _ = read_cog(out.parent / "quality.tif")
    cube = open_cube(out.parent / "cube.zarr").values
    assert flags.shape == (len(raw), *cube.shape[2:])
    # every flagged pixel is masked in the cube; the dilation masks more than SCL alone
    assert np.isnan(cube[:, 0][(flags & NOT_CLEAR) != 0]).all()
    q = d["properties"]["sporbar:quality"]
    assert q["rules"]["dilate_px"] == 2 and set(q["scenes"]) == {json.loads(p.read_text())["id"] for p in raw}
    for i, s in enumerate(q["scenes"].values()):
        assert s["clear"] == pytest.approx(float(((flags[i] & NOT_CLEAR) == 0).mean()), abs=1e-6)
    assert q["all"]["cloud"] > 0 and q["snow_observations"] == {"early": 0, "late": 0}


def test_c_within_ndvi_strata_is_not_tilted_by_land_cover_that_follows_the_terrain():
    from sporbar.ard.terrain import ndvi_strata

    rng = np.random.default_rng(5)
    cos_i = rng.uniform(0.3, 1.0, 20000)
    steep = cos_i < 0.55  # bright rock on the steep, badly lit slopes; dark forest elsewhere
    flat = np.where(steep, 0.30, 0.12)
    c_true, cos_sun = 0.4, 0.8
    refl = flat * (cos_i + c_true) / (cos_sun + c_true) * rng.normal(1, 0.01, cos_i.size)
    ndvi_red = np.where(steep, 0.25, 0.03)  # rock: low NDVI; forest: high
    ndvi_nir = np.where(steep, 0.30, 0.30)
    sample = np.ones(cos_i.size, bool)
    plain = estimate_c(refl, cos_i, sample)
    strata = ndvi_strata(ndvi_red, ndvi_nir, sample, 5)
    assert set(np.unique(strata)) <= {0, 1, 2, 3, 4} and (strata >= 0).all()
    within = estimate_c(refl, cos_i, sample, strata)
    assert within == pytest.approx(c_true, abs=0.03)
    assert math.isnan(plain) or abs(plain - c_true) > 0.3  # the pooled line is tilted by the rock
