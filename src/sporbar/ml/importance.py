"""Permutation feature importance on held-out folds: which features a model relies on.

For each cross-validation fold, the model fitted on the other folds predicts the held-out
fold once as it is and once per feature with that feature's column shuffled (seeded); the
drop in overall accuracy is the feature's importance on that fold (Breiman 2001; scikit-learn's
``permutation_importance``, here on the spatially blocked held-out rows, so a feature that only
helps to recognise nearby training pixels does not look important). Folds are pooled weighted
by their number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: shuffles per feature and fold
N_REPEATS = 3
#: most rows of shuffled copies predicted in one call (about 30 MB of float32 at 29 features)
MAX_ROWS = 262_144


def fold_importance(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator,
    n_repeats: int = N_REPEATS,
    max_rows: int = MAX_ROWS,
) -> np.ndarray:
    """Accuracy drop per feature (n_features,) when its column of ``x`` is shuffled.

    The shuffled copies are predicted in batches of up to ``max_rows`` rows: one model call
    per batch, not per feature and repeat (a forest's or boosting's per-call overhead is
    larger than its per-row cost at these sizes).

    Args:
        predict: class values of feature rows (the model fitted without these rows).
        x: held-out feature rows (rows, features).
        y: their reference class values.
        rng: the seeded generator of the shuffles.
        n_repeats: shuffles per feature; the drop is their mean.
        max_rows: most rows predicted in one call.
    """
    n, k = x.shape
    base = float((predict(x) == y).mean())
    # every shuffle drawn up front, in a fixed order: batching does not change the result
    orders = [(j, rng.permutation(n)) for j in range(k) for _ in range(n_repeats)]
    per_batch = max(1, max_rows // max(n, 1))
    correct = np.zeros(k)
    for b0 in range(0, len(orders), per_batch):
        chunk = orders[b0 : b0 + per_batch]
        batch = np.repeat(x[None], len(chunk), axis=0)
        for i, (j, order) in enumerate(chunk):
            batch[i, :, j] = x[order, j]
        hits = (predict(batch.reshape(-1, k)).reshape(len(chunk), n) == y).mean(axis=1)
        for (j, _), h in zip(chunk, hits, strict=True):
            correct[j] += h
    return base - correct / n_repeats


def pooled_importance(
    per_fold: Sequence[np.ndarray], sizes: Sequence[int], feature_names: Sequence[str]
) -> list[dict[str, Any]]:
    """Per-fold importances pooled by fold size, most important first.

    Returns:
        ``[{"feature", "importance", "std"}, ...]``: the weighted mean accuracy drop and its
        weighted standard deviation over folds, sorted by importance (then name).
    """
    drops = np.asarray(per_fold, dtype=np.float64)
    w = np.asarray(sizes, dtype=np.float64) / float(np.sum(sizes))
    mean = (w[:, None] * drops).sum(axis=0)
    std = np.sqrt((w[:, None] * (drops - mean) ** 2).sum(axis=0))
    rows = [
        {"feature": str(n), "importance": round(float(m), 6), "std": round(float(s), 6)}
        for n, m, s in zip(feature_names, mean, std, strict=True)
    ]
    return sorted(rows, key=lambda r: (-r["importance"], r["feature"]))
