"""Data + model spec + seed -> a fitted model. No file I/O."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from torch import nn

from sporbar.errors import ConfigError
from sporbar.ml.models import MLP, ModelKind, mlp, random_forest
from sporbar.ml.normalise import Normaliser

BATCH_SIZE = 256
LEARNING_RATE = 5e-3
WEIGHT_DECAY = 1e-4


@dataclass
class FittedModel:
    """A fitted classifier with everything needed to apply it.

    Attributes:
        kind: random_forest or torch_mlp.
        spec: the ``models[]`` config entry.
        estimator: the sklearn forest or the torch module (eval mode).
        feature_names: input columns, in order.
        class_values: class value of each output column, ascending.
        normaliser: z-score normalisation (torch_mlp), or None.
        device: the torch device it was trained on ("cpu" or "cuda"); the module is on the CPU.
    """

    kind: ModelKind
    spec: dict[str, Any]
    estimator: RandomForestClassifier | MLP
    feature_names: list[str]
    class_values: list[int]
    normaliser: Normaliser | None = None
    device: str = "cpu"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (rows, len(class_values)) of feature rows (rows, features)."""
        x = np.asarray(x, dtype=np.float32)
        if isinstance(self.estimator, RandomForestClassifier):
            p = self.estimator.predict_proba(x)
            out = np.zeros((x.shape[0], len(self.class_values)), dtype=np.float64)
            cols = [self.class_values.index(int(c)) for c in self.estimator.classes_]
            out[:, cols] = p
            return out
        assert self.normaliser is not None
        with torch.no_grad():
            logits = self.estimator(torch.from_numpy(self.normaliser.apply(x)))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class values of feature rows."""
        return np.asarray(self.class_values)[self.predict_proba(x).argmax(axis=1)]


@contextlib.contextmanager
def _torch_state(threads: int) -> Iterator[None]:
    """Deterministic algorithms and a thread count for the block, restored afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.set_num_threads(old_threads)


def train_device(requested: str, model_id: str = "") -> torch.device:
    """The torch device for ``models[].device`` (auto, cpu, cuda).

    Raises:
        ConfigError: cuda requested, and torch sees no CUDA device.
    """
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise ConfigError(
            f"models[{model_id}].device: cuda requested, but torch {torch.__version__} ({build}) sees no "
            "CUDA device in this job; use a GPU partition (e.g. slurm_extra: --gpus=1) or device: auto/cpu"
        )
    # deterministic cuBLAS (torch.use_deterministic_algorithms) needs this before CUDA starts
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device("cuda")


def class_weights(y_index: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights ``n / (k * count)`` (0 for absent classes)."""
    counts = np.bincount(y_index, minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = y_index.size / (present.sum() * counts[present])
    return w


def fit(
    spec: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: Sequence[str],
    class_values: Sequence[int],
    seed: int,
    threads: int,
) -> FittedModel:
    """Fit the model of ``spec`` on rows ``x`` (rows, features) with class values ``y``.

    Args:
        spec: a ``models[]`` config entry (``kind`` and its parameters).
        x: float32 features, no NaN.
        y: class values (a subset of ``class_values``).
        feature_names: names of the columns of ``x``.
        class_values: every class the model outputs, ascending.
        seed: ``training.seed``; same seed and data give the same model.
        threads: CPU threads (``threads``).
    """
    kind = ModelKind(spec["kind"])
    values = sorted(int(v) for v in class_values)
    x = np.asarray(x, dtype=np.float32)
    if kind is ModelKind.RANDOM_FOREST:
        rf = random_forest(spec, seed=seed, threads=threads)
        rf.fit(x, np.asarray(y, dtype=np.int64))
        return FittedModel(kind, dict(spec), rf, list(feature_names), values)
    norm = Normaliser.fit(x)
    index = {v: i for i, v in enumerate(values)}
    y_idx = np.array([index[int(v)] for v in y], dtype=np.int64)
    device = train_device(str(spec.get("device", "cpu")), str(spec.get("id", "")))
    with _torch_state(threads):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on any device
        net = mlp(spec, n_features=x.shape[1], n_classes=len(values)).to(device)
        xt = torch.from_numpy(norm.apply(x)).to(device)
        yt = torch.from_numpy(y_idx).to(device)
        loss_fn = nn.CrossEntropyLoss(
            weight=torch.from_numpy(class_weights(y_idx, len(values)).astype(np.float32)).to(device)
        )
        opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        net.train()
        for _ in range(int(spec.get("epochs", 60))):
            order = torch.randperm(xt.shape[0], generator=gen)
            for start in range(0, xt.shape[0], BATCH_SIZE):
                batch = order[start : start + BATCH_SIZE].to(device)
                opt.zero_grad()
                loss = loss_fn(net(xt[batch]), yt[batch])
                loss.backward()
                opt.step()
        net.eval()
    return FittedModel(kind, dict(spec), net.to("cpu"), list(feature_names), values, norm, device=device.type)
