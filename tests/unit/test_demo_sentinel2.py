"""Demo Sentinel-2 SAFE writer: real layout (stactools reads it), deterministic bytes, clouds in SCL."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from _s2_fixtures import make_source, scene_ids, source, tiny  # noqa: F401
from stactools.sentinel2.safe_manifest import SafeManifest
from stactools.sentinel2.stac import create_item

from sporbar.demo.s2_safe_xml import VIEW_AZIMUTH, VIEW_ZENITH
from sporbar.fetch.safe import read_safe


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_config_gives_identical_bytes(tiny, source, tmp_path):  # noqa: F811
    again = tmp_path / "again"
    make_source(tiny[1], again)
    assert _digest(again / "sentinel-2") == _digest(source / "sentinel-2")


def test_safe_layout_matches_the_real_product(tiny, source):  # noqa: F811
    for scene in scene_ids(tiny[1]):
        safe = source / "sentinel-2" / f"{scene}.SAFE"
        assert (safe / "manifest.safe").is_file() and (safe / "MTD_MSIL2A.xml").is_file()
        meta = read_safe(safe)
        assert meta.product_id == scene and meta.epsg == 32632 and meta.mgrs_tile == "32VNR"
        assert meta.processing_baseline == "05.10" and meta.offset("B04") == -1000
        for bf in meta.band_files:
            assert bf.path.is_file(), bf.path
        b08 = meta.band_file("B08")
        with rasterio.open(b08.path) as ds:
            assert ds.driver == "JP2OpenJPEG" and ds.dtypes[0] == "uint16"
            assert (
                ds.crs.to_epsg() == 32632 and ds.transform.c % 60 == 0 and ds.transform.f % 60 == 0
            )
            assert (ds.height, ds.width) == meta.grid(10).shape
        manifest = (safe / "manifest.safe").read_text(encoding="utf-8")
        assert f"{b08.path.relative_to(safe).as_posix()}" in manifest


def test_scl_marks_bright_clouds_and_shadows(tiny, source):  # noqa: F811
    clouds = shadows = 0
    for scene in scene_ids(tiny[1]):
        meta = read_safe(source / "sentinel-2" / f"{scene}.SAFE")
        with rasterio.open(meta.band_file("B02", 20).path) as ds:
            blue = ds.read(1).astype(float)
        with rasterio.open(meta.band_file("SCL", 20).path) as ds:
            scl = ds.read(1)
        refl = (blue + meta.offset("B02")) / meta.quantification
        bright = (refl > 0.3) & (blue > 0)
        if bright.any():
            assert np.isin(scl[bright], [8, 9]).mean() > 0.97
        clouds += int(np.isin(scl, [8, 9]).sum())
        shadows += int((scl == 3).sum())
        # clear land is never as bright as cloud in the blue band
        assert (refl[np.isin(scl, [4, 5, 6])] < 0.3).all()
        # the recorded cloud cover is the SCL cloud fraction
        assert abs(meta.cloud_cover - 100 * np.isin(scl, [8, 9, 10]).sum() / (scl > 0).sum()) < 0.01
    assert clouds > 0 and shadows > 0


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # affine, inside stactools
def test_stactools_reads_the_demo_product_as_a_real_one(tiny, source):  # noqa: F811
    index = {s["id"]: s for s in json.loads((source / "index.json").read_text())["sentinel2"]}
    for scene in scene_ids(tiny[1]):
        safe = source / "sentinel-2" / f"{scene}.SAFE"
        manifest = SafeManifest(str(safe))
        for href in (
            manifest.product_metadata_href,
            manifest.granule_metadata_href,
            manifest.inspire_metadata_href,
            manifest.datastrip_metadata_href,
        ):
            assert href is not None and Path(href).is_file(), href
        for href in (manifest.inspire_metadata_href, manifest.datastrip_metadata_href):
            ET.parse(href)  # well-formed
        item = create_item(str(safe))
        p = item.properties
        assert p["s2:product_uri"] == f"{scene}.SAFE" and p["grid:code"] == "MGRS-32VNR"
        assert p["eo:cloud_cover"] == pytest.approx(index[scene]["cloud_cover"])
        assert p["sat:relative_orbit"] == 94 and p["sat:orbit_state"] == "descending"
        assert 0.96 < p["s2:reflectance_conversion_factor"] < 1.04
        assert p["view:incidence_angle"] == pytest.approx(VIEW_ZENITH, abs=0.1)
        assert p["view:azimuth"] == pytest.approx(VIEW_AZIMUTH, abs=2)
        assert item.datetime is not None and item.datetime.strftime("%H%M%S") == "104031"
        assert item.assets["red"].extra_fields["raster:bands"][0]["offset"] == -0.1
        for key in ("red", "nir", "scl", "safe_manifest", "product_metadata", "granule_metadata"):
            assert Path(item.assets[key].href).is_file(), key
