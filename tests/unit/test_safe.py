"""SAFE metadata reader (stactools-sentinel2) on real product metadata (ESA, Element 84/AWS)
and on the demo products; raw items made from the real metadata validate offline."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from _s2_fixtures import scene_ids, source, tiny  # noqa: F401

from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe import read_safe
from sporbar.stac.items.raw_s2 import S2_PROPERTY, raw_s2_item
from sporbar.stac.validate import validate_item_dict

# The metadata of real products in ../shared/realdata/s2-safe-metadata (stactools-sentinel2's
# test data), each with the item stactools made from it (expected_output.json).
REAL = [
    "S2A_MSIL1C_20210908T042701_N0301_R133_T46RER_20210908T070248.SAFE",
    "S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE",
    "S2A_MSIL2A_20230625T234621_N0509_R073_T01WCP_20230626T022157.SAFE",  # crosses 180 degrees
    "S2B_MSIL2A_20220413T150759_N0400_R025_T33XWJ_20220414T082126.SAFE",  # GeoTIFF bands
    "esa_S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500.SAFE",
]
SENTINEL2_EXT = "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json"


@pytest.fixture(params=REAL, ids=lambda name: name.removeprefix("esa_")[:26])
def real(request: pytest.FixtureRequest, shared_dir: Path) -> tuple[Path, dict]:
    """(SAFE folder, the item stactools-sentinel2 made of it) of one real product."""
    safe = shared_dir / "realdata" / "s2-safe-metadata" / request.param
    if not safe.is_dir():
        pytest.skip(f"{safe} not in the shared data")
    return safe, json.loads((safe / "expected_output.json").read_text(encoding="utf-8"))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_reads_real_metadata_like_stactools(real):
    safe, expected = real
    p = expected["properties"]
    meta = read_safe(safe)
    assert meta.platform == p["platform"]
    assert meta.level == ("L1C" if "_MSIL1C_" in safe.name else "L2A")
    assert meta.cloud_cover == pytest.approx(p["eo:cloud_cover"])
    assert meta.sensing_datetime == _time(p["datetime"])  # PRODUCT_START_TIME, not SENSING_TIME
    assert meta.sensing_datetime.strftime("%Y%m%dT%H%M%S") == safe.name.split("_")[-5]
    assert f"MGRS-{meta.mgrs_tile}" == p["grid:code"]
    assert meta.processing_baseline == p["s2:processing_baseline"]
    assert f"EPSG:{meta.epsg}" == p["proj:code"]
    assert meta.sun_azimuth == pytest.approx(p["view:sun_azimuth"])
    assert 90 - meta.sun_zenith == pytest.approx(p["view:sun_elevation"])
    assert meta.grid(10).shape == (10980, 10980) and meta.grid(60).shape == (1830, 1830)
    for band, key in (("B04", "red"), ("B08", "nir")):
        bf = meta.band_file(band)
        assert bf.resolution == 10 and bf.path.suffix in (".jp2", ".tif") and band in bf.path.name
        assert list(meta.grid(bf.resolution).transform) == expected["assets"][key]["proj:transform"][:6]
    assert meta.quantification == 10000
    # baseline 04.00 introduced the -1000 offset
    assert meta.offset("B04") == (-1000 if meta.processing_baseline >= "04.00" else 0)
    if meta.level == "L2A":
        assert meta.band_file("SCL").resolution == 20
        assert meta.band_file("B05").resolution == 20 and meta.band_file("B01").resolution == 60
    assert len(meta.footprint) >= 4
    assert meta.geometry["type"] == expected["geometry"]["type"]
    assert meta.bbox == pytest.approx(tuple(expected["bbox"]))


def test_raw_item_of_real_metadata_is_stactools_item_and_validates(real):
    safe, expected = real
    p = expected["properties"]
    d = raw_s2_item(read_safe(safe)).to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    props = d["properties"]
    assert d["id"] == p["s2:product_uri"].removesuffix(".SAFE")
    assert props["datetime"] == p["datetime"]
    for key in ("platform", "constellation", "sat:orbit_state", "sat:relative_orbit", "proj:code",
                "grid:code", "mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square"):
        assert props[key] == p[key], key
    for key in ("eo:cloud_cover", "view:sun_azimuth", "view:sun_elevation", "view:incidence_angle"):
        assert props[key] == pytest.approx(p[key]), key
    assert props["processing:version"] == p["s2:processing_baseline"]
    # no clock time, no s2:* without the sentinel-2 schema: those fields live in sporbar:s2
    assert "created" not in props and not [k for k in props if k.startswith("s2:")]
    assert SENTINEL2_EXT not in d["stac_extensions"]
    assert props[S2_PROPERTY]["tile_id"] == p["s2:tile_id"]
    assert props[S2_PROPERTY]["datastrip_id"] == p["s2:datastrip_id"]
    assert d["geometry"]["type"] == expected["geometry"]["type"]
    for band, key in (("B04", "red"), ("B08", "nir")):
        assert d["assets"][band]["proj:transform"][:6] == expected["assets"][key]["proj:transform"][:6]
        assert d["assets"][band]["raster:bands"] == expected["assets"][key]["raster:bands"]
        assert d["assets"][band]["eo:bands"] == expected["assets"][key]["eo:bands"]
    assert {"metadata", "granule-metadata", "manifest"} <= set(d["assets"])
    # metadata-only copies: INSPIRE.xml and MTD_DS.xml are listed in the manifest but absent
    assert "inspire-metadata" not in d["assets"] and "datastrip-metadata" not in d["assets"]
    assert not {"aot", "wvp", "visual", "preview", "red"} & set(d["assets"])


def test_antimeridian_tile_is_split_in_two(shared_dir: Path):
    safe = shared_dir / "realdata" / "s2-safe-metadata" / REAL[2]
    if not safe.is_dir():
        pytest.skip(f"{safe} not in the shared data")
    meta = read_safe(safe)
    assert meta.mgrs_tile == "01WCP" and meta.geometry["type"] == "MultiPolygon"
    parts = meta.geometry["coordinates"]
    assert len(parts) == 2
    east, west = sorted(([q[0] for q in part[0]] for part in parts), key=min, reverse=True)
    assert min(east) >= 178 and max(east) == 180 and max(west) <= -178 and min(west) == -180
    w, s, e, n = meta.bbox
    assert w > e and (w, e) == pytest.approx((178.474107, -178.96619))
    d = raw_s2_item(meta).to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    assert d["geometry"]["type"] == "MultiPolygon" and d["bbox"][0] > d["bbox"][2]


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
    with pytest.raises(MissingInputError, match="no manifest.safe"):
        read_safe(tmp_path)


def test_manifest_without_standard_ids_names_the_manifest(tiny, source, tmp_path):  # noqa: F811
    """A manifest whose dataObject IDs are file paths (demo sources of older sporbar versions)."""
    safe = tmp_path / "x.SAFE"
    shutil.copytree(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE", safe)
    mf = safe / "manifest.safe"
    text = mf.read_text(encoding="utf-8")
    mf.write_text(text.replace('"S2_Level-2A_Product_Metadata"', '"MTD_MSIL2A_xml"'), encoding="utf-8")
    with pytest.raises(InputDataError, match=r"manifest\.safe: no dataObject S2_Level-2A_Product_Metadata"):
        read_safe(safe)


def test_missing_granule_metadata_names_the_file(tiny, source, tmp_path):  # noqa: F811
    safe = tmp_path / "x.SAFE"
    shutil.copytree(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE", safe)
    tl = next(safe.glob("GRANULE/*/MTD_TL.xml"))
    tl.unlink()
    with pytest.raises(MissingInputError, match=re.escape(f"{tl}: listed in manifest.safe but missing")):
        read_safe(safe)


def test_malformed_granule_metadata_names_the_file(tiny, source, tmp_path):  # noqa: F811
    safe = tmp_path / "x.SAFE"
    shutil.copytree(source / "sentinel-2" / f"{scene_ids(tiny[1])[0]}.SAFE", safe)
    tl = next(safe.glob("GRANULE/*/MTD_TL.xml"))
    tl.write_text("<n1:Level-2A_Tile_ID", encoding="utf-8")
    with pytest.raises(InputDataError, match=re.escape(f"{tl}: granule metadata: stactools-sentinel2 cannot read it")):
        read_safe(safe)


def _mtd_values(safe: Path) -> tuple[float, dict[str, float]]:
    """(quantification, band -> additive offset) as the product metadata XML states them (0: none listed)."""
    from lxml import etree

    from sporbar.bands import BAND_IDS

    mtd = next(safe.glob("MTD_MSIL*.xml"))
    root = etree.parse(str(mtd)).getroot()
    q = root.xpath("//*[local-name()='QUANTIFICATION_VALUE' or local-name()='BOA_QUANTIFICATION_VALUE']")
    offsets = {BAND_IDS[int(e.get("band_id"))]: float(e.text)
               for e in root.xpath("//*[local-name()='RADIO_ADD_OFFSET' or local-name()='BOA_ADD_OFFSET']")}
    return float(q[0].text), offsets


def test_reflectance_conversion_is_the_product_metadata_s_applied_once(real, tmp_path):
    """Issue 14: TOA (L1C) and BOA (L2A) reflectance = (DN + offset) / quantification with the values of
    the real MTD_MSIL1C/MTD_MSIL2A (the offset from baseline 04.00 only), and the ARD applies it once."""
    from sporbar.ard.load import Scene

    safe, _ = real
    meta = read_safe(safe)
    quantification, offsets = _mtd_values(safe)
    assert meta.quantification == quantification
    assert bool(offsets) == (meta.processing_baseline >= "04.00")
    for band in ("B02", "B04", "B08", "B11"):
        assert meta.offset(band) == offsets.get(band, 0.0), band
    item = raw_s2_item(meta)
    scale, offset = Scene(tmp_path / "item.json", item).scale_offset("B04")
    dn = 2345.0
    assert dn * scale + offset == pytest.approx((dn + offsets.get("B04", 0.0)) / quantification)
