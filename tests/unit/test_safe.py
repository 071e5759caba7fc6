"""SAFE metadata reader on real product metadata (ESA, Element 84/AWS) and on the demo products."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _s2_fixtures import REALDATA, scene_ids, source, tiny  # noqa: F401

from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe import read_safe

REAL = sorted(REALDATA.glob("*.SAFE")) if REALDATA.is_dir() else []
needs_real = pytest.mark.skipif(not REAL, reason=f"{REALDATA} absent (../shared not checked out)")


@needs_real
@pytest.mark.parametrize("safe", REAL, ids=lambda p: p.name[:26])
def test_reads_real_metadata_like_stactools(safe: Path):
    expected = json.loads((safe / "expected_output.json").read_text(encoding="utf-8"))["properties"]
    meta = read_safe(safe)
    assert meta.platform == expected["platform"]
    assert meta.cloud_cover == pytest.approx(expected["eo:cloud_cover"])
    assert f"EPSG:{meta.epsg}" == expected["proj:code"]
    assert meta.processing_baseline == expected["s2:processing_baseline"]
    assert meta.sun_azimuth == pytest.approx(expected["view:sun_azimuth"])
    assert meta.sensing_datetime.date().isoformat() == expected["datetime"][:10]
    assert (
        meta.mgrs_tile
        == f"{expected['mgrs:utm_zone']:02d}{expected['mgrs:latitude_band']}"
        f"{expected['mgrs:grid_square']}"
    )
    assert meta.grid(10).shape == (10980, 10980) and meta.grid(60).shape == (1830, 1830)
    assert meta.quantification == 10000
    # baseline 04.00 introduced the -1000 offset
    assert meta.offset("B04") == (-1000 if meta.processing_baseline >= "04.00" else 0)
    b08 = meta.band_file("B08")
    assert b08.resolution == 10 and b08.path.suffix in (".jp2", ".tif") and "B08" in b08.path.name
    if meta.level == "L2A":
        assert meta.band_file("SCL").resolution == 20
        assert meta.band_file("B05").resolution == 20 and meta.band_file("B01").resolution == 60
    assert len(meta.footprint) >= 4


def test_reads_demo_product(tiny, source):  # noqa: F811
    meta = read_safe(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE")
    assert (meta.level, meta.platform, meta.epsg) == ("L2A", "sentinel-2a", 32632)
    assert meta.grid(20).transform[0] == 20 and meta.grid(10).shape[0] == 2 * meta.grid(20).shape[0]
    assert set(meta.bands) >= {"B01", "B02", "B8A", "B09", "B11", "B12", "SCL"}
    assert meta.sensing_datetime.tzinfo is not None and meta.sensing_datetime.hour == 10


def test_missing_product_uri_names_file_and_field(tiny, source, tmp_path):  # noqa: F811
    safe = tmp_path / "x.SAFE"
    shutil.copytree(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE", safe)
    mtd = safe / "MTD_MSIL2A.xml"
    text = mtd.read_text(encoding="utf-8")
    start, end = text.index("<PRODUCT_URI>"), text.index("</PRODUCT_URI>") + len("</PRODUCT_URI>")
    mtd.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(InputDataError, match=r"MTD_MSIL2A\.xml: no PRODUCT_URI"):
        read_safe(safe)


def test_missing_band_names_file_and_bands_found(tiny, source):  # noqa: F811
    meta = read_safe(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE")
    with pytest.raises(
        InputDataError, match=r"MTD_MSIL2A\.xml: band 'B10' missing \(found B01,B02"
    ):
        meta.band_file("B10")


def test_not_a_safe_folder(tmp_path):
    with pytest.raises(MissingInputError, match="MTD_MSIL2A.xml nor MTD_MSIL1C.xml"):
        read_safe(tmp_path)
