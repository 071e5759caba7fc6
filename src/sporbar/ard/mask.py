"""Cloud, shadow and no-data masking from the Sen2Cor scene classification (SCL)."""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr


def clear_mask(scl: xr.DataArray, mask_classes: Sequence[int]) -> xr.DataArray:
    """True where the SCL class is not one of ``mask_classes`` (lazy, dims of ``scl``)."""
    return ~scl.isin(list(mask_classes))


def apply_mask(reflectance: xr.DataArray, clear: xr.DataArray) -> xr.DataArray:
    """Set every band to NaN where a pixel is not clear or any band has no data.

    Args:
        reflectance: (time, band, y, x) float32.
        clear: (time, y, x) bool from :func:`clear_mask`.
    """
    ok = clear & reflectance.notnull().all("band")
    return reflectance.where(ok).astype("float32")
