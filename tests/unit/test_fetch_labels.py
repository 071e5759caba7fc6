"""`sporbar fetch labels`: checks, reprojection, normalised GeoPackage and labels-raw item."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from _lidar_fixtures import Area, area  # noqa: F401
from click.testing import CliRunner
from shapely.affinity import translate

from sporbar.cli.main import cli
from sporbar.errors import InputDataError
from sporbar.fetch.labels import fetch_labels
from sporbar.io import sha256_multihash
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict


def _demo(area: Area) -> gpd.GeoDataFrame:  # noqa: F811
    return gpd.read_file(area.source / area.labels["path"], layer="labels")


def test_cli_fetch_demo_labels(area: Area, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "raw" / "labels" / "test-lidar" / "item.json"
    res = CliRunner().invoke(
        cli,
        [
            "fetch",
            "labels",
            "-c",
            str(area.cfg_path),
            "--source-dir",
            str(area.source),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    validate_item_dict(d)
    assert d["id"] == "labels-test-lidar"
    asset = d["assets"]["labels"]
    assert asset["type"] == "application/geopackage+sqlite3"
    assert asset["file:checksum"] == sha256_multihash(out.parent / "labels.gpkg")
    got = gpd.read_file(out.parent / "labels.gpkg", layer="labels")
    assert got.crs.to_epsg() == 25833 and len(got) == area.labels["count"]
    counts = d["properties"]["sporbar:class_counts"]
    assert counts == got["class_name"].value_counts().sort_index().to_dict()
    assert d["properties"]["label:overviews"][0]["property_key"] == "class_name"
    lon0, lat0, lon1, lat1 = d["bbox"]
    assert 9.5 < lon0 < lon1 < 11 and 63 < lat0 < lat1 < 64
    assert d["properties"]["start_datetime"] <= d["properties"]["end_datetime"]


def test_file_in_epsg4326_is_reprojected(area: Area, tmp_path: Path) -> None:  # noqa: F811
    src = tmp_path / "labels.geojson"
    _demo(area).to_crs("EPSG:4326").to_file(src, driver="GeoJSON")
    out = tmp_path / "out" / "item.json"
    d = fetch_labels(RunContext.current(), area.cfg, out, path=src)
    validate_item_dict(d)
    assert "reprojected from EPSG:4326" in d["properties"]["processing:lineage"]
    got = gpd.read_file(out.parent / "labels.gpkg", layer="labels")
    assert got.crs.to_epsg() == 25833
    assert got.area.sum() == pytest.approx(_demo(area).area.sum(), rel=1e-4)


def test_missing_class_column_is_named(area: Area, tmp_path: Path) -> None:  # noqa: F811
    src = tmp_path / "labels.gpkg"
    _demo(area).rename(columns={"class_name": "klasse"}).to_file(src, layer="labels")
    with pytest.raises(InputDataError) as err:
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "out" / "item.json", path=src)
    msg = str(err.value)
    assert str(src) in msg and "'class_name'" in msg and "klasse" in msg and "polygon_id" in msg


def test_unknown_class_names_are_named(area: Area, tmp_path: Path) -> None:  # noqa: F811
    gdf = _demo(area)
    gdf.loc[0, "class_name"] = "swamp"
    gdf.loc[1, "class_name"] = "Forest"
    src = tmp_path / "labels.gpkg"
    gdf.to_file(src, layer="labels")
    with pytest.raises(InputDataError, match=r"unknown class names.*Forest, swamp"):
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "out" / "item.json", path=src)


def test_file_without_crs_is_refused(area: Area, tmp_path: Path) -> None:  # noqa: F811
    gdf = _demo(area).set_crs(None, allow_override=True)
    src = tmp_path / "labels.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(src, layer="labels")
    with pytest.raises(InputDataError, match="no CRS"):
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "out" / "item.json", path=src)


def test_points_and_far_away_labels_are_refused(area: Area, tmp_path: Path) -> None:  # noqa: F811
    pts = _demo(area)
    pts = pts.set_geometry(pts.geometry.centroid)
    src = tmp_path / "points.gpkg"
    pts.to_file(src, layer="labels")
    with pytest.raises(InputDataError, match="not polygons"):
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "a" / "item.json", path=src)
    far = _demo(area)
    far = far.set_geometry(far.geometry.apply(lambda g: translate(g, 100_000, 0)))
    src = tmp_path / "far.gpkg"
    far.to_file(src, layer="labels")
    with pytest.raises(InputDataError, match="no label polygon intersects area 'test-lidar'"):
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "b" / "item.json", path=src)


def test_layers_none_named_labels_are_refused_one_is_read(area: Area, tmp_path: Path) -> None:  # noqa: F811
    # found by tests/reliability/bad_input.py: of several layers, GDAL's first was read as the labels
    gdf = _demo(area)
    src = tmp_path / "survey.gpkg"
    gdf.iloc[:3].to_file(src, layer="survey-2023")
    gdf.to_file(src, layer="survey-2024")
    with pytest.raises(InputDataError, match=r"survey.gpkg: 2 layers \(survey-2023, survey-2024\) and none named "
                                             r"'labels'; name the label layer 'labels'"):
        fetch_labels(RunContext.current(), area.cfg, tmp_path / "a" / "item.json", path=src)
    one = tmp_path / "one.gpkg"
    gdf.to_file(one, layer="polygons")  # a file of one layer: that layer is the labels, whatever its name
    d = fetch_labels(RunContext.current(), area.cfg, tmp_path / "b" / "item.json", path=one)
    assert len(gpd.read_file(tmp_path / "b" / d["assets"]["labels"]["href"], layer="labels")) == len(gdf)
