"""Names, units and meanings of the lidar product bands: one definition for every stage.

The lidar stage writes them (band descriptions in the COGs, core ``bands`` names and
``raster:bands`` on the item), the feature builder reads lidar features by these names from
the item, and the model item describes its inputs with :func:`describe`. A metric added to
the config (``lidar.metrics``) thus flows to the features and the MLM input spec without
code per feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: single-band surface products: asset key = band name -> (description, unit)
SURFACES: dict[str, tuple[str, str]] = {
    "dtm": (
        "Digital terrain model: mean height of ground and water returns, gaps filled from the nearest cell",
        "metre",
    ),
    "dsm": ("Digital surface model: highest first return (noise, withheld and unknown classes excluded)", "metre"),
    "chm": ("Canopy height model: highest vegetation return above the DTM", "metre"),
    "density": ("Lidar point density (noise, withheld and unknown classes excluded)", "points per square metre"),
}
#: the asset holding the area-based metrics, one band per metric
METRICS_ASSET = "metrics"
#: the derived features the feature builder computes from the DTM and DSM (not lidar item bands)
DERIVED: dict[str, str] = {
    "dsm_minus_dtm": "Surface minus terrain height from lidar",
    "slope": "Terrain slope from the lidar DTM",
}


def metric_names(lidar: Mapping[str, Any]) -> list[str]:
    """Band names of the area-based metrics of the config's ``lidar`` section, in band order.

    ``h_p<N>`` per ``metrics.percentiles``, then ``h_max``, ``h_mean``, ``h_std`` and ``cover``.
    """
    pcts = sorted(int(p) for p in lidar["metrics"]["percentiles"])
    return [*(f"h_p{p}" for p in pcts), "h_max", "h_mean", "h_std", "cover"]


def describe(name: str, min_height: float | None = None) -> tuple[str, str] | None:
    """(description, unit) of a lidar band or derived feature, or None for a non-lidar name."""
    if name in SURFACES:
        return SURFACES[name]
    if name in DERIVED:
        return DERIVED[name], "degree" if name == "slope" else "metre"
    above = (f"first returns more than {min_height:g} m above the terrain" if min_height is not None
             else "first returns above lidar.metrics.min_height")
    if name.startswith("h_p") and name[3:].isdigit():
        return f"{name[3:]}th percentile of the heights of {above} (0 where none)", "metre"
    texts = {
        "h_max": f"Highest of the heights of {above} (0 where none)",
        "h_mean": f"Mean height of {above} (0 where none)",
        "h_std": f"Standard deviation of the heights of {above} (0 where none)",
        "cover": f"Canopy cover: {above} as a share of all first returns (0..1)",
    }
    if name in texts:
        return texts[name], "1" if name == "cover" else "metre"
    return None
