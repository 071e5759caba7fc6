"""Per-period temporal statistics of Sentinel-1 backscatter in dB (no warnings on empty pixels)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_db(linear: np.ndarray) -> np.ndarray:
    """10 log10 of positive values; NaN elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(linear > 0, 10 * np.log10(np.where(linear > 0, linear, 1.0)), np.nan).astype(np.float32)


def mean_std(stack: Sequence[np.ndarray], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and (population) standard deviation over ``stack``, ignoring NaN.

    Pixels with no finite value are NaN in both; with one value the std is 0.
    """
    if not stack:
        nan = np.full(shape, np.nan, np.float32)
        return nan, nan.copy()
    a = np.stack(stack).astype(np.float64)
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    total = np.where(ok, a, 0.0).sum(axis=0)
    mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    dev = np.where(ok, a - mean, 0.0)
    std = np.where(n > 0, np.sqrt((dev**2).sum(axis=0) / np.maximum(n, 1)), np.nan)
    return mean.astype(np.float32), std.astype(np.float32)


def period_statistics(vv_db: Sequence[np.ndarray], vh_db: Sequence[np.ndarray],
                      shape: tuple[int, int]) -> np.ndarray:
    """The (6, y, x) float32 bands of :data:`sporbar.bands.S1_STATISTICS` from per-scene VV and VH dB arrays."""
    ratio = [vh - vv for vv, vh in zip(vv_db, vh_db, strict=True)]  # VH/VV in dB
    out = []
    for series in (vv_db, vh_db, ratio):
        out += list(mean_std(series, shape))
    return np.stack(out)
