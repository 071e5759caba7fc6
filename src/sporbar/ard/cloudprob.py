"""Cloud probability and cloud mask from ``s2cloudless`` (Sentinel Hub's LightGBM pixel classifier).

The model ships in the ``s2cloudless`` wheel (``pixel_s2_cloud_detector_lightGBM_v0.1.txt``); it
reads ten bands of top-of-atmosphere reflectance (0..1), :data:`MODEL_BANDS`. A scene is
averaged in blocks to the processing resolution (``ard.mask.s2cloudless.resolution``; the model
was trained on coarse pixels and the blocks make it cheap), classified, and its probability turned
into a mask as ``s2cloudless`` does it: the probability averaged over a disk of ``average_over``
pixels, above ``threshold``, dilated by a disk of ``dilation`` pixels (all at the processing
resolution). Probability and mask then go back onto the grid by pixel repetition.

Level-2A products have no B10 (cirrus, absorbed by water vapour before the ground): for them the
model gets B10 = 0 and bottom-of-atmosphere reflectance, an approximation the item records.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

# the ten bands the model reads, in its order (s2cloudless.utils.MODEL_BANDS)
MODEL_BANDS: tuple[str, ...] = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
CIRRUS = "B10"
MODEL_FILE = "pixel_s2_cloud_detector_lightGBM_v0.1.txt"
L2A_RULE = ("Level-2A products have no B10 (cirrus): the model reads their bottom-of-atmosphere reflectance "
            "with B10 = 0")


@cache
def _detector(threshold: float, average_over: int, dilation: int) -> Any:
    from s2cloudless.cloud_detector import S2PixelCloudDetector

    return S2PixelCloudDetector(threshold=threshold, all_bands=False,
                                average_over=average_over or None, dilation_size=dilation or None)


def model_version() -> str:
    """``s2cloudless <version>, model <file>``: what the item records as the classifier."""
    from importlib.metadata import version

    return f"s2cloudless {version('s2cloudless')}, model {MODEL_FILE}"


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor`` x ``factor`` blocks of (..., y, x), NaN ignored (all NaN: NaN); edges padded."""
    if factor == 1:
        return image
    ny, nx = image.shape[-2:]
    py, px = -ny % factor, -nx % factor
    pad = [(0, 0)] * (image.ndim - 2) + [(0, py), (0, px)]
    padded = np.pad(image, pad, mode="edge")
    shape = (*image.shape[:-2], (ny + py) // factor, factor, (nx + px) // factor, factor)
    blocks = padded.reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN block is NaN, as meant
        out: np.ndarray = np.nanmean(blocks, axis=(-3, -1))
    return out


def repeat_to(coarse: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """``coarse`` (..., y, x) back onto the grid: each pixel repeated ``factor`` times, cropped to ``shape``."""
    if factor == 1:
        return coarse
    out: np.ndarray = np.repeat(np.repeat(coarse, factor, axis=-2), factor, axis=-1)
    return out[..., : shape[0], : shape[1]]


def probability(toa: np.ndarray) -> np.ndarray:
    """Cloud probability (n, y, x) float32 of (n, band, y, x) reflectance in :data:`MODEL_BANDS` order.

    NaN (no data) is classified as 0 reflectance; the caller masks no-data pixels itself.
    """
    det = _detector(0.4, 0, 0)
    data = np.nan_to_num(np.moveaxis(toa, 1, -1).astype(np.float32), nan=0.0)
    prob: np.ndarray = det.get_cloud_probability_maps(data, num_threads=1).astype(np.float32)
    return prob


def mask_from_probability(prob: np.ndarray, threshold: float, average_over: int, dilation: int) -> np.ndarray:
    """Cloud mask (n, y, x) bool of a probability (n, y, x), as ``s2cloudless`` makes it.

    Args:
        prob: cloud probability, 0..1.
        threshold: a pixel is cloud where its (averaged) probability is above it.
        average_over: radius (pixels) of the disk the probability is averaged over; 0: none.
        dilation: radius (pixels) of the disk the mask grows by; 0: none.
    """
    masks: np.ndarray = _detector(float(threshold), int(average_over), int(dilation)).get_mask_from_prob(
        np.ascontiguousarray(prob, dtype=np.float32))
    return masks.astype(bool)


def cloud_mask(toa: np.ndarray, factor: int, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(probability, mask) of (n, band, y, x) reflectance on the grid, classified at ``factor`` x the grid pixel.

    Args:
        toa: reflectance in :data:`MODEL_BANDS` order, NaN where no data.
        factor: processing pixel / grid pixel (an integer >= 1).
        params: ``ard.mask.s2cloudless`` (``threshold``, ``average_over``, ``dilation``).

    Returns:
        float32 probability and bool mask, each (n, y, x) on the grid.
    """
    shape = toa.shape[-2:]
    prob = probability(block_mean(toa, factor))
    mask = mask_from_probability(prob, params["threshold"], params["average_over"], params["dilation"])
    return repeat_to(prob, factor, shape), repeat_to(mask, factor, shape)
