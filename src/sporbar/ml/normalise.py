"""Per-feature z-score normalisation, fitted on training rows only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Normaliser:
    """``(x - mean) / std`` per feature.

    Attributes:
        mean: per-feature mean of the training rows.
        std: per-feature standard deviation (1.0 where a feature is constant).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray, *, ignore_nan: bool = False) -> Normaliser:
        """Fit on ``x`` (rows, features); use the training rows only.

        With ``ignore_nan`` (time series with masked steps), NaN values are left out of the
        mean and standard deviation; a feature that is NaN everywhere gets mean 0, std 1.
        """
        x64 = np.asarray(x, dtype=np.float64)
        if ignore_nan:
            seen = np.isfinite(x64).any(axis=0)
            filled = np.where(seen, x64, 0.0)
            mean, std = np.nanmean(filled, axis=0), np.nanstd(filled, axis=0)
        else:
            mean, std = x64.mean(axis=0), x64.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Normalised ``x`` (rows, features) as float32."""
        normalised: np.ndarray = (np.asarray(x, np.float64) - np.array(self.mean)) / np.array(self.std)
        return normalised.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normaliser:
        """From :meth:`to_dict` output."""
        return cls(tuple(map(float, d["mean"])), tuple(map(float, d["std"])))
