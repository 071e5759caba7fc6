"""Model files: the weights (``model.joblib`` or ``model.pt``) and a JSON sidecar ``model.json``.

The sidecar holds what is needed to apply the weights: kind, config entry, architecture,
feature names (in order), class values and the normalisation. Same model, same bytes.
"""

from __future__ import annotations

import io as _io
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib

from sporbar.errors import InputDataError, MissingInputError
from sporbar.io import atomic_path, write_bytes_atomic, write_json_atomic
from sporbar.ml.models import TORCH_KINDS, ModelKind
from sporbar.ml.normalise import Normaliser
from sporbar.ml.train import FittedModel

SIDECAR = "model.json"
FILENAMES = {
    ModelKind.RANDOM_FOREST: "model.joblib",
    ModelKind.HGB: "model.joblib",
    ModelKind.TORCH_MLP: "model.pt",
    ModelKind.TEMPCNN: "model.pt",
}


@dataclass(frozen=True)
class Framework:
    """The library that runs a model kind (for ``mlm:framework``)."""

    name: str
    package: str
    artifact_type: str

    @property
    def version(self) -> str:
        """Installed version of the package."""
        return version(self.package).split("+")[0]


FRAMEWORKS = {
    ModelKind.RANDOM_FOREST: Framework("scikit-learn", "scikit-learn", "joblib.dump"),
    ModelKind.HGB: Framework("scikit-learn", "scikit-learn", "joblib.dump"),
    ModelKind.TORCH_MLP: Framework("pytorch", "torch", "torch.save"),
    ModelKind.TEMPCNN: Framework("pytorch", "torch", "torch.save"),
}


ARCHITECTURES = {
    ModelKind.RANDOM_FOREST: "RandomForestClassifier",
    ModelKind.HGB: "HistGradientBoostingClassifier",
    ModelKind.TORCH_MLP: "MLP",
    ModelKind.TEMPCNN: "TempCNN",
}


def architecture_name(model: FittedModel) -> str:
    """``MLP``, ``RandomForestClassifier`` or ``HistGradientBoostingClassifier`` (``mlm:architecture``)."""
    return ARCHITECTURES[model.kind]


def sidecar(model: FittedModel) -> dict[str, Any]:
    """The ``model.json`` content."""
    fw = FRAMEWORKS[model.kind]
    arch: dict[str, Any] = {"name": architecture_name(model)}
    if model.kind in TORCH_KINDS:
        arch |= model.estimator.architecture()
    elif model.kind is ModelKind.HGB:
        arch["max_iter"] = model.estimator.max_iter
        arch["n_iter"] = int(getattr(model.estimator, "n_iter_"))  # noqa: B009 - rounds fitted (typed Any)
    else:
        arch["n_estimators"] = model.estimator.n_estimators
    return {
        "kind": str(model.kind),
        "spec": model.spec,
        "architecture": arch,
        "framework": fw.name,
        "framework_version": fw.version,
        "feature_names": model.feature_names,
        "class_values": model.class_values,
        "normalisation": model.normaliser.to_dict() if model.normaliser else None,
    }


def save_model(model: FittedModel, folder: Path) -> tuple[Path, Path]:
    """Write the weights and the sidecar into ``folder`` atomically.

    Returns:
        (weights path, sidecar path).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAMES[model.kind]
    if model.kind in TORCH_KINDS:
        import torch

        buf = _io.BytesIO()
        torch.save(model.estimator.state_dict(), buf)
        write_bytes_atomic(path, buf.getvalue())
    else:
        with atomic_path(path) as tmp:
            joblib.dump(model.estimator, tmp, compress=("zlib", 3))
    write_json_atomic(folder / SIDECAR, sidecar(model))
    return path, folder / SIDECAR


def _rerun_hint(path: Path) -> str:
    return f"re-run `sporbar train ... -o {path.parent / 'item.json'} --overwrite` to write the model again"


def load_model(path: Path) -> FittedModel:
    """Load weights ``path`` with the ``model.json`` beside it.

    Raises:
        MissingInputError: the weights or the sidecar do not exist.
        InputDataError: either file is corrupt, or they do not fit together (names the file
            and says to re-run ``sporbar train``).
    """
    path = Path(path)
    meta_path = path.parent / SIDECAR
    for p in (path, meta_path):
        if not p.exists():
            raise MissingInputError(f"{p}: model file not found; rerun `sporbar train`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        kind = ModelKind(meta["kind"])
        norm = Normaliser.from_dict(meta["normalisation"]) if meta["normalisation"] else None
        spec, names, values = meta["spec"], list(meta["feature_names"]), [int(v) for v in meta["class_values"]]
    except (ValueError, KeyError, TypeError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputDataError(
            f"{meta_path}: model sidecar is corrupt ({type(err).__name__}: {err}); {_rerun_hint(path)}"
        ) from err
    try:
        if kind is ModelKind.TORCH_MLP:
            import torch

            from sporbar.ml.mlp import MLP

            a = meta["architecture"]
            net = MLP(a["n_features"], a["n_classes"], hidden=a["hidden"], dropout=a["dropout"])
            net.load_state_dict(torch.load(path, weights_only=True))
            net.eval()
            estimator: Any = net
        elif kind is ModelKind.TEMPCNN:
            import torch

            from sporbar.ml.tempcnn import TempCNN

            a = meta["architecture"]
            cnn = TempCNN(
                a["n_steps"], a["n_bands"], a["n_static"], a["n_classes"],
                filters=a["filters"], hidden=a["hidden"], epochs_trained=a["epochs_trained"],
            )
            cnn.load_state_dict(torch.load(path, weights_only=True))
            cnn.eval()
            estimator = cnn
        else:
            estimator = joblib.load(path)
    except Exception as err:  # noqa: BLE001 - unpickling corrupt bytes can raise almost any type
        raise InputDataError(
            f"{path}: cannot load the {kind} model (corrupt, truncated, or not the model {meta_path} "
            f"describes; {type(err).__name__}: {err}); {_rerun_hint(path)}"
        ) from err
    return FittedModel(kind, spec, estimator, names, values, norm)
