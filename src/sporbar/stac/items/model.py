"""The STAC item of a trained model (collection ``models``): MLM extension and metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pystac
from pystac.extensions.classification import Classification
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
from pystac.extensions.raster import DataType

from sporbar.bands import S1_STATISTICS, SERIES_PREFIX, is_series, series_layout
from sporbar.lidar_bands import describe
from sporbar.stac import extensions as ext
from sporbar.stac.versions import set_version

METRICS_FILE = "metrics.json"
SPORBAR_METRICS = ext.SPORBAR_PREFIX + "metrics"
SUMMARY_METRICS = ("overall_accuracy", "kappa", "macro_f1", "baseline_accuracy")
#: permutation importance of each feature on the held-out folds, most important first
FEATURE_IMPORTANCE = ext.SPORBAR_PREFIX + "feature_importance"
#: the time series a temporal model reads: steps, bands and how masked steps are marked
TIMESERIES = ext.SPORBAR_PREFIX + "timeseries"

@dataclass(frozen=True)
class ModelCard:
    """What the model item records about a fitted model (``sporbar.ml.item.model_card``).

    Attributes:
        architecture: ``mlm:architecture``, e.g. ``RandomForestClassifier`` or ``MLP``.
        framework: ``mlm:framework`` (``scikit-learn``, ``pytorch``).
        framework_version: installed version of the framework.
        artifact_type: how the weights file was written (``joblib.dump``, ``torch.save``).
        feature_names: input features, in order.
        class_values: class value of each output column, ascending.
        hyperparameters: the ``models[]`` config entry.
        total_parameters: trainable parameters (networks), or None.
        normalisation: per-feature (mean, std) of the z-score input scaling, or None.
        accelerator: ``mlm:accelerator`` where it was trained (``cuda``, ``amd64``) or None.
    """

    architecture: str
    framework: str
    framework_version: str
    artifact_type: str
    feature_names: tuple[str, ...]
    class_values: tuple[int, ...]
    hyperparameters: Mapping[str, Any]
    total_parameters: int | None = None
    normalisation: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    accelerator: str | None = None


def mlm_classes(classes: Sequence[Mapping[str, Any]]) -> list[Classification]:
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


#: the Sentinel-1 ARD statistics as they follow the period in a feature name (``vv_mean``...)
S1_FEATURES = frozenset(f"{q}_{s}" for q, s in S1_STATISTICS)


def feature_band(name: str) -> dict[str, Any]:
    """A core STAC 1.1 ``bands`` entry (name, description) describing one model feature."""
    lidar = describe(name)  # lidar bands and derived features: one table, sporbar.lidar_bands
    if is_series(name):
        step, _, band = name[len(SERIES_PREFIX) :].partition("_")
        desc = f"Median of the clear Sentinel-2 {band} observations of {step} (ARD cube); NaN where none (masked)"
    elif lidar is not None:
        text, unit = lidar
        desc = f"{text} ({unit})" if unit and unit != "1" else text
    else:
        period, band = name.split("_", 1)
        if band in S1_FEATURES:
            q, stat = band.split("_")
            desc = (f"Sentinel-1 {'VH/VV ratio' if q == 'vhvv' else q.upper()} backscatter, temporal "
                    f"{'mean' if stat == 'mean' else 'standard deviation'} of period {period!r} (dB, S1 ARD)")
        else:
            desc = f"Sentinel-2 {band} median composite of period {period!r} (ARD)"
    return {"name": name, "description": desc}


def input_description(names: Sequence[str]) -> str:
    """What one input row holds; for a temporal model, where its time series is and how gaps are marked."""
    if not any(is_series(n) for n in names):
        return "Per-pixel features (sporbar.training.features), one row per pixel"
    layout = series_layout(names)
    return (
        f"Per-pixel rows (sporbar.training.features): {len(layout.static)} static features, then a time "
        f"series of {len(layout.steps)} steps ({layout.steps[0]}..{layout.steps[-1]}) x {len(layout.bands)} "
        f"bands ({', '.join(layout.bands)}), step-major, named {SERIES_PREFIX}<step>_<band>; NaN marks a step "
        "without a clear observation, which the model masks (validity channel 0, not imputed); "
        "see sporbar:timeseries"
    )


def model_item(
    model_id: str,
    card: ModelCard,
    *,
    classes: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    training: pystac.Item,
    model_href: str,
    metadata_href: str,
    version: str,
) -> pystac.Item:
    """The model item: MLM extension, ``sporbar:metrics``, assets model/model-metadata/metrics.

    Args:
        model_id: ``models[].id``; the item id is ``model-<id>-<version>``.
        card: what the fitted model is.
        classes: the ``classes[]`` config entries (those the model outputs are kept).
        metrics: the cross-validation metrics (``sporbar.ml.cv.cross_validate``).
        training: the training item (footprint and time span are copied).
        model_href: the weights file, relative to the item.
        metadata_href: the model's JSON sidecar, relative to the item.
        version: hash of what made the model (``sporbar.ml.run_train.model_version``).

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    used = [c for c in classes if int(c["value"]) in card.class_values]
    item = pystac.Item(
        id=f"model-{model_id}",
        geometry=training.geometry,
        bbox=training.bbox,
        datetime=None,
        start_datetime=training.common_metadata.start_datetime,
        end_datetime=training.common_metadata.end_datetime,
        properties={},
    )
    set_version(item, f"model-{model_id}", version)
    n = len(card.feature_names)
    mlm = MLMExtension.ext(item, add_if_missing=True)
    mlm.apply(
        name=f"sporbar-{model_id}",
        architecture=card.architecture,
        tasks=[TaskType.CLASSIFICATION],
        input=[
            ModelInput.create(
                name="features",
                bands=list(card.feature_names),
                input=InputStructure.create(
                    shape=[-1, n], dim_order=["batch", "bands"], data_type=DataType.FLOAT32
                ),
                description=input_description(card.feature_names),
            )
        ],
        output=[
            ModelOutput.create(
                name="classification",
                tasks=[TaskType.CLASSIFICATION],
                result=ResultStructure.create(
                    shape=[-1, len(card.class_values)],
                    dim_order=["batch", "class"],
                    data_type=DataType.FLOAT32,
                ),
                description="Class probabilities, one column per class value (ascending)",
                classes=mlm_classes(used),
            )
        ],
        framework=card.framework,
        framework_version=card.framework_version,
        total_parameters=card.total_parameters,
        pretrained=False,
        hyperparameters=Hyperparameters.create(**{k: v for k, v in sorted(card.hyperparameters.items())}),
    )
    # where it was trained: a GPU-trained MLP is not bit-identical to a CPU re-run
    item.properties["mlm:accelerator"] = card.accelerator
    item.properties["mlm:accelerator_constrained"] = False
    # mlm v1.4.0 wants value_scaling as a list (one entry per band) or null
    item.properties["mlm:input"][0]["value_scaling"] = (
        [
            {"type": "z-score", "mean": m, "stddev": s}
            for m, s in zip(card.normalisation[0], card.normalisation[1], strict=True)
        ]
        if card.normalisation
        else None
    )
    # mlm v1.4.0 wants named input bands described in properties (core STAC 1.1 bands);
    # the core item schema allows properties.bands only when an asset has bands too.
    item.properties["bands"] = [feature_band(f) for f in card.feature_names]
    if any(is_series(f) for f in card.feature_names):
        layout = series_layout(card.feature_names)
        item.properties[TIMESERIES] = {
            "steps": list(layout.steps),
            "bands": list(layout.bands),
            "columns": f"{SERIES_PREFIX}<step>_<band>, step-major, after the static features",
            "missing": "NaN = no clear observation in the step: masked (validity channel 0), not imputed",
        }
    item.properties[SPORBAR_METRICS] = {k: metrics[k] for k in SUMMARY_METRICS} | {
        "validation": metrics["validation"],
        "n_samples": metrics["n_samples"],
    }
    if "permutation_importance" in metrics:  # [{feature, importance, std}]: accuracy drop when shuffled
        item.properties[FEATURE_IMPORTANCE] = list(metrics["permutation_importance"])
    asset = pystac.Asset(
        href=model_href,
        media_type="application/octet-stream",
        roles=["mlm:model", "data"],
        title=f"{card.architecture} weights ({card.framework})",
    )
    asset.extra_fields["bands"] = [feature_band(f) for f in card.feature_names]
    item.add_asset("model", asset)
    AssetGeneralMLMExtension.ext(asset, add_if_missing=True).artifact_type = card.artifact_type
    item.add_asset(
        "model-metadata",
        pystac.Asset(
            href=metadata_href,
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
