"""Per-period composites (median of clear observations, counts, indices) and season percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from sporbar.bands import INDEX_BANDS
from sporbar.errors import ConfigError


@dataclass(frozen=True)
class Period:
    """A compositing period (dates inclusive)."""

    id: str
    start: date
    end: date

    @classmethod
    def from_config(cls, p: dict[str, str]) -> Period:
        """From an ``ard.periods`` entry."""
        return cls(p["id"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))

    def contains(self, t: np.datetime64) -> bool:
        """Whether time ``t`` falls on a day of the period."""
        d = date.fromisoformat(str(np.datetime_as_string(t, unit="D")))
        return self.start <= d <= self.end


def period_members(times: np.ndarray, periods: Sequence[Period]) -> list[np.ndarray]:
    """Per period, a bool mask over ``times`` (datetime64) of the time steps inside it."""
    return [np.array([p.contains(t) for t in times], dtype=bool) for p in periods]


def _sorting_network(n: int) -> list[tuple[int, int]]:
    """Comparators (i < j) of Batcher's odd-even merge sort for ``n`` items, padded to a power of 2.

    Comparators that touch a padding position are left out: padding holds +inf, which
    never moves down, so they would change nothing.
    """
    size = 1 << max(n - 1, 0).bit_length()
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _sorted_time(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` (time, ...) sorted along time with NaN last, and the number of non-NaN values.

    Sorts with a sorting network of element-wise min/max over whole images (NaN as +inf,
    so last): the same order statistics as ``np.sort(a, axis=0)``, without numpy's cost
    per pixel for sorting a few values each (10x faster for 5-30 time steps).
    """
    n = np.sum(~np.isnan(a), axis=0)
    s = np.where(np.isnan(a), np.float32(np.inf), a).astype(np.float32)
    low = np.empty(s.shape[1:], np.float32)
    for i, j in _sorting_network(s.shape[0]):
        np.minimum(s[i], s[j], out=low)
        np.maximum(s[i], s[j], out=s[j])
        s[i] = low
    return s, n


def nanmedian_time(a: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN; NaN where no value (no warnings), float32."""
    if a.shape[0] == 0:
        return np.full(a.shape[1:], np.nan, np.float32)
    s, n = _sorted_time(a)
    lo = np.clip((n - 1) // 2, 0, None)[None]
    hi = np.clip(n // 2, 0, None)[None]
    med = 0.5 * (np.take_along_axis(s, lo, 0)[0] + np.take_along_axis(s, hi, 0)[0])
    return np.where(n > 0, med, np.nan).astype(np.float32)


def nanpercentiles_time(a: np.ndarray, percentiles: Sequence[float]) -> np.ndarray:
    """Percentiles over axis 0 ignoring NaN, as ``np.nanpercentile`` (linear), float32.

    Returns:
        (len(percentiles), ...) float32; NaN where a pixel has no value.
    """
    out = np.full((len(percentiles), *a.shape[1:]), np.nan, np.float32)
    if a.shape[0] == 0:
        return out
    s, n = _sorted_time(a)
    for k, q in enumerate(percentiles):
        pos = (q / 100.0) * np.clip(n - 1, 0, None)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.clip(n - 1, 0, None))
        frac = (pos - lo).astype(np.float32)
        v_lo = np.take_along_axis(s, lo[None], 0)[0]
        v_hi = np.take_along_axis(s, hi[None], 0)[0]
        with np.errstate(invalid="ignore"):  # inf - inf where a pixel has no value: masked below
            value = v_lo + frac * (v_hi - v_lo)
        out[k] = np.where(n > 0, np.where(frac == 0, v_lo, value), np.nan)
    return out


def index_pairs(bands: Sequence[str], indices: Sequence[str]) -> list[tuple[int, int]]:
    """Per index, the positions in ``bands`` of its two bands (a, b): (a - b) / (a + b).

    Raises:
        ValueError: an index needs a band not in ``bands``.
    """
    return [(list(bands).index(INDEX_BANDS[i][0]), list(bands).index(INDEX_BANDS[i][1])) for i in indices]


def period_products(
    block: np.ndarray, members: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Every period's median, indices and clear count of one block of the masked cube.

    Args:
        block: (time, band, y, x) float32 cloud-masked reflectance (NaN: not clear).
        members: per period, a bool mask over time (:func:`period_members`).
        pairs: per index, band positions (a, b) (:func:`index_pairs`).

    Returns:
        float32 (period, band + index + 1, y, x): per band the median of the clear
        observations (NaN where none), then the indices of those medians, then the
        number of clear observations (all bands valid).
    """
    nb, ni = block.shape[1], len(pairs)
    out = np.empty((len(members), nb + ni + 1, *block.shape[2:]), np.float32)
    for p, keep in enumerate(members):
        sub = block[keep]
        med = nanmedian_time(sub)
        out[p, :nb] = med
        with np.errstate(divide="ignore", invalid="ignore"):
            for i, (a, b) in enumerate(pairs):
                out[p, nb + i] = (med[a] - med[b]) / (med[a] + med[b])
        out[p, nb + ni] = np.isfinite(sub).all(axis=1).sum(axis=0)
    return out


def season_products(
    block: np.ndarray,
    keep: np.ndarray,
    sources: Sequence[int | tuple[int, int]],
    percentiles: Sequence[int],
) -> np.ndarray:
    """Percentiles over the whole season of each season band, and the clear count, of one block.

    Args:
        block: (time, band, y, x) float32 cloud-masked reflectance (NaN: not clear).
        keep: bool mask over time of the season's observations (every period's).
        sources: per season band, its cube band position, or (a, b) of an index (a - b) / (a + b)
            computed per observation before the percentiles (so an index percentile is of
            the index, not the index of band percentiles).
        percentiles: 0..100.

    Returns:
        float32 (len(sources) * len(percentiles) + 1, y, x) in :func:`season_names` order.
    """
    sub = block[keep]
    out = np.empty((len(sources) * len(percentiles) + 1, *block.shape[2:]), np.float32)
    for i, src in enumerate(sources):
        if isinstance(src, tuple):
            a, b = sub[:, src[0]], sub[:, src[1]]
            with np.errstate(divide="ignore", invalid="ignore"):
                values = (a - b) / (a + b)
        else:
            values = sub[:, src]
        out[i * len(percentiles) : (i + 1) * len(percentiles)] = nanpercentiles_time(values, percentiles)
    out[-1] = np.isfinite(sub).all(axis=1).sum(axis=0)
    return out


def season_sources(cube_bands: Sequence[str], bands: Sequence[str]) -> list[int | tuple[int, int]]:
    """Per season band, its position in ``cube_bands`` or the positions (a, b) of an index's bands.

    Raises:
        ConfigError: a band is neither in the cube nor an index of bands in the cube.
    """
    cube = list(cube_bands)
    out: list[int | tuple[int, int]] = []
    for b in bands:
        if b in cube:
            out.append(cube.index(b))
        elif b in INDEX_BANDS and all(x in cube for x in INDEX_BANDS[b]):
            out.append((cube.index(INDEX_BANDS[b][0]), cube.index(INDEX_BANDS[b][1])))
        else:
            raise ConfigError(f"season band {b!r} is neither in the cube ({', '.join(cube)}) nor an index of its bands")
    return out
