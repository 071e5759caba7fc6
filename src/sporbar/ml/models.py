"""Model kinds and the random forest, built from a ``models[]`` config entry. No I/O here.

The torch MLP lives in :mod:`sporbar.ml.mlp`, imported only where a torch model is fitted
or loaded, so a random-forest run never imports torch.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sporbar.config import Config
from sporbar.errors import ConfigError

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier


class ModelKind(StrEnum):
    """``models[].kind``."""

    RANDOM_FOREST = "random_forest"
    TORCH_MLP = "torch_mlp"


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
