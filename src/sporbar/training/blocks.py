"""Spatial blocks and cross-validation folds.

A sample's block is the square of ``block_size`` metres containing it, named
``"<floor(x/size)>_<floor(y/size)>"`` (grid CRS metres). Whole blocks go to one fold,
so held-out pixels are never next to training pixels of the same fold split.
"""

from __future__ import annotations

import numpy as np

from sporbar.errors import InputDataError


def block_ids(x: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    """Block id (str) of each point ``(x, y)`` in metres for square blocks of ``size`` m."""
    bx = np.floor(np.asarray(x, dtype=np.float64) / size).astype(np.int64)
    by = np.floor(np.asarray(y, dtype=np.float64) / size).astype(np.int64)
    return np.array(
        [f"{i}_{j}" for i, j in zip(bx.tolist(), by.tolist(), strict=True)], dtype=object
    )


def assign_folds(blocks: np.ndarray, folds: int, rng: np.random.Generator) -> dict[str, int]:
    """Assign whole blocks to ``folds`` folds, balancing the number of samples per fold.

    Blocks are visited in a seeded random order; each goes to the fold that has the
    fewest samples so far (lowest fold number on ties).

    Args:
        blocks: block id of every sample.
        folds: number of folds (>= 2).
        rng: the seeded generator (``training.seed``).

    Returns:
        block id -> fold number (0 .. folds-1).

    Raises:
        InputDataError: there are fewer blocks than folds.
    """
    names, counts = np.unique(np.asarray(blocks, dtype=str), return_counts=True)
    if len(names) < folds:
        raise InputDataError(
            f"training: {len(names)} spatial blocks for {folds} folds; "
            "lower training.block_size or training.folds, or add label polygons"
        )
    load = np.zeros(folds, dtype=np.int64)
    out: dict[str, int] = {}
    for i in rng.permutation(len(names)):
        f = int(np.argmin(load))
        out[str(names[i])] = f
        load[f] += counts[i]
    return out
