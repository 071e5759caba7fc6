"""The raw Sentinel-1 GRD item from the real SAFE metadata: offline-valid, SAR/sat fields, checksums."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_s1_safe import PRODUCT, REAL_SAFE, copy_safe, needs_realdata

from sporbar.fetch.s1_safe import read_s1_safe
from sporbar.stac import extensions as ext
from sporbar.stac.items.raw_s1 import raw_s1_item
from sporbar.stac.layout import ItemLayout
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow.plan import PATTERNS

pytestmark = needs_realdata

NOW = datetime(2025, 1, 1, tzinfo=UTC)
METADATA_KEYS = {
    "annotation-vv",
    "calibration-vv",
    "noise-vv",
    "annotation-vh",
    "calibration-vh",
    "noise-vh",
    "manifest",
}


def test_item_is_valid_offline_with_sar_and_sat_fields() -> None:
    item = raw_s1_item(read_s1_safe(REAL_SAFE))
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)  # bundled schemas only: raises on a non-bundled extension
    assert d["id"] == PRODUCT and "collection" not in d
    p = d["properties"]
    assert p["datetime"] == p["start_datetime"] == "2021-08-09T17:39:53.153776Z"
    assert p["end_datetime"] == "2021-08-09T17:40:18.152800Z"
    assert (p["platform"], p["constellation"], p["instruments"]) == ("sentinel-1a", "sentinel-1", ["c-sar"])
    assert p["sar:instrument_mode"] == "IW"
    assert p["sar:frequency_band"] == "C" and p["sar:center_frequency"] == 5.405
    assert p["sar:polarizations"] == ["VV", "VH"]
    assert p["sar:product_type"] == "GRD"
    assert (p["sar:resolution_range"], p["sar:resolution_azimuth"]) == (20, 22)
    assert (p["sar:pixel_spacing_range"], p["sar:pixel_spacing_azimuth"]) == (10, 10)
    assert (p["sar:looks_range"], p["sar:looks_azimuth"], p["sar:looks_equivalent_number"]) == (5, 1, 4.4)
    assert p["sat:orbit_state"] == "ascending"
    assert (p["sat:absolute_orbit"], p["sat:relative_orbit"]) == (39156, 59)
    assert p[ext.PROCESSING_LEVEL] == "L1"
    assert 38 < p["view:incidence_angle"] < 40
    assert any("/sar/" in u for u in d["stac_extensions"]) and any("/sat/" in u for u in d["stac_extensions"])
    west, south, east, north = d["bbox"]
    assert 1.5 <= west < 1.6 and 44.5 <= south < 44.6 and 5.1 < east <= 5.2 and 46.4 <= north < 46.5
    assert d["geometry"]["type"] == "Polygon" and len(d["geometry"]["coordinates"][0]) == 5
    # the measurement TIFFs are absent in the real metadata copy: metadata assets only
    assert set(d["assets"]) == METADATA_KEYS
    assert all(a["roles"] == ["metadata"] and a["type"] == ext.XML for a in d["assets"].values())


def test_recorded_item_has_checksums_and_measurement_assets(tmp_path: Path) -> None:
    item_path = tmp_path / "results" / PATTERNS["raw_s1"].format(scene=PRODUCT)
    item_path.parent.mkdir(parents=True)
    safe = copy_safe(item_path.parent)
    # stand-ins for the measurement TIFFs (left out upstream): they become data assets
    (safe / "measurement").mkdir()
    for f in read_s1_safe(safe).files:
        assert f.measurement is not None
        f.measurement.write_bytes(f"{f.polarisation} stand-in".encode())
    d = record_item(
        raw_s1_item(read_s1_safe(safe.resolve())),
        item_path,
        inputs=[],
        step=Step(lineage="test", command="fetch s2", parameters={"scene": PRODUCT}),
        provenance=Provenance.current(now=NOW),
    )
    validate_item_dict(d)
    assert set(d["assets"]) == METADATA_KEYS | {"vv", "vh"}
    for key, asset in d["assets"].items():
        assert asset["href"].startswith(f"./{PRODUCT}.SAFE/"), key
        target = item_path.parent / asset["href"]
        assert asset[ext.FILE_SIZE] == target.stat().st_size
        assert asset[ext.FILE_CHECKSUM] == "1220" + hashlib.sha256(target.read_bytes()).hexdigest()
    assert d["assets"]["vv"]["roles"] == ["data"] and d["assets"]["vv"]["sar:polarizations"] == ["VV"]
    assert d["assets"]["manifest"]["href"] == f"./{PRODUCT}.SAFE/manifest.safe"
    assert ext.FILE_SCHEMA_URI in d["stac_extensions"] and ext.PROCESSING_SCHEMA_URI in d["stac_extensions"]
    assert ItemLayout.from_patterns(PATTERNS).collection_of(item_path) == ext.COLLECTION_S1_RAW


def test_metadata_only_item_records_without_tiffs(tmp_path: Path) -> None:
    item_path = tmp_path / "item.json"
    safe = copy_safe(tmp_path)
    d = record_item(
        raw_s1_item(read_s1_safe(safe)),
        item_path,
        inputs=[],
        step=Step(lineage="test", command="fetch s2"),
        provenance=Provenance.current(now=NOW),
    )
    assert set(d["assets"]) == METADATA_KEYS
    assert all(a[ext.FILE_CHECKSUM].startswith("1220") for a in d["assets"].values())


def test_metadata_only_safe_without_calibration_and_noise_is_catalogued(tmp_path: Path) -> None:
    """Issue 12.10: a SAFE holding only the manifest and annotations (the manifest still lists the
    calibration and noise XML) gets an item with the assets that exist, not a missing-asset error."""
    safe = copy_safe(tmp_path)
    shutil.rmtree(safe / "annotation" / "calibration")
    meta = read_s1_safe(safe)
    assert all(f.calibration is not None and f.noise is not None for f in meta.files)  # listed, absent
    d = record_item(
        raw_s1_item(meta),
        tmp_path / "item.json",
        inputs=[],
        step=Step(lineage="test", command="fetch s1"),
        provenance=Provenance.current(now=NOW),
    )
    validate_item_dict(d)
    assert set(d["assets"]) == {"annotation-vv", "annotation-vh", "manifest"}


@pytest.mark.parametrize("field", ["sar:polarizations", "sat:orbit_state"])
def test_validation_catches_bad_sar_sat_fields(field: str) -> None:
    from sporbar.errors import CatalogError

    d = raw_s1_item(read_s1_safe(REAL_SAFE)).to_dict(include_self_link=False, transform_hrefs=False)
    d["properties"][field] = "sideways"
    with pytest.raises(CatalogError, match=field):
        validate_item_dict(d)
