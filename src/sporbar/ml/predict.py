"""Apply a fitted model to a feature stack, in row blocks so memory stays bounded."""

from __future__ import annotations

from typing import Any

import numpy as np

from sporbar.errors import InputDataError
from sporbar.ml.train import FittedModel
from sporbar.stac.items.map import CLASS_NODATA, CONFIDENCE_NODATA


def predict_stack(
    model: FittedModel, stack: np.ndarray, *, block_rows: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Class map and confidence of a feature stack.

    Args:
        model: the fitted model; ``stack`` bands must be in ``model.feature_names`` order.
        stack: (n_features, y, x) float32, NaN where no data.
        block_rows: rows predicted at once (bounds the memory of the flattened block).

    Returns:
        classes (y, x) uint8 (0 = nodata where any feature is NaN) and confidence (y, x)
        uint8 = round(max class probability x 100) (255 = nodata).
    """
    n, h, w = stack.shape
    if n != len(model.feature_names):
        raise InputDataError(
            f"feature stack has {n} bands, the model wants {len(model.feature_names)} "
            f"({', '.join(model.feature_names)}); retrain the model with this config"
        )
    classes = np.full((h, w), CLASS_NODATA, dtype=np.uint8)
    conf = np.full((h, w), CONFIDENCE_NODATA, dtype=np.uint8)
    values = np.asarray(model.class_values, dtype=np.uint8)
    for r0 in range(0, h, block_rows):
        block = stack[:, r0 : r0 + block_rows].reshape(n, -1).T
        valid = np.isfinite(block).all(axis=1)
        if not valid.any():
            continue
        proba = model.predict_proba(block[valid])
        c = np.full(block.shape[0], CLASS_NODATA, dtype=np.uint8)
        p = np.full(block.shape[0], CONFIDENCE_NODATA, dtype=np.uint8)
        c[valid] = values[proba.argmax(axis=1)]
        p[valid] = np.clip(np.rint(proba.max(axis=1) * 100), 0, 100).astype(np.uint8)
        rows = min(block_rows, h - r0)
        classes[r0 : r0 + rows] = c.reshape(rows, w)
        conf[r0 : r0 + rows] = p.reshape(rows, w)
    return classes, conf


def predict_stack_on(
    client: Any, model: FittedModel, stack: np.ndarray, *, block_rows: int = 256
) -> tuple[np.ndarray, np.ndarray]:
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
    return np.concatenate([c for c, _ in parts]), np.concatenate([p for _, p in parts])
