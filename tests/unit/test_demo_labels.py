"""Demo label polygons: classes, columns, CRS, determinism, inside their class."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from _lidar_fixtures import Area, area  # noqa: F401

from sporbar.demo.labels import write_labels


def _read(area: Area) -> gpd.GeoDataFrame:  # noqa: F811
    return gpd.read_file(area.source / area.labels["path"], layer="labels")


def test_layer_columns_and_crs(area: Area) -> None:  # noqa: F811
    assert area.labels["path"] == "labels/labels.gpkg"
    assert [str(n) for n in pyogrio.list_layers(area.source / area.labels["path"])[:, 0]] == [
        "labels"
    ]
    gdf = _read(area)
    col = area.cfg.data["sources"]["labels"]["class_column"]
    assert len(gdf) == area.labels["count"] > 5
    assert {col, "polygon_id", "surveyor", "survey_date"} <= set(gdf.columns)
    assert gdf.crs.to_epsg() == 25833
    assert set(gdf.geom_type) == {"Polygon"}
    assert gdf["polygon_id"].is_unique


def test_every_landscape_class_present_with_config_names(area: Area) -> None:  # noqa: F811
    gdf = _read(area)
    col = area.cfg.data["sources"]["labels"]["class_column"]
    minx, miny, maxx, maxy = area.cfg.data["area"]["bbox"]
    t = area.landscape.transform
    present = np.unique(
        area.landscape.classes[
            int((t.f - maxy) / 10) : int((t.f - miny) / 10),
            int((minx - t.c) / 10) : int((maxx - t.c) / 10),
        ]
    )
    names = {c["value"]: c["name"] for c in area.cfg.data["classes"]}
    assert set(gdf[col]) == {names[int(v)] for v in present}


def test_polygons_sit_inside_their_class_and_are_not_wall_to_wall(area: Area) -> None:  # noqa: F811
    gdf = _read(area)
    col = area.cfg.data["sources"]["labels"]["class_column"]
    values = {c["name"]: c["value"] for c in area.cfg.data["classes"]}
    t = area.landscape.transform
    pts = gdf.geometry.representative_point()
    rows = ((t.f - pts.y) / 10).astype(int)
    cols = ((pts.x - t.c) / 10).astype(int)
    under = area.landscape.classes[rows.to_numpy(), cols.to_numpy()]
    assert np.all(under == gdf[col].map(values).to_numpy())
    minx, miny, maxx, maxy = area.cfg.data["area"]["bbox"]
    assert gdf.area.sum() < 0.6 * (maxx - minx) * (maxy - miny)
    assert gdf.total_bounds[0] >= minx and gdf.total_bounds[2] <= maxx


def test_gpkg_bytes_are_deterministic(area: Area, tmp_path: Path) -> None:  # noqa: F811
    assert write_labels(area.cfg, area.landscape, tmp_path) == area.labels
    assert (tmp_path / area.labels["path"]).read_bytes() == (
        area.source / area.labels["path"]
    ).read_bytes()
