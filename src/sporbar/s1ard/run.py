"""``sporbar s1-ard`` as a function: raw Sentinel-1 GRD items (+ a DEM item) and a tile -> the S1 ARD item.

Stated rules (recorded on the item):

* A scene that does not see the tile (outside its geolocation grid) is left out and named in
  ``sporbar:s1_uncovered_scenes``; a period none of whose scenes sees the tile has all-NaN
  statistics and 0 in ``sporbar:period_scenes``. Scenes dated in no period are not used.
* The lidar DTM's heights are orthometric (NN2000) and the geolocation grid's ellipsoidal
  (about 40 m apart in Norway): the DTM is raised by the geoid height of ``s1_ard.geoid``
  (a constant or a geoid model raster) before geocoding; the item records which.
* Without a DEM (``s1_ard.dem: none``, or a DEM with no value on the tile) the scene is
  geocoded on the ellipsoid from the geolocation grid and not terrain-flattened, whatever
  ``s1_ard.terrain_flattening`` says; ``sporbar:s1_processing`` says which was done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.bands import s1_band_names
from sporbar.config import GEOID_HELP, Config
from sporbar.errors import ConfigError, InputDataError
from sporbar.io import check_writable, sha256_multihash
from sporbar.raster import read_cog, read_on_grid, write_cog
from sporbar.s1ard.calibration import NOISE_FLOOR
from sporbar.s1ard.periods import period_statistics, to_db
from sporbar.s1ard.scene import S1ArdSettings, scene_backscatter
from sporbar.stac.items.lidar_products import raster_statistics
from sporbar.stac.items.s1_ard import asset_key, s1_ard_item
from sporbar.stac.record import RunContext, asset_path, read_input_item, read_item

log = logging.getLogger(__name__)

DEM_ASSET = "dtm"



def _dem(dem_item: Path | None, geobox: Any) -> tuple[np.ndarray | None, str]:
    """The DTM of the lidar products item on the tile (None where it has no value there), and the item id."""
    if dem_item is None:
        return None, "none"
    item = read_input_item(Path(dem_item), [DEM_ASSET])
    data = read_cog(asset_path(Path(dem_item), item, DEM_ASSET), geobox=geobox)[0][0].astype(np.float64)
    return (data if np.isfinite(data).any() else None), f"{item.id} ({DEM_ASSET}, lidar DTM)"


def geoid_heights(geoid: float | str, dem: np.ndarray, geobox: Any, source: str) -> tuple[np.ndarray | float, Any]:
    """The geoid height N on the tile (metres, ellipsoidal = orthometric + N) and its record.

    Args:
        geoid: ``s1_ard.geoid``: a constant N, or the path of a raster of N (any CRS).
        dem: the DTM on the tile (where N is needed).
        geobox: the tile grid.
        source: the config file, for messages.

    Raises:
        MissingInputError: the geoid raster does not exist.
        InputDataError: it cannot be read, or has no value where the DTM has one (names the file).
    """
    if isinstance(geoid, (int, float)):
        return float(geoid), {"geoid_height_m": float(geoid)}
    path = Path(geoid)
    n = read_on_grid(path, geobox, what=f"geoid model (s1_ard.geoid of {source})").astype(np.float64)
    gaps = np.isfinite(dem) & ~np.isfinite(n)
    if gaps.any():
        raise InputDataError(
            f"{path}: the geoid model has no value at {int(gaps.sum())} DTM pixel(s) of the tile "
            f"{tuple(round(v) for v in geobox.boundingbox)} ({geobox.crs}); give a model that covers the area"
        )
    ok = np.isfinite(n)
    return n, {"geoid_model": str(path), "file:checksum": sha256_multihash(path),
               "geoid_height_m_range": [round(float(n[ok].min()), 3), round(float(n[ok].max()), 3)]}


def run_s1_ard(
    cfg: Config,
    tile: str,
    scene_items: Sequence[Path],
    output: Path,
    *,
    dem_item: Path | None,
    ctx: RunContext,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Calibrate, geocode and summarise the Sentinel-1 scenes on ``tile``; write the COGs and the item.

    Args:
        cfg: the pipeline config (grid, ``ard.periods``, ``s1_ard``).
        tile: grid tile id.
        scene_items: raw Sentinel-1 GRD items (``raw/sentinel-1-grd/<scene>/item.json``).
        output: where to write the item; the COGs go beside it.
        dem_item: the tile's lidar products item (its ``dtm``), or None for ellipsoid geocoding.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        ConfigError: ``s1_ard.dem`` is ``lidar`` but no DEM item is given.
        MissingInputError: an item or a file it needs (measurement, calibration, noise) is missing.
        InputDataError: an input is not a dual-polarisation GRD item or a file is damaged.
        OutputExistsError: ``output`` exists and ``overwrite`` is False.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    section = cfg.data["s1_ard"]
    settings = S1ArdSettings.from_config(section)
    if section["dem"] == "lidar" and dem_item is None:
        raise ConfigError(f"{cfg.source}: s1_ard.dem is 'lidar' but no lidar products item was given for tile "
                          f"{tile}; pass --dem, or set s1_ard.dem: none (ellipsoid geocoding)")
    geobox = cfg.grid.geobox(tile)
    ny, nx = geobox.shape.yx
    dem, dem_name = _dem(dem_item, geobox)
    if dem_item is not None and dem is None:
        log.warning("s1-ard: DEM %s has no value on tile %s; ellipsoid geocoding", dem_item, tile)
    vertical: Any = "none"
    if dem is not None:
        if section.get("geoid") is None:
            raise ConfigError(f"{cfg.source}: key s1_ard/geoid: required with s1_ard.dem 'lidar': {GEOID_HELP}")
        n, vertical = geoid_heights(section["geoid"], dem, geobox, cfg.source)
        dem = dem + n  # ellipsoidal, as the geolocation grid
    raw = [(Path(p), read_item(Path(p))) for p in scene_items]
    periods = cfg.data["ard"]["periods"]
    folder = output.parent
    period_scenes: dict[str, int] = {}
    uncovered: list[str] = []
    stats: dict[str, dict[str, dict[str, float]]] = {}
    for p in periods:
        start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
        vv, vh = [], []
        for path, item in raw:
            when = item.datetime or item.common_metadata.start_datetime
            if when is None or not start <= when.date() <= end:
                continue
            pols, coverage = scene_backscatter(path, item, geobox, settings=settings, dem=dem)
            if not pols:
                log.warning("s1-ard: %s does not see tile %s; left out", item.id, tile)
                uncovered.append(item.id)
                continue
            log.info("s1-ard: %s sees %.0f%% of tile %s", item.id, 100 * coverage, tile)
            vv.append(to_db(pols["vv"]))
            vh.append(to_db(pols["vh"]))
        period_scenes[p["id"]] = len(vv)
        bands = period_statistics(vv, vh, (ny, nx))
        names = s1_band_names(p["id"])
        write_cog(folder / f"{asset_key(p['id'])}.tif", bands, geobox, nodata=float("nan"), band_names=names)
        stats[p["id"]] = {n: raster_statistics(b) for n, b in zip(names, bands, strict=True)}
    flattened = settings.terrain_flattening and dem is not None
    processing: dict[str, object] = {
        "calibration": "gamma0 (terrain-flattened from beta0)" if flattened else settings.calibration.value,
        "calibration_luts": "product calibration XML, bilinear over line/pixel (xarray-sentinel)",
        "noise_removal": ("range and azimuth noise LUTs, values <= 0 set to "
                          f"{NOISE_FLOOR:g}") if settings.noise_removal else "none",
        "terrain_flattening": "Ulander 1996 projection: gamma0 = beta0 * tan(local incidence)" if flattened
        else "none",
        "geocoding": ("geolocation grid + DEM terrain displacement (h * cot(incidence)), bilinear" if dem is not None
                      else "geolocation grid on the ellipsoid (no DEM), bilinear"),
        "dem": dem_name if dem is not None else "none",
        "dem_vertical": ({"from": "orthometric (lidar DTM)", "to": "ellipsoidal (geolocation grid)", **vertical}
                         if dem is not None else "none"),
        "speckle_filter": (f"{settings.speckle_filter} {settings.speckle_window}x{settings.speckle_window}"
                           if settings.speckle_filter != "none" else "none"),
        "units": "dB (10 log10 of linear backscatter); VH/VV = VH dB minus VV dB",
    }
    item = s1_ard_item(tile, geobox, periods=periods, band_statistics=stats, period_scenes=period_scenes,
                       processing=processing, uncovered=sorted(set(uncovered)))
    counts = ", ".join(f"{k}: {v}" for k, v in period_scenes.items())
    lineage = (
        f"Sentinel-1 GRD backscatter on tile {tile} ({geobox.crs}, {abs(float(geobox.affine.a)):g} m): "
        f"calibrated to {processing['calibration']} with the product LUTs, thermal noise "
        f"{'removed' if settings.noise_removal else 'kept'}, speckle filter {processing['speckle_filter']}, "
        f"geocoded by {processing['geocoding']}, terrain flattening {processing['terrain_flattening']}; "
        f"per period (scenes {counts}) the temporal mean and standard deviation of VV, VH and VH/VV in dB."
    )
    if uncovered:
        lineage += f" Scenes not seeing the tile (left out): {', '.join(sorted(set(uncovered)))}."
    inputs = [*scene_items, *([dem_item] if dem_item is not None else [])]
    return ctx.record(
        item,
        output,
        inputs=list(inputs),
        lineage=lineage,
        command="s1-ard",
        parameters={"tile": tile, "scenes": [str(p) for p in scene_items],
                    "dem": str(dem_item) if dem_item is not None else None, "output": str(output)},
    )
