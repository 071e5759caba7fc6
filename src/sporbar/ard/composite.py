"""Per-period composites: per-pixel median of clear observations, counts and indices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import xarray as xr

# index -> (band a, band b): (a - b) / (a + b)
INDEX_BANDS: dict[str, tuple[str, str]] = {"NDVI": ("B08", "B04"), "NDMI": ("B08", "B11")}


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


def in_period(cube: xr.DataArray, period: Period) -> xr.DataArray:
    """The time steps of ``cube`` inside ``period`` (may be empty)."""
    keep = [period.contains(t) for t in cube["time"].values]
    return cube.isel(time=np.flatnonzero(np.asarray(keep, bool)))


def _nanmedian_time(a: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN; NaN where no value (no warnings)."""
    n = np.sum(~np.isnan(a), axis=0)
    s = np.sort(a, axis=0)  # NaN sort last
    lo = np.clip((n - 1) // 2, 0, None)[None]
    hi = np.clip(n // 2, 0, None)[None]
    if a.shape[0] == 0:
        return np.full(a.shape[1:], np.nan, np.float32)
    med = 0.5 * (np.take_along_axis(s, lo, 0)[0] + np.take_along_axis(s, hi, 0)[0])
    return np.where(n > 0, med, np.nan).astype(np.float32)


def median(cube: xr.DataArray) -> xr.DataArray:
    """Per-pixel median over time of a masked cube (time, band, y, x) -> (band, y, x), lazy.

    NaN where a pixel has no clear observation (also when the cube has no time step).
    """
    if cube.sizes["time"] == 0:
        template = cube.isel(time=slice(0, 1)).sum("time")
        return xr.full_like(template, np.nan, dtype=np.float32)
    c = cube.chunk({"time": -1})
    return xr.DataArray(
        c.data.map_blocks(_nanmedian_time, drop_axis=0, dtype=np.float32),
        dims=c.dims[1:],
        coords={k: v for k, v in c.coords.items() if k != "time"},
    )


def clear_count(cube: xr.DataArray) -> xr.DataArray:
    """Number of clear observations per pixel (y, x), uint8 (lazy)."""
    return cube.notnull().all("band").sum("time").astype(np.uint8)


def add_indices(composite: xr.DataArray, indices: Sequence[str]) -> xr.DataArray:
    """Append normalised-difference ``indices`` (NDVI, NDMI) as bands to a (band, y, x) composite.

    Raises:
        KeyError: an index needs a band the composite lacks.
    """
    out = [composite]
    for name in indices:
        a, b = (composite.sel(band=x) for x in INDEX_BANDS[name])
        nd = ((a - b) / (a + b)).astype(np.float32).expand_dims(band=[name])
        out.append(nd)
    return xr.concat(out, dim="band")
