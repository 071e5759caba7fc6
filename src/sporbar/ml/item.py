"""STAC builders for the model item (MLM extension) and the map item (classification)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pystac
from odc.geo.geobox import GeoBox
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.mlm import (
    AssetGeneralMLMExtension,
    Hyperparameters,
    InputStructure,
    MLMExtension,
    ModelInput,
    ModelOutput,
    ResultStructure,
    TaskType,
)
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension

from sporbar.ml.io import FRAMEWORKS, SIDECAR
from sporbar.ml.models import MLP
from sporbar.ml.predict import CLASS_NODATA, CONFIDENCE_NODATA
from sporbar.ml.train import FittedModel
from sporbar.stac import extensions as ext

METRICS_FILE = "metrics.json"
SPORBAR_METRICS = ext.SPORBAR_PREFIX + "metrics"
SUMMARY_METRICS = ("overall_accuracy", "kappa", "macro_f1", "baseline_accuracy")


def mlm_classes(classes: Sequence[dict[str, Any]]) -> list[Classification]:
    """Classification objects (value, name, description, color_hint) of ``classes[]``."""
    return [
        Classification.create(
            value=int(c["value"]),
            name=c["name"],
            description=c.get("description") or c.get("title") or c["name"],
            color_hint=c["color"].lstrip("#").upper() if c.get("color") else None,
        )
        for c in sorted(classes, key=lambda c: c["value"])
    ]


def feature_band(name: str) -> dict[str, Any]:
    """A core STAC 1.1 ``bands`` entry (name, description) describing one model feature."""
    lidar = {
        "dtm": "Terrain height from lidar (m)",
        "dsm": "Surface height from lidar (m)",
        "chm": "Canopy height from lidar (m)",
        "dsm_minus_dtm": "Surface minus terrain height from lidar (m)",
        "slope": "Terrain slope from the lidar DTM (degrees)",
    }
    if name in lidar:
        desc = lidar[name]
    else:
        period, band = name.split("_", 1)
        desc = f"Sentinel-2 {band} median composite of period {period!r} (ARD)"
    return {"name": name, "description": desc}


def model_item(
    model_id: str,
    model: FittedModel,
    *,
    classes: Sequence[dict[str, Any]],
    metrics: dict[str, Any],
    training: pystac.Item,
    model_href: str,
) -> pystac.Item:
    """The model item: MLM extension, ``sporbar:metrics``, assets model/metadata/metrics."""
    fw = FRAMEWORKS[model.kind]
    used = [c for c in classes if int(c["value"]) in model.class_values]
    item = pystac.Item(
        id=f"model-{model_id}",
        geometry=training.geometry,
        bbox=training.bbox,
        datetime=None,
        start_datetime=training.common_metadata.start_datetime,
        end_datetime=training.common_metadata.end_datetime,
        properties={},
    )
    n = len(model.feature_names)
    arch = "MLP" if isinstance(model.estimator, MLP) else "RandomForestClassifier"
    params = (
        sum(p.numel() for p in model.estimator.parameters())
        if isinstance(model.estimator, MLP)
        else None
    )
    mlm = MLMExtension.ext(item, add_if_missing=True)
    mlm.apply(
        name=f"sporbar-{model_id}",
        architecture=arch,
        tasks=[TaskType.CLASSIFICATION],
        input=[
            ModelInput.create(
                name="features",
                bands=list(model.feature_names),
                input=InputStructure.create(
                    shape=[-1, n], dim_order=["batch", "bands"], data_type=DataType.FLOAT32
                ),
                description="Per-pixel features (sporbar.training.features), one row per pixel",
            )
        ],
        output=[
            ModelOutput.create(
                name="classification",
                tasks=[TaskType.CLASSIFICATION],
                result=ResultStructure.create(
                    shape=[-1, len(model.class_values)],
                    dim_order=["batch", "class"],
                    data_type=DataType.FLOAT32,
                ),
                description="Class probabilities, one column per class value (ascending)",
                classes=mlm_classes(used),
            )
        ],
        framework=fw.name,
        framework_version=fw.version,
        total_parameters=params,
        pretrained=False,
        hyperparameters=Hyperparameters.create(**{k: v for k, v in sorted(model.spec.items())}),
    )
    # where it was trained: a GPU-trained MLP is not bit-identical to a CPU re-run
    cpu = "amd64" if platform.machine().lower() in ("x86_64", "amd64") else None
    item.properties["mlm:accelerator"] = "cuda" if model.device == "cuda" else cpu
    item.properties["mlm:accelerator_constrained"] = False
    # mlm v1.4.0 wants value_scaling as a list (one entry per band) or null
    item.properties["mlm:input"][0]["value_scaling"] = (
        [
            {"type": "z-score", "mean": m, "stddev": s}
            for m, s in zip(model.normaliser.mean, model.normaliser.std, strict=True)
        ]
        if model.normaliser
        else None
    )
    # mlm v1.4.0 wants named input bands described in properties (core STAC 1.1 bands);
    # the core item schema allows properties.bands only when an asset has bands too.
    item.properties["bands"] = [feature_band(f) for f in model.feature_names]
    item.properties[SPORBAR_METRICS] = {k: metrics[k] for k in SUMMARY_METRICS} | {
        "validation": metrics["validation"],
        "n_samples": metrics["n_samples"],
    }
    asset = pystac.Asset(
        href=model_href,
        media_type="application/octet-stream",
        roles=["mlm:model", "data"],
        title=f"{arch} weights ({fw.name})",
    )
    asset.extra_fields["bands"] = [feature_band(f) for f in model.feature_names]
    item.add_asset("model", asset)
    AssetGeneralMLMExtension.ext(asset, add_if_missing=True).artifact_type = fw.artifact_type
    item.add_asset(
        "model-metadata",
        pystac.Asset(
            href=f"./{SIDECAR}",
            media_type=ext.JSON,
            roles=["metadata"],
            title="Architecture, feature names, class values and normalisation",
        ),
    )
    item.add_asset(
        "metrics",
        pystac.Asset(
            href=f"./{METRICS_FILE}",
            media_type=ext.JSON,
            roles=["metadata"],
            title="Spatially blocked cross-validation metrics",
        ),
    )
    return item


def _raster(asset: pystac.Asset, *, nodata: int, unit: str | None = None) -> None:
    band = RasterBand.create(nodata=nodata, data_type=DataType.UINT8, spatial_resolution=10)
    if unit:
        band.unit = unit
    RasterExtension.ext(asset, add_if_missing=True).bands = [band]


def map_item(
    product: str,
    tile: str,
    *,
    geobox: GeoBox,
    classes: Sequence[dict[str, Any]],
    start: datetime,
    end: datetime,
    bbox_wgs84: list[float],
    geometry: dict[str, Any],
) -> pystac.Item:
    """The map item: assets classes (classification ext) and confidence; proj and raster."""
    item = pystac.Item(
        id=f"{product}-{tile}",
        geometry=geometry,
        bbox=bbox_wgs84,
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={},
    )
    b = geobox.boundingbox
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    assert geobox.crs is not None, "tile grids (cfg.grid.geobox) always have a CRS"
    proj.code = f"EPSG:{geobox.crs.epsg}"
    proj.shape = list(geobox.shape.yx)
    proj.transform = list(geobox.affine)[:6]
    proj.bbox = [b.left, b.bottom, b.right, b.top]
    cls_asset = pystac.Asset(
        "./classes.tif",
        media_type=ext.COG,
        roles=["data"],
        title="Land-ecology class (0 = no data)",
    )
    item.add_asset("classes", cls_asset)
    ClassificationExtension.ext(cls_asset, add_if_missing=True).classes = mlm_classes(classes)
    _raster(cls_asset, nodata=CLASS_NODATA)
    conf_asset = pystac.Asset(
        "./confidence.tif",
        media_type=ext.COG,
        roles=["data"],
        title="Confidence: highest class probability in percent (255 = no data)",
    )
    item.add_asset("confidence", conf_asset)
    _raster(conf_asset, nodata=CONFIDENCE_NODATA, unit="percent")
    return item
