"""Estimators and networks, built from a ``models[]`` config entry. No I/O here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import torch
from sklearn.ensemble import RandomForestClassifier
from torch import nn


class ModelKind(StrEnum):
    """``models[].kind``."""

    RANDOM_FOREST = "random_forest"
    TORCH_MLP = "torch_mlp"


MLP_LAYERS = 2
MLP_DROPOUT = 0.1


def random_forest(spec: dict[str, Any], *, seed: int, threads: int) -> RandomForestClassifier:
    """A random forest with ``spec['n_estimators']`` trees, seeded, on ``threads`` cores."""
    return RandomForestClassifier(
        n_estimators=int(spec.get("n_estimators", 200)), random_state=seed, n_jobs=threads
    )


class MLP(nn.Module):
    """A per-pixel classifier: features -> 2 hidden ReLU layers with dropout -> class logits.

    Args:
        n_features: input width (number of features).
        n_classes: output width (number of classes).
        hidden: units per hidden layer.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(
        self, n_features: int, n_classes: int, *, hidden: int, dropout: float = MLP_DROPOUT
    ):
        super().__init__()
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden = hidden
        self.dropout = dropout
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of normalised features (batch, n_features)."""
        return self.net(x)  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        """The constructor arguments, enough to rebuild the module before loading weights."""
        return {
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "layers": MLP_LAYERS,
        }


def mlp(spec: dict[str, Any], *, n_features: int, n_classes: int) -> MLP:
    """The MLP of a ``torch_mlp`` config entry (weights initialised from torch's current seed)."""
    return MLP(n_features, n_classes, hidden=int(spec.get("hidden", 64)))
