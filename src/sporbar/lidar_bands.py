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

from sporbar.errors import ConfigError

#: single-band surface products: asset key = band name -> (description, unit)
SURFACES: dict[str, tuple[str, str]] = {
    "dtm": ("Digital terrain model: mean of the fine (TIN) DTM's cells, gaps filled from the nearest cell", "metre"),
    "dsm": ("Digital surface model: highest cell of the fine DSM (noise, withheld and unknown classes excluded)",
            "metre"),
    "chm": ("Canopy height model: highest cell of the fine pit-free CHM", "metre"),
    "density": ("Lidar point density (noise, withheld and unknown classes excluded)", "points per square metre"),
}
#: the fine (``lidar.resolution``) models: asset key = band name -> (description, unit)
FINE: dict[str, tuple[str, str]] = {
    "dtm_fine": ("Digital terrain model: linear interpolation in the triangulation (TIN) of the ground "
                 "returns", "metre"),
    "dsm_fine": ("Digital surface model: highest first return per cell, one-cell gaps filled, at least "
                 "DTM + CHM", "metre"),
    "chm_fine": ("Canopy height model, pit-free (stacked partial models after Khosravipour et al. 2014) "
                 "of the vegetation and ground first returns above the DTM", "metre"),
}
#: the terrain bands of the metrics asset, from the fine DTM
TERRAIN: dict[str, tuple[str, str]] = {
    "terrain_slope": ("Terrain slope: mean of the slopes of the fine DTM's cells in the grid cell", "degree"),
    "terrain_aspect": ("Terrain aspect: direction the mean downslope of the fine DTM faces, clockwise from "
                       "grid north (0 where flat)", "degree"),
}
#: the asset holding the area-based metrics, one band per metric
METRICS_ASSET = "metrics"
#: the derived features the feature builder computes from the DTM and DSM (not lidar item bands)
DERIVED: dict[str, str] = {
    "dsm_minus_dtm": "Surface minus terrain height from lidar",
    "slope": "Terrain slope from the lidar DTM",
}


def canopy_names(lidar: Mapping[str, Any]) -> list[str]:
    """Band names of the canopy metrics: ``h_p<N>`` per ``metrics.percentiles``, then h_max, h_mean, h_std, cover."""
    pcts = sorted(int(p) for p in lidar["metrics"]["percentiles"])
    return [*(f"h_p{p}" for p in pcts), "h_max", "h_mean", "h_std", "cover"]


def metric_names(lidar: Mapping[str, Any]) -> list[str]:
    """Band names of the metrics asset of the config's ``lidar`` section, in band order.

    The canopy metrics (:func:`canopy_names`), then ``terrain_slope`` and ``terrain_aspect``.
    """
    return [*canopy_names(lidar), *TERRAIN]


def describe(name: str, min_height: float | None = None) -> tuple[str, str] | None:
    """(description, unit) of a lidar band or derived feature, or None for a non-lidar name."""
    for table in (SURFACES, FINE, TERRAIN):
        if name in table:
            return table[name]
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


def fine_factor(res: float, fine_res: float, buffer: float | None = None) -> int:
    """How many fine cells per grid cell side.

    Raises:
        ConfigError: ``fine_res`` does not divide ``res``, or ``buffer`` is under 5 fine cells (the TIN
            interpolates across gaps narrower than the buffer less 3 cells).
    """
    k = round(res / fine_res)
    if k < 1 or abs(k * fine_res - res) > 1e-9 * res:
        raise ConfigError(f"lidar.resolution {fine_res:g} m must divide grid.resolution {res:g} m")
    if buffer is not None and buffer < 5 * fine_res:
        raise ConfigError(f"lidar.buffer {buffer:g} m must be at least 5 x lidar.resolution ({5 * fine_res:g} m): "
                          "the DTM interpolates across gaps in the ground narrower than the buffer less 3 cells")
    return k
