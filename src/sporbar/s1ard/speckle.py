"""Speckle filters for calibrated SAR intensity (linear), applied in radar geometry before geocoding."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: the speckle filters sporbar knows (``s1_ard.speckle_filter.method``)
METHODS = ("none", "lee")


def lee(intensity: np.ndarray, *, window: int, looks: float) -> np.ndarray:
    """The Lee (1980) filter: the local mean plus a weight times the deviation from it.

    With local mean ``m`` and variance ``v`` in a ``window`` x ``window`` box and the
    multiplicative speckle variance ``cu^2 = 1 / looks``, the signal variance is
    ``vx = (v - m^2 cu^2) / (1 + cu^2)`` (at least 0), the weight ``k = vx / v`` and the result
    ``m + k (I - m)``. NaN pixels (no data) stay NaN and do not enter their neighbours' statistics.

    Args:
        intensity: (y, x) linear intensity, NaN where no data.
        window: odd box size in pixels.
        looks: equivalent number of looks of the product (``sar:looks_equivalent_number``).
    """
    valid = np.isfinite(intensity)
    x = np.where(valid, intensity, 0.0).astype(np.float64)
    w = ndimage.uniform_filter(valid.astype(np.float64), window, mode="nearest")
    safe_w = np.where(w > 0, w, 1.0)
    m = ndimage.uniform_filter(x, window, mode="nearest") / safe_w
    m2 = ndimage.uniform_filter(x * x, window, mode="nearest") / safe_w
    v = np.maximum(m2 - m * m, 0.0)
    cu2 = 1.0 / looks
    vx = np.maximum((v - m * m * cu2) / (1 + cu2), 0.0)
    k = np.where(v > 0, vx / np.where(v > 0, v, 1.0), 0.0)
    out = m + k * (x - m)
    return np.where(valid, out, np.nan).astype(np.float32)


def filter_speckle(intensity: np.ndarray, *, method: str, window: int, looks: float) -> np.ndarray:
    """Apply speckle filter ``method`` (one of :data:`METHODS`; ``none`` returns the input)."""
    if method == "lee":
        return lee(intensity, window=window, looks=looks)
    return intensity
