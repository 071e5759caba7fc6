"""The Sentinel-1 GRD SAFE reader on the real product metadata in ../shared/realdata/s1-metadata."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.s1_names import is_s1_product
from sporbar.fetch.s1_safe import read_s1_safe

REPO = Path(__file__).resolve().parents[2]
REALDATA = REPO.parent / "shared" / "realdata" / "s1-metadata"
PRODUCT = "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8"
REAL_SAFE = REALDATA / f"{PRODUCT}.SAFE"

needs_realdata = pytest.mark.skipif(
    not (REAL_SAFE / "manifest.safe").is_file(),
    reason=f"real Sentinel-1 metadata not available ({REAL_SAFE} is missing: ../shared is absent)",
)


def copy_safe(dest: Path) -> Path:
    """A writable copy of the real SAFE metadata below ``dest``."""
    return Path(shutil.copytree(REAL_SAFE, dest / REAL_SAFE.name))


@needs_realdata
def test_reads_real_grd_metadata() -> None:
    m = read_s1_safe(REAL_SAFE)
    assert m.product_id == PRODUCT
    assert m.platform == "sentinel-1a"
    assert m.international_designator == "2014-016A"
    assert m.mission_datatake_id == 0x049F13 == 302867
    assert m.start_datetime == datetime(2021, 8, 9, 17, 39, 53, 153776, tzinfo=UTC)
    assert m.end_datetime == datetime(2021, 8, 9, 17, 40, 18, 152800, tzinfo=UTC)
    assert (m.instrument_mode, m.product_type, m.resolution_class) == ("IW", "GRD", "H")
    assert m.polarisations == ("VV", "VH")
    assert m.orbit_state == "ascending"
    assert (m.absolute_orbit, m.relative_orbit) == (39156, 59)
    assert (m.pixel_spacing_range, m.pixel_spacing_azimuth) == (10.0, 10.0)
    assert 30.0 < m.incidence_angle_near < 31.0 < 46.0 < m.incidence_angle_far < 47.0
    assert m.incidence_angle_near < m.incidence_angle_mid < m.incidence_angle_far
    assert m.ipf_version == "003.31"
    # footprint: closed, counter-clockwise, 44.5-46.4 N, 1.5-5.2 E (MANIFEST.md)
    ring = m.footprint
    assert ring[0] == ring[-1] and len(ring) == 5
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert 44.5 <= min(lats) < 44.6 and 46.4 <= max(lats) < 46.5
    assert 1.5 <= min(lons) < 1.6 and 5.1 < max(lons) <= 5.2
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
    assert area2 > 0
    # files per polarisation, from the manifest's data objects
    for pol, num in (("VV", "001"), ("VH", "002")):
        f = m.files_of(pol)
        stem = f"s1a-iw-grd-{pol.lower()}-20210809t173953-20210809t174018-039156-049f13-{num}"
        assert f.annotation == REAL_SAFE / "annotation" / f"{stem}.xml"
        assert f.calibration == REAL_SAFE / "annotation" / "calibration" / f"calibration-{stem}.xml"
        assert f.noise == REAL_SAFE / "annotation" / "calibration" / f"noise-{stem}.xml"
        assert f.annotation.is_file() and f.calibration.is_file() and f.noise.is_file()
        assert f.measurement == REAL_SAFE / "measurement" / f"{stem}.tiff"
        assert not f.has_measurement  # left out upstream (0-byte placeholders)
    assert m.nominal.resolution_range == 20 and m.nominal.looks_equivalent_number == 4.4
    with pytest.raises(InputDataError, match="no polarisation 'HH'"):
        m.files_of("HH")


def test_is_s1_product() -> None:
    assert is_s1_product(PRODUCT) and is_s1_product(PRODUCT + ".SAFE")
    assert not is_s1_product("S2A_MSIL2A_20240704T104031_N0510_R094_T32VNR_20240704T130000")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match="SAFE folder not found"):
        read_s1_safe(tmp_path / f"{PRODUCT}.SAFE")


@needs_realdata
def test_missing_manifest(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    (safe / "manifest.safe").unlink()
    with pytest.raises(MissingInputError, match=r"\.SAFE: no manifest\.safe") as err:
        read_s1_safe(safe)
    assert str(safe) in str(err.value)


@needs_realdata
def test_annotation_without_polarisation(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    ann = safe / "annotation" / "s1a-iw-grd-vh-20210809t173953-20210809t174018-039156-049f13-002.xml"
    ann.write_text(ann.read_text().replace("<polarisation>VH</polarisation>", "", 1))
    with pytest.raises(InputDataError, match="no polarisation in adsHeader") as err:
        read_s1_safe(safe)
    assert str(ann) in str(err.value)


@needs_realdata
def test_missing_annotation_file(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    ann = safe / "annotation" / "s1a-iw-grd-vv-20210809t173953-20210809t174018-039156-049f13-001.xml"
    ann.unlink()
    with pytest.raises(MissingInputError, match="product annotation listed in .*manifest.safe not found"):
        read_s1_safe(safe)


@needs_realdata
def test_manifest_field_missing_names_file_and_field(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    mf = safe / "manifest.safe"
    mf.write_text(mf.read_text().replace("<s1:pass>ASCENDING</s1:pass>", "", 1))
    with pytest.raises(InputDataError, match=r"manifest\.safe: no pass"):
        read_s1_safe(safe)


@needs_realdata
def test_not_grd_is_refused(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    mf = safe / "manifest.safe"
    mf.write_text(mf.read_text().replace(">GRD</s1sarl1:productType>", ">SLC</s1sarl1:productType>", 1))
    with pytest.raises(InputDataError, match="productType is 'SLC'; only GRD"):
        read_s1_safe(safe)


@needs_realdata
def test_footprint_falls_back_to_geolocation_grid(tmp_path: Path) -> None:
    safe = copy_safe(tmp_path)
    mf = safe / "manifest.safe"
    text = mf.read_text()
    start = text.index("<gml:coordinates>")
    end = text.index("</gml:coordinates>") + len("</gml:coordinates>")
    mf.write_text(text[:start] + text[end:])
    ring = read_s1_safe(safe).footprint
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert 44.4 < min(lats) < 44.6 and 46.3 < max(lats) < 46.5
    assert 1.4 < min(lons) < 1.6 and 5.1 < max(lons) < 5.3


def test_bad_folder_name(tmp_path: Path) -> None:
    safe = tmp_path / "not-a-product.SAFE"
    safe.mkdir()
    (safe / "manifest.safe").write_text("<x/>")
    with pytest.raises(InputDataError, match="is not a Sentinel-1 product name"):
        read_s1_safe(safe)
