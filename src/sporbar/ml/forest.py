"""Random-forest class probabilities at cache speed, the same numbers as scikit-learn's.

``RandomForestClassifier.predict_proba`` runs each tree over every row and adds the
trees' outputs under a lock: with a million rows each tree streams the whole feature
matrix from memory and writes a (rows x classes) float64 array, and two threads contend
for the lock and the memory bus. Here the rows are cut into chunks small enough to stay
in the CPU cache, each chunk goes through all trees in one thread, and the chunks run in
parallel: the trees are summed in their own order, as scikit-learn does with
``n_jobs=1``, so the probabilities are the same to the bit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

CHUNK_ROWS = 32768
"""Rows a thread takes through every tree at once (32768 x 64 float32 features = 8 MB)."""


def _chunk_proba(forest: RandomForestClassifier, x: np.ndarray) -> np.ndarray:
    """Mean of the trees' class probabilities on rows ``x`` (float32, C order), trees in order.

    Each tree's ``tree_.predict`` is what ``DecisionTreeClassifier.predict_proba`` returns
    (sliced to the classes), without its per-call fitted and feature-count checks: with a
    thousand chunks x hundreds of trees those checks cost more than small trees' walks.
    """
    k = int(forest.n_classes_)
    total = np.zeros((x.shape[0], k), dtype=np.float64)
    for tree in forest.estimators_:
        total += tree.tree_.predict(x)[:, :k]
    total /= len(forest.estimators_)
    return total


def forest_proba(forest: RandomForestClassifier, x: np.ndarray, *, threads: int) -> np.ndarray:
    """``forest.predict_proba(x)`` computed in cache-sized row chunks on ``threads`` threads.

    Args:
        forest: a fitted single-output ``RandomForestClassifier``.
        x: feature rows (rows, features).
        threads: chunks computed at once (the trees release the GIL).

    Returns:
        (rows, classes) float64, columns in ``forest.classes_`` order; equal to
        ``predict_proba`` with ``n_jobs=1``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != forest.n_features_in_:  # the trees read columns unchecked
        raise ValueError(f"rows have shape {x.shape}, the forest wants {forest.n_features_in_} features")
    starts = range(0, x.shape[0], CHUNK_ROWS)
    if threads <= 1 or len(starts) <= 1:
        parts = [_chunk_proba(forest, x[s : s + CHUNK_ROWS]) for s in starts]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sporbar-forest") as pool:
            parts = list(pool.map(lambda s: _chunk_proba(forest, x[s : s + CHUNK_ROWS]), starts))
    if not parts:
        return np.zeros((0, int(forest.n_classes_)), dtype=np.float64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
