"""The raw item builders of sporbar.stac.items on their own: real API items, real LAS headers, literals.

Each builder is pure (metadata in, item out); every item it makes validates offline.
(raw_s2_item and raw_s1_item on real SAFE metadata: test_safe.py and test_s1_item.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import laspy
import pytest
import yaml

from sporbar.stac.items.labels import labels_item
from sporbar.stac.items.raw_lidar import raw_lidar_item
from sporbar.stac.items.raw_s1 import raw_s1_api_item
from sporbar.stac.items.raw_s2 import raw_s2_api_item
from sporbar.stac.validate import validate_item_dict

EARTH_SEARCH_ID = "S2A_13TDE_20231008_0_L2A"


def _earth_search_item(shared_dir: Path) -> dict:
    """The real Earth Search item ``S2A_13TDE_20231008_0_L2A`` of pystac-client's recorded search."""
    cassette = shared_dir / "realdata" / "stac-api-cassettes" / "test_multiple_collections.yaml"
    if not cassette.is_file():
        pytest.skip(f"{cassette} not in the shared data")
    for it in yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]:
        body = it["response"]["body"]["string"]
        if EARTH_SEARCH_ID in body:
            return next(f for f in json.loads(body)["features"] if f["id"] == EARTH_SEARCH_ID)
    raise AssertionError(f"{EARTH_SEARCH_ID} not in {cassette}")


def test_raw_s2_api_item_keeps_the_api_fields_with_sporbar_keys(shared_dir: Path, tmp_path: Path) -> None:
    remote = _earth_search_item(shared_dir)
    name = remote["properties"]["s2:product_uri"].removesuffix(".SAFE")
    assets = {"B04": (str(tmp_path / "B04.tif"), remote["assets"]["red"]),
              "SCL": (str(tmp_path / "SCL.tif"), remote["assets"]["scl"])}
    item = raw_s2_api_item(remote, product_id=name, assets=assets)
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == name and d["geometry"] == remote["geometry"] and d["bbox"] == remote["bbox"]
    assert p["datetime"][:19] == remote["properties"]["datetime"][:19]
    assert p["proj:code"] == f"EPSG:{remote['properties']['proj:epsg']}"  # proj:epsg given as proj:code
    assert p["s2:mgrs_tile"] == "13TDE" and p["processing:level"] == "L2A"
    assert p["processing:version"] == remote["properties"]["s2:processing_baseline"]
    assert p["eo:cloud_cover"] == remote["properties"]["eo:cloud_cover"]
    assert "earthsearch:s3_path" not in p and "created" not in p  # only the listed fields are kept
    assert sorted(d["assets"]) == ["B04", "SCL"]
    b04 = d["assets"]["B04"]
    assert b04["href"] == assets["B04"][0] and b04["raster:bands"] == remote["assets"]["red"]["raster:bands"]
    assert b04["type"] == remote["assets"]["red"]["type"] and b04["roles"] == remote["assets"]["red"]["roles"]


def test_raw_s1_api_item_fills_the_sar_fields_an_api_leaves_out(tmp_path: Path) -> None:
    remote = {
        "id": "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13",
        "geometry": {"type": "Polygon", "coordinates": [[[1.5, 44.5], [5.2, 44.5], [5.2, 46.4], [1.5, 46.4],
                                                          [1.5, 44.5]]]},
        "bbox": [1.5, 44.5, 5.2, 46.4],
        "properties": {"start_datetime": "2021-08-09T17:39:53Z", "end_datetime": "2021-08-09T17:40:18Z",
                       "platform": "sentinel-1a", "sar:polarizations": ["VV", "VH"], "sat:relative_orbit": 59,
                       "earthsearch:s3_path": "s3://x"},
        "assets": {},
    }
    assets = {"manifest": (str(tmp_path / "manifest.xml"), {}),
              "vv": (str(tmp_path / "vv.tiff"), {}),
              "annotation-vv": (str(tmp_path / "annotation-vv.xml"), {"title": "API title"})}
    item = raw_s1_api_item(remote, product_id="S1A_X", sensor_mode="IW", assets=assets)
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == "S1A_X" and p["datetime"].startswith("2021-08-09T17:39:53")
    assert (p["sar:instrument_mode"], p["sar:frequency_band"], p["sar:product_type"]) == ("IW", "C", "GRD")
    assert p["sar:polarizations"] == ["VV", "VH"] and p["sat:relative_orbit"] == 59
    assert p["processing:level"] == "L1" and "earthsearch:s3_path" not in p
    assert d["assets"]["vv"]["roles"] == ["data"] and d["assets"]["vv"]["sar:polarizations"] == ["VV"]
    assert d["assets"]["manifest"]["title"] == "SAFE manifest" and d["assets"]["manifest"]["roles"] == ["metadata"]
    assert d["assets"]["annotation-vv"]["title"] == "API title"
    assert any("sat/" in u for u in d["stac_extensions"])


def test_raw_lidar_item_from_a_real_las_header(shared_dir: Path) -> None:
    las = shared_dir / "realdata" / "lidar" / "file_with_both_wkt_and_geotiff_vlrs.las"
    if not las.is_file():
        pytest.skip(f"{las} not in the shared data")
    with laspy.open(str(las)) as reader:
        header = reader.header
    from datetime import UTC, datetime

    from sporbar.las import lidar_crs

    when = datetime(2022, 5, 1, tzinfo=UTC)
    crs = lidar_crs(las, header)
    d = raw_lidar_item("lidar_1_2", header, "./tile.las", crs=crs, acquired=when).to_dict(
        include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == "lidar_1_2" and p["datetime"] == "2022-05-01T00:00:00Z"
    assert p["pc:count"] == header.point_count == 25408 and p["pc:encoding"] == "binary"
    assert p["proj:code"] == "EPSG:6880"
    assert p["proj:bbox"] == [round(float(v), 2) for v in (*header.mins[:2], *header.maxs[:2])]
    assert {s["name"] for s in p["pc:schemas"]} >= {"X", "Y", "Z", "classification"}
    assert sum(s.get("count", 0) for s in p["pc:statistics"]) == header.point_count
    lon0, lat0, lon1, lat1 = d["bbox"]
    assert -98 < lon0 < lon1 < -96 and 41 < lat0 < lat1 < 42  # eastern Nebraska
    assert d["assets"]["data"]["href"] == "./tile.las" and d["assets"]["data"]["roles"] == ["data"]


def test_labels_item_from_literals() -> None:
    counts = {"forest": 3, "mire": 1}
    d = labels_item(
        "demo", "./labels.gpkg", crs="EPSG:25833", layer="labels", bounds=(268800.0, 7029760.0, 269440.0, 7030400.0),
        class_column="class_name", class_names=["forest", "mire", "water"], counts=counts,
        period={"start_datetime": "2023-06-12T00:00:00Z", "end_datetime": "2023-08-20T23:59:59Z"},
    ).to_dict(include_self_link=False, transform_hrefs=False)
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == "labels-demo" and d["properties"]["datetime"] is None
    assert p["label:classes"] == [{"name": "class_name", "classes": ["forest", "mire", "water"]}]
    assert p["label:overviews"][0]["counts"] == [{"name": "forest", "count": 3}, {"name": "mire", "count": 1}]
    assert p["sporbar:class_counts"] == counts and p["proj:bbox"] == [268800.0, 7029760.0, 269440.0, 7030400.0]
    lon0, lat0, lon1, lat1 = d["bbox"]
    assert 9 < lon0 < lon1 < 11 and 63 < lat0 < lat1 < 64
    assert "layer 'labels'" in d["assets"]["labels"]["title"]
