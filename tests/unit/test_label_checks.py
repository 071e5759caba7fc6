"""Label files that are wrong in ways a column check misses fail at check-config, naming the file.

Metres declared as degrees, self-intersecting polygons (refused, or repaired with
``sources.labels.make_valid``), labels that miss the area.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from _lidar_fixtures import Area, area  # noqa: F401
from conftest import run_sporbar
from shapely.affinity import translate
from shapely.geometry import Polygon

from sporbar.config import load
from sporbar.errors import InputDataError
from sporbar.fetch.labels import fetch_labels
from sporbar.stac.record import RunContext
from sporbar.workflow.preflight import check_inputs


def _demo(area: Area) -> gpd.GeoDataFrame:  # noqa: F811
    return gpd.read_file(area.source / area.labels["path"], layer="labels")


def _config(area: Area, tmp_path: Path, labels: Path, **extra: object) -> Path:  # noqa: F811
    data = yaml.safe_load(area.cfg_path.read_text())
    data["sources"]["labels"] = {"source": "file", "path": str(labels), "class_column": "class_name", **extra}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _check_config(path: Path) -> tuple[int, str]:
    r = run_sporbar("check-config", str(path))
    return r.returncode, r.stdout + r.stderr


def test_labels_in_metres_declared_as_degrees_fail_check_config(area: Area, tmp_path: Path) -> None:  # noqa: F811
    src = tmp_path / "labels.gpkg"
    _demo(area).set_crs("EPSG:4326", allow_override=True).to_file(src, layer="labels")
    code, out = _check_config(_config(area, tmp_path, src))
    assert code == 1, out
    assert f"{src}: coordinates span" in out and "outside the longitude/latitude range of its CRS EPSG:4326" in out


def _bow_tie(x: float, y: float) -> Polygon:
    return Polygon([(x, y), (x + 40, y + 40), (x + 40, y), (x, y + 40), (x, y)])


def test_self_intersecting_polygons_are_refused_or_repaired(area: Area, tmp_path: Path) -> None:  # noqa: F811
    gdf = _demo(area)
    x, y = gdf.geometry.iloc[0].representative_point().coords[0]
    gdf.loc[gdf.index[:3], "geometry"] = [_bow_tie(x + 50 * i, y) for i in range(3)]
    src = tmp_path / "labels.gpkg"
    gdf.to_file(src, layer="labels")
    code, out = _check_config(_config(area, tmp_path, src))
    assert code == 1 and f"{src}: 3 of {len(gdf)} label polygons are invalid (e.g. feature 0: Self-intersection" in out
    assert "sources.labels.make_valid: true" in out
    # make_valid: repaired at check-config and by the fetch, the bow-ties kept as their two triangles
    cfg_path = _config(area, tmp_path, src, make_valid=True)
    code, out = _check_config(cfg_path)
    assert code == 0 and "(3 invalid, repaired by make_valid)" in out, out
    out_item = tmp_path / "raw" / "item.json"
    fetch_labels(RunContext.current(), load(cfg_path), out_item, path=src)
    got = gpd.read_file(out_item.parent / "labels.gpkg", layer="labels")
    assert len(got) == len(gdf) and got.geometry.is_valid.all()
    # each bow-tie became its two triangles (40 x 20 / 2 each): 800 m2
    assert got.area.sum() == pytest.approx(gdf.area.iloc[3:].sum() + 3 * 800.0)


def test_labels_that_miss_the_area_fail_check_config(area: Area, tmp_path: Path) -> None:  # noqa: F811
    far = _demo(area)
    far = far.set_geometry(far.geometry.apply(lambda g: translate(g, 100_000, 0)))
    src = tmp_path / "far.gpkg"
    far.to_file(src, layer="labels")
    cfg_path = _config(area, tmp_path, src)
    with pytest.raises(InputDataError, match=f"{src}: no label polygon intersects area 'test-lidar'"):
        check_inputs(load(cfg_path))
    code, out = _check_config(cfg_path)
    assert code == 1 and "no label polygon intersects" in out
