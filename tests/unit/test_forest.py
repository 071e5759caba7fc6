"""The random-forest fast path gives scikit-learn's probabilities to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from sporbar.ml.forest import CHUNK_ROWS, forest_proba


def _forest(classes: list[int], n_jobs: int) -> tuple[RandomForestClassifier, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = np.array(classes)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    forest = RandomForestClassifier(n_estimators=12, random_state=1, n_jobs=n_jobs).fit(x, y)
    rows = rng.normal(size=(2 * CHUNK_ROWS + 123, 5)).astype(np.float32)
    return forest, rows


def test_same_bits_as_sklearn_over_several_chunks() -> None:
    forest, rows = _forest([3, 5, 9], n_jobs=1)
    want = forest.predict_proba(rows)  # n_jobs=1: the trees summed in their order
    for threads in (1, 2):
        got = forest_proba(forest, rows, threads=threads)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def test_non_contiguous_float64_rows_and_no_rows() -> None:
    forest, rows = _forest([1, 2, 4], n_jobs=2)
    wide = np.asfortranarray(rows[:1000].astype(np.float64))
    assert np.array_equal(forest_proba(forest, wide, threads=2), forest.predict_proba(wide.astype(np.float32)))
    assert forest_proba(forest, rows[:0], threads=2).shape == (0, 3)


def test_wrong_feature_count_is_refused() -> None:
    forest, rows = _forest([1, 2, 4], n_jobs=1)
    with pytest.raises(ValueError, match="wants 5 features"):
        forest_proba(forest, rows[:10, :4], threads=1)
