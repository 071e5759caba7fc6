"""The STAC item of one tile's Sentinel-1 backscatter ARD (collection ``sentinel-1-ard``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pystac
from odc.geo.geobox import GeoBox
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension

from sporbar.stac import extensions as ext
from sporbar.stac.items.ard import PERIOD_SCENES
from sporbar.stac.items.extent import period_span
from sporbar.stac.items.lidar_products import RASTER_SCHEMA_URI

#: what was done, step by step: calibration, noise_removal, terrain_flattening, geocoding, dem, speckle_filter
S1_PROCESSING = ext.SPORBAR_PREFIX + "s1_processing"
#: raw scenes of a period that do not see the tile (left out by rule; present only when there are any)
UNCOVERED_SCENES = ext.SPORBAR_PREFIX + "s1_uncovered_scenes"
BACKSCATTER_ASSET = "backscatter"

_MEANINGS = {
    "vv": "VV backscatter", "vh": "VH backscatter", "vhvv": "VH/VV ratio (VH minus VV in dB)",
}
_STATS = {"mean": "temporal mean", "std": "temporal standard deviation"}


def asset_key(period: str) -> str:
    """The asset of a period's backscatter statistics, e.g. ``backscatter-early``."""
    return f"{BACKSCATTER_ASSET}-{period}"


def s1_ard_item(
    tile: str,
    geobox: GeoBox,
    *,
    periods: Sequence[Mapping[str, str]],
    band_statistics: Mapping[str, Mapping[str, Mapping[str, float]]],
    period_scenes: Mapping[str, int],
    processing: Mapping[str, object],
    uncovered: Sequence[str] = (),
) -> pystac.Item:
    """The ``sentinel-1-ard`` item of a tile (assets ``./backscatter-<period>.tif``), before provenance.

    Args:
        tile: grid tile id.
        geobox: the tile grid.
        periods: ``ard.periods`` (id, start, end): the item spans them.
        band_statistics: period -> band name (``<period>_<vv|vh|vhvv>_<mean|std>``, file order)
            -> its ``raster:bands`` statistics.
        period_scenes: period -> number of scenes that saw the tile (``sporbar:period_scenes``).
        processing: the steps done (``sporbar:s1_processing``).
        uncovered: ids of raw scenes of the periods that do not see the tile.

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    wgs84 = geobox.extent.to_crs("EPSG:4326")
    start, end = period_span(periods)
    properties: dict[str, object] = {
        "start_datetime": pystac.utils.datetime_to_str(start),
        "end_datetime": pystac.utils.datetime_to_str(end),
        "proj:code": str(geobox.crs),
        "proj:shape": list(geobox.shape.yx),
        "proj:transform": [float(v) for v in geobox.affine[:6]],
        "sporbar:tile": tile,
        PERIOD_SCENES: dict(period_scenes),
        S1_PROCESSING: dict(processing),
    }
    if uncovered:
        properties[UNCOVERED_SCENES] = sorted(uncovered)
    item = pystac.Item(
        id=f"s1-ard-{tile}",
        geometry=json.loads(json.dumps(wgs84.json)),
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=None,
        properties=properties,
        stac_extensions=[ext.PROJECTION_SCHEMA_URI, RASTER_SCHEMA_URI],
    )
    sar = SarExtension.ext(item, add_if_missing=True)
    sar.instrument_mode = "IW"
    sar.frequency_band = FrequencyBand.C
    sar.polarizations = [Polarization.VV, Polarization.VH]
    sar.product_type = "GRD"
    res = abs(float(geobox.affine.a))
    for p in periods:
        pid = p["id"]
        core, raster = [], []
        for name, stats in band_statistics[pid].items():
            q, s = name.removeprefix(f"{pid}_").split("_")
            core.append({"name": name, "description": f"{_MEANINGS[q]}, {_STATS[s]} over the scenes of period "
                                                      f"{pid} ({p['start']}..{p['end']}), dB"})
            raster.append({"data_type": "float32", "nodata": "nan", "unit": "dB", "spatial_resolution": res,
                           "statistics": dict(stats)})
        n = period_scenes.get(pid, 0)
        item.add_asset(asset_key(pid), pystac.Asset(
            href=f"./{asset_key(pid)}.tif", media_type=ext.COG, roles=["data"],
            title=f"Sentinel-1 backscatter statistics, period {pid} ({n} scene(s)"
                  + (": no scene sees the tile, all NaN)" if n == 0 else ")"),
            extra_fields={"bands": core, "raster:bands": raster},
        ))
    return item
