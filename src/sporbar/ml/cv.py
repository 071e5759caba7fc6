"""Spatially blocked cross-validation over the samples' ``fold`` column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

from sporbar.ml.importance import fold_importance, pooled_importance
from sporbar.ml.train import fit


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    class_values: Sequence[int],
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Overall accuracy, Cohen's kappa, macro and per-class F1, confusion matrix (rows = truth)."""
    labels = list(class_values)
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "overall_accuracy": float(accuracy_score(y_true, y_pred)),
        "kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "per_class_f1": {n: float(f) for n, f in zip(class_names, per_class, strict=True)},
        "confusion_matrix": {
            "labels": list(class_names),
            "rows": "reference",
            "columns": "predicted",
            "counts": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }


def no_information_rate(y: np.ndarray) -> float:
    """Share of the most frequent class in ``y``: the accuracy of the best constant guess."""
    _, counts = np.unique(y, return_counts=True)
    return float(counts.max() / counts.sum()) if counts.size else 0.0


def cross_validate(
    spec: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    *,
    feature_names: Sequence[str],
    class_values: Sequence[int],
    class_names: Sequence[str],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """Fit on all folds but one, predict the held-out fold, for every fold; pool the results.

    ``baseline_accuracy`` is the no-information rate: the accuracy of always predicting the
    most frequent class of the held-out rows (the best any constant classifier can do on
    them, so a strict baseline even when training classes are balanced).

    Returns:
        Metrics over all held-out predictions (see :func:`classification_metrics`), plus
        ``baseline_accuracy``, ``folds`` (per-fold n, accuracy and baseline), ``n_samples`` and
        ``permutation_importance`` (accuracy drop per shuffled feature on the held-out folds,
        most important first; :mod:`sporbar.ml.importance`).
    """
    y = np.asarray(y, dtype=np.int64)
    pred = np.zeros_like(y)
    per_fold = []
    drops, sizes = [], []
    for f in sorted(int(v) for v in np.unique(folds)):
        test = folds == f
        train = ~test
        model = fit(
            spec,
            x[train],
            y[train],
            feature_names=feature_names,
            class_values=class_values,
            seed=seed,
            threads=threads,
        )
        pred[test] = model.predict(x[test])
        # seeded per fold, so the importances do not depend on the order folds are run in
        drops.append(fold_importance(model.predict, x[test], y[test], rng=np.random.default_rng([seed, f])))
        sizes.append(int(test.sum()))
        per_fold.append(
            {
                "fold": f,
                "n": int(test.sum()),
                "overall_accuracy": float(accuracy_score(y[test], pred[test])),
                "baseline_accuracy": no_information_rate(y[test]),
            }
        )
    metrics = classification_metrics(y, pred, class_values=class_values, class_names=class_names)
    metrics["baseline_accuracy"] = no_information_rate(y)
    metrics["folds"] = per_fold
    metrics["n_samples"] = int(y.size)
    metrics["validation"] = "spatially blocked cross-validation (held-out folds)"
    metrics["permutation_importance"] = pooled_importance(drops, sizes, feature_names)
    return metrics
