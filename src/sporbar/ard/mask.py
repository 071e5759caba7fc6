"""Per-pixel quality flags and the clear mask, from the Sen2Cor scene classification (SCL).

Each scene gets a uint8 of bit flags per pixel (the ARD item's ``quality`` asset, CEOS ARD's
per-pixel quality): :data:`NODATA`, :data:`CLOUD` (SCL 8, 9, 10 where masked), :data:`CLOUD_SHADOW`
(SCL 3 where masked), :data:`SNOW` (SCL 11) and :data:`TERRAIN_SHADOW` (``cos(i) <= 0``, from the
terrain correction's geometry). Cloud and cloud shadow are dilated by ``ard.mask.dilate_px`` pixels
(a disk), so the soft edges Sen2Cor misses stay out. A pixel is clear where its SCL class is not
in ``ard.mask_classes`` and no flag but terrain shadow is set: snow is always kept out of
composites, and counted (flags, and the item's fractions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

NODATA, CLOUD, CLOUD_SHADOW, SNOW, TERRAIN_SHADOW = 1, 2, 4, 8, 16
FLAGS = {"nodata": NODATA, "cloud": CLOUD, "cloud_shadow": CLOUD_SHADOW, "snow": SNOW,
         "terrain_shadow": TERRAIN_SHADOW}
SCL_NODATA, SCL_SHADOW, SCL_SNOW = 0, 3, 11
SCL_CLOUD = (8, 9, 10)
NOT_CLEAR = NODATA | CLOUD | CLOUD_SHADOW | SNOW  # terrain shadow is corrected, not masked


def disk(radius: int) -> np.ndarray:
    """A disk of ``radius`` pixels (bool, 2 * radius + 1 square), the structuring element of dilation."""
    r = np.arange(-radius, radius + 1)
    out: np.ndarray = (r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius
    return out


def scl_flags(scl: np.ndarray, mask_classes: Sequence[int], dilate_px: int) -> np.ndarray:
    """Quality flags (uint8, shape of ``scl``) of SCL images (..., y, x), terrain shadow not included.

    Args:
        scl: scene classification, one image per leading index.
        mask_classes: ``ard.mask_classes``; cloud and shadow flags cover the cloud classes and
            class 3 that are among them.
        dilate_px: radius (pixels) by which cloud and cloud shadow grow; 0: none.
    """
    from scipy import ndimage

    cloud_classes = [c for c in SCL_CLOUD if c in mask_classes]
    shadow_classes = [SCL_SHADOW] if SCL_SHADOW in mask_classes else []
    flat = scl.reshape(-1, *scl.shape[-2:])
    out = np.zeros(flat.shape, np.uint8)
    selem = disk(dilate_px) if dilate_px > 0 else None
    for i, img in enumerate(flat):
        nodata = img == SCL_NODATA
        cloud = np.isin(img, cloud_classes)
        shadow = np.isin(img, shadow_classes)
        if selem is not None:
            cloud = ndimage.binary_dilation(cloud, selem) & ~nodata
            shadow = ndimage.binary_dilation(shadow, selem) & ~nodata & ~cloud
        out[i] = (nodata * NODATA | cloud * CLOUD | shadow * CLOUD_SHADOW
                  | (img == SCL_SNOW) * SNOW).astype(np.uint8)
    return out.reshape(scl.shape)


def clear_mask(scl: xr.DataArray, mask_classes: Sequence[int], flags: xr.DataArray | None = None) -> xr.DataArray:
    """True where the SCL class is not in ``mask_classes`` and ``flags`` (if given) hold no NOT_CLEAR flag (lazy)."""
    clear = ~scl.isin(list(mask_classes))
    if flags is not None:
        clear = clear & ((flags & NOT_CLEAR) == 0)
    return clear


def apply_mask(reflectance: xr.DataArray, clear: xr.DataArray) -> xr.DataArray:
    """Set every band to NaN where a pixel is not clear or any band has no data.

    Args:
        reflectance: (time, band, y, x) float32.
        clear: (time, y, x) bool from :func:`clear_mask`.
    """
    ok = clear & reflectance.notnull().all("band")
    return reflectance.where(ok).astype("float32")


def fractions(quality: np.ndarray, clear: np.ndarray | None = None) -> dict[str, float]:
    """Shares of one scene's (or all scenes') pixels per flag, rounded to 6 digits.

    ``valid``: pixels with data; ``cloud``, ``cloud_shadow``, ``snow``, ``terrain_shadow``: of the
    valid pixels; ``clear``: of all pixels (``clear`` given: that mask, else no flag of NOT_CLEAR).
    """
    n = max(quality.size, 1)
    valid = (quality & NODATA) == 0
    nv = max(int(valid.sum()), 1)
    out = {"valid": round(float(valid.sum()) / n, 6)}
    for name in ("cloud", "cloud_shadow", "snow", "terrain_shadow"):
        out[name] = round(float(((quality & FLAGS[name]) != 0)[valid].sum()) / nv, 6)
    ok = clear if clear is not None else (quality & NOT_CLEAR) == 0
    out["clear"] = round(float(ok.sum()) / n, 6)
    return out
