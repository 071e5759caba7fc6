"""Apply a fitted model to a feature stack, in row blocks so memory stays bounded."""

from __future__ import annotations

from typing import Any

import numpy as np

from sporbar.bands import is_series
from sporbar.errors import InputDataError
from sporbar.ml.train import FittedModel
from sporbar.stac.items.map import CLASS_NODATA, CONFIDENCE_NODATA, MARGIN_NODATA


def _percent(p: np.ndarray) -> np.ndarray:
    """Probabilities 0..1 as uint8 percent 0..100 (rounded)."""
    out: np.ndarray = np.clip(np.rint(p * 100), 0, 100).astype(np.uint8)
    return out


def class_margin(proba: np.ndarray) -> np.ndarray:
    """Highest minus second-highest class probability of each row (1 with one class).

    The margin of the winning class: near 0 where the model hesitates between two classes
    (the pixels a map user should doubt), near 1 where one class clearly wins, even when
    the highest probability alone looks modest among many classes.
    """
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    top2 = np.partition(proba, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def predict_stack(
    model: FittedModel, stack: np.ndarray, *, block_rows: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class map, confidence and class margin of a feature stack.

    Args:
        model: the fitted model; ``stack`` bands must be in ``model.feature_names`` order.
        stack: (n_features, y, x) float32, NaN where no data (in a ``ts_`` time-series band: a
            step without a clear view, which the model masks; such a pixel is still mapped).
        block_rows: rows predicted at once (bounds the memory of the flattened block).

    Returns:
        classes (y, x) uint8 (0 = nodata where a feature but a ``ts_`` one is NaN), confidence (y, x)
        uint8 = round(max class probability x 100) and margin (y, x) uint8 =
        round((highest - second-highest class probability) x 100) (255 = nodata in both).
    """
    n, h, w = stack.shape
    if n != len(model.feature_names):
        raise InputDataError(
            f"feature stack has {n} bands, the model wants {len(model.feature_names)} "
            f"({', '.join(model.feature_names)}); retrain the model with this config"
        )
    classes = np.full((h, w), CLASS_NODATA, dtype=np.uint8)
    conf = np.full((h, w), CONFIDENCE_NODATA, dtype=np.uint8)
    margin = np.full((h, w), MARGIN_NODATA, dtype=np.uint8)
    values = np.asarray(model.class_values, dtype=np.uint8)
    required = np.array([not is_series(f) for f in model.feature_names], dtype=bool)
    for r0 in range(0, h, block_rows):
        # pixels as C-ordered feature rows, what the model reads: a view of a pixel-major stack
        # (feature_stack's), else one copy per block
        block = np.ascontiguousarray(stack[:, r0 : r0 + block_rows].reshape(n, -1).T, dtype=np.float32)
        valid = np.isfinite(block if required.all() else block[:, required]).all(axis=1)
        if not valid.any():
            continue
        proba = model.predict_proba(block if valid.all() else block[valid])
        c = np.full(block.shape[0], CLASS_NODATA, dtype=np.uint8)
        p = np.full(block.shape[0], CONFIDENCE_NODATA, dtype=np.uint8)
        m = np.full(block.shape[0], MARGIN_NODATA, dtype=np.uint8)
        c[valid] = values[proba.argmax(axis=1)]
        p[valid] = _percent(proba.max(axis=1))
        m[valid] = _percent(class_margin(proba))
        rows = min(block_rows, h - r0)
        classes[r0 : r0 + rows] = c.reshape(rows, w)
        conf[r0 : r0 + rows] = p.reshape(rows, w)
        margin[r0 : r0 + rows] = m.reshape(rows, w)
    return classes, conf, margin


def predict_stack_on(
    client: Any, model: FittedModel, stack: np.ndarray, *, block_rows: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_stack` with its row blocks run as tasks on a ``distributed.Client``.

    Used with Dask on Slurm (``sporbar.parallel.dask_client``): the model is sent once to
    every worker, each block of ``block_rows`` rows is one task. The blocks are those of
    :func:`predict_stack`, so the maps are the same as without a client.
    """
    n, h, _ = stack.shape
    if n != len(model.feature_names):
        raise InputDataError(
            f"feature stack has {n} bands, the model wants {len(model.feature_names)} "
            f"({', '.join(model.feature_names)}); retrain the model with this config"
        )
    starts = range(0, h, block_rows)
    [remote_model] = client.scatter([model], broadcast=True)
    blocks = client.scatter([np.ascontiguousarray(stack[:, r0 : r0 + block_rows]) for r0 in starts])
    parts = client.gather(
        client.map(predict_stack, [remote_model] * len(blocks), blocks, block_rows=block_rows)
    )
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))  # type: ignore[return-value]
