"""The ARD item's per-pixel quality asset (one band of bit flags per scene) and its fractions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.ard.composite import Period
from sporbar.ard.load import Scene
from sporbar.ard.mask import FLAGS, fractions
from sporbar.raster import write_cog
from sporbar.stac import extensions as ext

QUALITY_PROPERTY = ext.SPORBAR_PREFIX + "quality"


def write_quality(path: Path, flags: np.ndarray, geobox: GeoBox, scenes: Sequence[Scene]) -> Path:
    """Write the (time, y, x) uint8 flags as a COG with one band per scene (named by scene id)."""
    return write_cog(path, flags.astype(np.uint8), geobox, nodata=None, band_names=[s.id for s in scenes])


def period_clear_shares(clear_counts: Mapping[str, Path]) -> dict[str, float]:
    """Per period, the share of the tile's pixels with at least one clear observation.

    Args:
        clear_counts: period id -> its ``clear-<period>.tif`` (count of clear observations).

    Returns:
        0 for a period without scenes, and for one whose every observation is masked (cloud,
        shadow, snow, no data or a masked SCL class).
    """
    from sporbar.raster import read_cog

    out = {}
    for pid, path in clear_counts.items():
        counts, _ = read_cog(path)
        out[pid] = round(float((counts[0] > 0).mean()), 6)
    return out


def quality_record(
    flags: np.ndarray,
    scenes: Sequence[Scene],
    periods: Sequence[Period],
    members: Sequence[np.ndarray],
    rules: Mapping[str, Any],
    period_clear: Mapping[str, float],
) -> dict[str, Any]:
    """The item's ``sporbar:quality``: the flag bits, the masking rules, fractions per scene and in all.

    Args:
        flags: (time, y, x) quality flags as written to the ``quality`` asset.
        scenes: the scenes, in time order.
        periods: the compositing periods.
        members: per period, a bool mask over time (scenes in it).
        rules: the masking method and its parameters
            (:meth:`sporbar.ard.masking.MaskSettings.record`).
        period_clear: :func:`period_clear_shares`.
    """
    snow_counts = {p.id: int(((flags[m] & FLAGS["snow"]) != 0).sum()) for p, m in zip(periods, members, strict=True)}
    return {
        "flags": dict(FLAGS),
        "rules": {
            **rules,
            "terrain_shadow": "cos(i) <= 0 from the DEM and the sun angles; flagged, corrected, not masked",
        },
        "all": fractions(flags),
        "period_clear": dict(period_clear),
        "snow_observations": snow_counts,
        "scenes": {s.id: fractions(flags[i]) for i, s in enumerate(scenes)},
    }
