"""Model kinds and the scikit-learn models, built from a ``models[]`` config entry. No I/O here.

The torch MLP lives in :mod:`sporbar.ml.mlp` and TempCNN in :mod:`sporbar.ml.tempcnn`, imported
only where a torch model is fitted or loaded, so a random-forest run never imports torch.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sporbar.config import Config
from sporbar.errors import ConfigError

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier


class ModelKind(StrEnum):
    """``models[].kind``."""

    RANDOM_FOREST = "random_forest"
    TORCH_MLP = "torch_mlp"
    HGB = "hgb"
    TEMPCNN = "tempcnn"


#: the kinds fitted and stored by scikit-learn (joblib files)
SKLEARN_KINDS = frozenset({ModelKind.RANDOM_FOREST, ModelKind.HGB})
#: the kinds fitted and stored by torch (``model.pt``)
TORCH_KINDS = frozenset({ModelKind.TORCH_MLP, ModelKind.TEMPCNN})
#: the kinds whose input is the per-pixel time series (``ts_`` features) plus the lidar features
TEMPORAL_KINDS = frozenset({ModelKind.TEMPCNN})


def is_temporal(spec: dict[str, Any]) -> bool:
    """Whether the ``models[]`` entry reads the time series (see ``training.features.model_feature_names``)."""
    return ModelKind(spec["kind"]) in TEMPORAL_KINDS


def model_spec(cfg: Config, model_id: str) -> dict[str, Any]:
    """A copy of the ``models[]`` entry with id ``model_id``.

    Raises:
        ConfigError: no model has that id (names the config and the ids it has).
    """
    for m in cfg.data["models"]:
        if m["id"] == model_id:
            return dict(m)
    raise ConfigError(
        f"{cfg.source}: model {model_id!r} is not in models[].id "
        f"({', '.join(m['id'] for m in cfg.data['models'])})"
    )


def random_forest(spec: dict[str, Any], *, seed: int, threads: int) -> RandomForestClassifier:
    """A random forest with ``spec['n_estimators']`` trees, seeded, on ``threads`` cores."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=int(spec.get("n_estimators", 200)), random_state=seed, n_jobs=threads
    )


def gradient_boosting(spec: dict[str, Any], *, seed: int) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting (scikit-learn), seeded, without early stopping.

    ``spec['max_iter']`` boosting rounds at ``spec['learning_rate']``. Early stopping is off: it
    would hold out a random tenth of the samples, so the model would not use all of them.
    Deterministic for a seed (the tie-breaking and any subsampling use ``random_state``).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=int(spec.get("max_iter", 200)),
        learning_rate=float(spec.get("learning_rate", 0.1)),
        early_stopping=False,
        random_state=seed,
    )
