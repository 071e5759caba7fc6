"""The item builders of the stage outputs (sporbar.stac.items: ard, lidar_products, training,
model, map, extent), each on its own: literal metadata and a grid in, a valid item out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pystac
import pytest

from sporbar.grid import NationalGrid
from sporbar.stac.items.ard import PERIOD_SCENES, ard_item
from sporbar.stac.items.extent import bbox_polygon, period_span, tiles_bbox_wgs84
from sporbar.stac.items.lidar_products import (
    EMPTY_INPUTS,
    item_period,
    lidar_products_item,
    raster_statistics,
)
from sporbar.stac.items.map import MARGIN_DESCRIPTION, map_item
from sporbar.stac.items.model import ModelCard, feature_band, mlm_classes, model_item
from sporbar.stac.items.training import training_item
from sporbar.stac.validate import validate_item_dict

GRID = NationalGrid(resolution=10, tile_size=640)
TILE = "E268800N7029760"
GEOBOX = GRID.geobox(TILE)
CLASSES = [
    {"value": 1, "name": "forest", "color": "#1b7837", "description": "Forest"},
    {"value": 2, "name": "water", "color": "#2166ac"},
    {"value": 3, "name": "mire", "color": "#a6761d", "title": "Mire"},
]
START, END = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC)


def _valid(item: pystac.Item) -> dict:
    """The item as JSON (as record_item writes it), checked against the offline schemas."""
    d = json.loads(json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False)))
    validate_item_dict(d)
    return d


def test_period_span_and_tile_footprint():
    periods = [{"id": "b", "start": "2024-07-06", "end": "2024-09-30"},
               {"id": "a", "start": "2024-06-01", "end": "2024-07-05"}]
    assert period_span(periods) == (START, END)
    w, s, e, n = tiles_bbox_wgs84(GRID, [TILE])
    assert 10.0 < w < e < 11.0 and 63.0 < s < n < 64.0  # Gauldal, Norway
    two = tiles_bbox_wgs84(GRID, [TILE, "E269440N7029760"])
    assert two[0] == w and two[2] > e
    assert bbox_polygon([0, 1, 2, 3])["coordinates"][0] == [[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]]


class _Period:
    def __init__(self, pid: str, start: date, end: date):
        self.id, self.start, self.end = pid, start, end


def test_ard_item_records_scenes_per_period():
    periods = [_Period("early", date(2024, 6, 1), date(2024, 7, 5)),
               _Period("late", date(2024, 7, 6), date(2024, 9, 30))]
    assets = {"cube": Path("cube.zarr")}
    for p in periods:
        assets[f"composite-{p.id}"] = Path(f"composite-{p.id}.tif")
        assets[f"clear-{p.id}"] = Path(f"clear-{p.id}.tif")
    item = ard_item(TILE, GEOBOX, assets, bands=["B02", "B04", "NDVI"], cube_bands=["B02", "B04", "B08"],
                    start=START, end=END, periods=periods, period_scenes={"early": 3, "late": 0})
    d = _valid(item)
    assert d["id"] == f"ard-{TILE}" and d["properties"][PERIOD_SCENES] == {"early": 3, "late": 0}
    assert d["properties"]["proj:shape"] == [64, 64] and d["properties"]["processing:level"] == "L3"
    assert [b["name"] for b in d["assets"]["composite-early"]["eo:bands"]] == ["B02", "B04", "NDVI"]
    assert d["assets"]["composite-early"]["eo:bands"][1]["common_name"] == "red"
    assert "no scene" not in d["assets"]["composite-early"]["title"]
    assert "no scene in this period" in d["assets"]["composite-late"]["title"]
    assert d["assets"]["clear-late"]["raster:bands"][0]["data_type"] == "uint8"
    assert "B08" in d["assets"]["cube"]["title"]


def test_lidar_products_item():
    arrays = {"dtm": np.array([[1.0, np.nan], [3.0, 4.0]], np.float32), "dsm": np.full((2, 2), np.nan),
              "chm": np.zeros((2, 2)), "density": np.ones((2, 2))}
    stats = {k: raster_statistics(a) for k, a in arrays.items()}
    assert stats["dtm"] == {"minimum": 1.0, "maximum": 4.0, "mean": 2.667, "stddev": 1.247, "valid_percent": 75.0}
    assert stats["dsm"] == {"valid_percent": 0.0}
    when = datetime(2023, 8, 15, tzinfo=UTC)
    raw = [pystac.Item(f"lidar-{i}", None, None, when, {}) for i in range(2)]
    metrics = {"h_p50": {"minimum": 1.0}, "cover": {"maximum": 0.5}}
    excluded = {"noise": 2, "withheld": 0, "unknown_classes": {"65": 3}}
    kw = dict(statistics=stats, metric_statistics=metrics, min_height=2.0, point_count=10, excluded=excluded,
              raw=raw)
    item = lidar_products_item(TILE, GEOBOX, **kw, empty_inputs=["lidar-1"])
    d = _valid(item)
    assert d["properties"]["datetime"] == "2023-08-15T00:00:00Z" and d["properties"][EMPTY_INPUTS] == ["lidar-1"]
    assert d["properties"]["sporbar:excluded_points"] == excluded
    assert list(d["assets"]) == ["dtm", "dsm", "chm", "density", "metrics"]
    assert d["assets"]["dtm"]["raster:bands"][0]["statistics"]["valid_percent"] == 75.0
    assert [b["name"] for b in d["assets"]["dtm"]["bands"]] == ["dtm"]
    m = d["assets"]["metrics"]
    assert [b["name"] for b in m["bands"]] == ["h_p50", "cover"]
    assert "2 m above the terrain" in m["bands"][0]["description"]
    assert [b["unit"] for b in m["raster:bands"]] == ["metre", "1"]
    assert EMPTY_INPUTS not in lidar_products_item(TILE, GEOBOX, **kw).properties


def test_item_period_spans_inputs_of_different_dates():
    a = pystac.Item("a", None, None, datetime(2023, 8, 1, tzinfo=UTC), {})
    b = pystac.Item("b", None, None, None, {"start_datetime": "2023-09-01T00:00:00Z",
                                            "end_datetime": "2023-09-02T00:00:00Z"})
    assert item_period([a, b]) == (None, {"start_datetime": "2023-08-01T00:00:00Z",
                                          "end_datetime": "2023-09-02T00:00:00Z"})


def test_training_item():
    samples = pd.DataFrame({"early_B02": [0.1, 0.2, 0.3], "class_name": ["forest", "water", "forest"],
                            "fold": [0, 1, 1], "geometry": [None] * 3})
    bbox = tiles_bbox_wgs84(GRID, [TILE])
    item = training_item("test-area", samples, features=["early_B02"], tiles=[TILE], bbox=bbox, start=START,
                         end=END, training={"folds": 2, "block_size": 320, "seed": 7, "samples_per_class": 9},
                         version="0123456789ab")
    d = _valid(item)
    p = d["properties"]
    assert d["id"] == "training-test-area-0123456789ab" and d["bbox"] == bbox
    assert (p["version"], p["sporbar:version_of"]) == ("0123456789ab", "training-test-area")
    assert p["sporbar:class_counts"] == {"forest": 2, "water": 1} and p["sporbar:fold_counts"] == {"0": 1, "1": 2}
    assert (p["sporbar:folds"], p["sporbar:block_size"], p["sporbar:seed"]) == (2, 320, 7)
    assert p["table:row_count"] == 3 and [c["name"] for c in p["table:columns"]][:2] == ["early_B02", "class_name"]
    assert d["assets"]["samples"]["href"] == "./samples.parquet"


@pytest.mark.parametrize("normalised", [True, False])
def test_model_item(normalised):
    training = pystac.Item("training-x", bbox_polygon([10, 63, 11, 64]), [10, 63, 11, 64], None, {},
                           start_datetime=START, end_datetime=END)
    card = ModelCard(architecture="MLP" if normalised else "RandomForestClassifier",
                     framework="pytorch" if normalised else "scikit-learn", framework_version="1.0.0",
                     artifact_type="torch.save" if normalised else "joblib.dump",
                     feature_names=("early_B02", "chm"), class_values=(1, 3),
                     hyperparameters={"kind": "x", "id": "m"}, total_parameters=42 if normalised else None,
                     normalisation=((0.5, 2.0), (1.0, 3.0)) if normalised else None, accelerator="amd64")
    metrics = {"overall_accuracy": 0.9, "kappa": 0.8, "macro_f1": 0.85, "baseline_accuracy": 0.5,
               "validation": "blocked", "n_samples": 10}
    item = model_item("m", card, classes=CLASSES, metrics=metrics, training=training,
                      model_href="./model.pt", metadata_href="./model.json", version="v1")
    d = _valid(item)
    p = d["properties"]
    assert d["id"] == "model-m-v1" and p["mlm:architecture"] == card.architecture
    assert [c["name"] for c in p["mlm:output"][0]["classification:classes"]] == ["forest", "mire"]
    scaling = p["mlm:input"][0]["value_scaling"]
    assert scaling == ([{"type": "z-score", "mean": 0.5, "stddev": 1.0}, {"type": "z-score", "mean": 2.0,
                                                                           "stddev": 3.0}] if normalised else None)
    assert p["sporbar:metrics"]["n_samples"] == 10 and p["mlm:accelerator"] == "amd64"
    assert d["assets"]["model"]["mlm:artifact_type"] == card.artifact_type
    assert set(d["assets"]) == {"model", "model-metadata", "metrics"}


def test_class_and_feature_descriptions():
    assert [c.description for c in mlm_classes(CLASSES)] == ["Forest", "water", "Mire"]
    assert mlm_classes(CLASSES)[0].color_hint == "1B7837"
    assert feature_band("chm")["description"].startswith("Canopy height")
    assert feature_band("late_NDVI")["description"] == "Sentinel-2 NDVI median composite of period 'late' (ARD)"


def test_map_item():
    bbox = tiles_bbox_wgs84(GRID, [TILE])
    d = _valid(map_item("land-ecology", TILE, geobox=GEOBOX, classes=CLASSES, start=START, end=END,
                        bbox_wgs84=bbox))
    assert d["id"] == f"land-ecology-{TILE}" and d["bbox"] == bbox
    assert d["properties"]["proj:code"] == "EPSG:25833" and d["properties"]["proj:shape"] == [64, 64]
    band = d["assets"]["classes"]["raster:bands"][0]
    assert band["nodata"] == 0 and band["spatial_resolution"] == 10
    assert d["assets"]["confidence"]["raster:bands"][0] == {"nodata": 255, "data_type": "uint8",
                                                            "spatial_resolution": 10.0, "unit": "percent"}
    margin = d["assets"]["margin"]["raster:bands"][0]
    assert (margin["nodata"], margin["unit"], margin["description"]) == (255, "percent", MARGIN_DESCRIPTION)
    assert d["properties"]["sporbar:classes"] == [] and "sporbar:model" not in d["properties"]


def test_map_item_names_the_classes_present_and_its_model():
    bbox = tiles_bbox_wgs84(GRID, [TILE])
    d = map_item("land-ecology", TILE, geobox=GEOBOX, classes=CLASSES, start=START, end=END, bbox_wgs84=bbox,
                 mapped=[0, 3, 1], model="model-rf-0123abcd")  # 0: no data; names in the legend's order
    assert d.properties["sporbar:classes"] == ["forest", "mire"]
    assert d.properties["sporbar:model"] == "model-rf-0123abcd"
