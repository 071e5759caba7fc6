"""What the model item says about a fitted model: its :class:`ModelCard`."""

from __future__ import annotations

import platform

from sporbar.ml.io import FRAMEWORKS, architecture_name
from sporbar.ml.models import TORCH_KINDS
from sporbar.ml.train import FittedModel
from sporbar.stac.items.model import ModelCard


def model_card(model: FittedModel) -> ModelCard:
    """The :class:`ModelCard` of ``model`` (framework, features, classes, scaling, accelerator).

    ``accelerator`` is ``cuda`` for a GPU-trained network (not bit-identical to a CPU re-run),
    else the CPU architecture where it is amd64, else None.
    """
    fw = FRAMEWORKS[model.kind]
    cpu = "amd64" if platform.machine().lower() in ("x86_64", "amd64") else None
    params = (
        model.estimator.total_parameters()
        if model.kind in TORCH_KINDS
        else None
    )
    norm = model.normaliser
    return ModelCard(
        architecture=architecture_name(model),
        framework=fw.name,
        framework_version=fw.version,
        artifact_type=fw.artifact_type,
        feature_names=tuple(model.feature_names),
        class_values=tuple(model.class_values),
        hyperparameters=dict(model.spec),
        total_parameters=params,
        normalisation=(norm.mean, norm.std) if norm else None,
        accelerator="cuda" if model.device == "cuda" else cpu,
    )
