"""Data + model spec + seed -> a fitted model. No file I/O.

torch is imported only for ``torch_mlp`` and ``tempcnn`` models (see :mod:`sporbar.ml.mlp`,
:mod:`sporbar.ml.tempcnn`), scikit-learn
only for random forests and gradient boosting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sporbar.ml.models import SKLEARN_KINDS, ModelKind, gradient_boosting, random_forest
from sporbar.ml.normalise import Normaliser

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    from sporbar.ml.mlp import MLP
    from sporbar.ml.tempcnn import TempCNN


@dataclass
class FittedModel:
    """A fitted classifier with everything needed to apply it.

    Attributes:
        kind: random_forest, hgb, torch_mlp or tempcnn.
        spec: the ``models[]`` config entry.
        estimator: the sklearn estimator (random_forest, hgb) or the torch module in eval mode
            (torch_mlp, tempcnn).
        feature_names: input columns, in order (tempcnn: the static ones and the ``ts_`` series).
        class_values: class value of each output column, ascending.
        normaliser: z-score normalisation (torch_mlp, tempcnn), or None.
        device: the torch device it was trained on ("cpu" or "cuda"); the module is on the CPU.
    """

    kind: ModelKind
    spec: dict[str, Any]
    estimator: RandomForestClassifier | HistGradientBoostingClassifier | MLP | TempCNN
    feature_names: list[str]
    class_values: list[int]
    normaliser: Normaliser | None = None
    device: str = "cpu"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (rows, len(class_values)) of feature rows (rows, features)."""
        x = np.asarray(x, dtype=np.float32)
        if self.kind in SKLEARN_KINDS:
            est = cast("RandomForestClassifier | HistGradientBoostingClassifier", self.estimator)
            if self.kind is ModelKind.RANDOM_FOREST:
                from joblib import effective_n_jobs

                from sporbar.ml.forest import forest_proba

                forest = cast("RandomForestClassifier", est)
                p = forest_proba(forest, x, threads=effective_n_jobs(forest.n_jobs))
            else:
                p = est.predict_proba(x)
            out = np.zeros((x.shape[0], len(self.class_values)), dtype=np.float64)
            cols = [self.class_values.index(int(c)) for c in est.classes_]
            out[:, cols] = p
            return out
        assert self.normaliser is not None
        if self.kind is ModelKind.TEMPCNN:
            from sporbar.ml import tempcnn

            assert isinstance(self.estimator, tempcnn.TempCNN)
            return tempcnn.predict_proba(self.estimator, self.feature_names, self.normaliser, x)
        from sporbar.ml.mlp import MLP, predict_proba

        assert isinstance(self.estimator, MLP)
        return predict_proba(self.estimator, self.normaliser, x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class values of feature rows."""
        return cast(np.ndarray, np.asarray(self.class_values)[self.predict_proba(x).argmax(axis=1)])


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
        x: float32 features, no NaN (but in the ``ts_`` time-series columns of a tempcnn: masked steps).
        y: class values (a subset of ``class_values``).
        feature_names: names of the columns of ``x``.
        class_values: every class the model outputs, ascending.
        seed: ``training.seed``; same seed and data give the same model.
        threads: CPU threads (``threads``).

    Raises:
        ConfigError: a torch model asks for cuda where there is none.
    """
    kind = ModelKind(spec["kind"])
    values = sorted(int(v) for v in class_values)
    x = np.asarray(x, dtype=np.float32)
    if kind is ModelKind.RANDOM_FOREST:
        rf = random_forest(spec, seed=seed, threads=threads)
        rf.fit(x, np.asarray(y, dtype=np.int64))
        return FittedModel(kind, dict(spec), rf, list(feature_names), values)
    if kind is ModelKind.HGB:
        from threadpoolctl import threadpool_limits

        hgb = gradient_boosting(spec, seed=seed)
        with threadpool_limits(limits=threads, user_api="openmp"):  # HGB's OpenMP threads: `threads`
            hgb.fit(x, np.asarray(y, dtype=np.int64))
        return FittedModel(kind, dict(spec), hgb, list(feature_names), values)
    index = {v: i for i, v in enumerate(values)}
    y_idx = np.array([index[int(v)] for v in y], dtype=np.int64)
    if kind is ModelKind.TEMPCNN:
        from sporbar.ml.tempcnn import fit_tempcnn

        norm = Normaliser.fit(x, ignore_nan=True)
        cnn, device = fit_tempcnn(
            spec,
            x,
            y_idx,
            class_weights(y_idx, len(values)),
            names=list(feature_names),
            normaliser=norm,
            n_classes=len(values),
            seed=seed,
            threads=threads,
        )
        return FittedModel(kind, dict(spec), cnn, list(feature_names), values, norm, device=device)
    from sporbar.ml.mlp import fit_mlp

    norm = Normaliser.fit(x)
    net, device = fit_mlp(
        spec,
        x,
        y_idx,
        class_weights(y_idx, len(values)),
        normaliser=norm,
        n_classes=len(values),
        seed=seed,
        threads=threads,
    )
    return FittedModel(kind, dict(spec), net, list(feature_names), values, norm, device=device)
