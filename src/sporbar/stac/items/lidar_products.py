"""The STAC item of one tile's lidar products (collection ``lidar-products``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pystac
from odc.geo.geobox import GeoBox

from sporbar.lidar_bands import FINE, METRICS_ASSET, SURFACES, describe
from sporbar.stac import extensions as ext

RASTER_SCHEMA_URI = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
POINT_COUNT = ext.SPORBAR_PREFIX + "point_count"
#: ids of the raw lidar items whose LAZ file holds no point (present only when there are any)
EMPTY_INPUTS = ext.SPORBAR_PREFIX + "empty_inputs"

#: the ground filter's run: method, parameters, and per classified file its ground share before and after
GROUND_CLASSIFICATION = ext.SPORBAR_PREFIX + "ground_classification"

#: points left out of every product: {"noise": n, "withheld": n, "unknown_classes": {"<code>": n}}
EXCLUDED_POINTS = ext.SPORBAR_PREFIX + "excluded_points"


def item_period(items: Sequence[pystac.Item]) -> tuple[datetime | None, dict[str, str]]:
    """``datetime`` if all inputs share one, else the ``start_/end_datetime`` spanning them."""
    starts, ends = [], []
    for it in items:
        if it.datetime is not None:
            starts.append(it.datetime)
            ends.append(it.datetime)
        else:
            starts.append(pystac.utils.str_to_datetime(it.properties["start_datetime"]))
            ends.append(pystac.utils.str_to_datetime(it.properties["end_datetime"]))
    if len(set(starts)) == 1 and starts == ends:
        return starts[0], {}
    fmt = pystac.utils.datetime_to_str
    return None, {"start_datetime": fmt(min(starts)), "end_datetime": fmt(max(ends))}


def raster_statistics(a: np.ndarray) -> dict[str, float]:
    """``raster:bands`` statistics of an array (NaN = no data), rounded to 3 decimals."""
    v = a[np.isfinite(a)]
    if v.size == 0:
        return {"valid_percent": 0.0}
    return {
        "minimum": round(float(v.min()), 3),
        "maximum": round(float(v.max()), 3),
        "mean": round(float(v.mean()), 3),
        "stddev": round(float(v.std()), 3),
        "valid_percent": round(100.0 * v.size / a.size, 3),
    }


class RunningStatistics:
    """:func:`raster_statistics` of a raster seen part by part (a product written in blocks)."""

    def __init__(self) -> None:
        """No value seen yet."""
        self.n = self.cells = 0
        self.total = self.squares = 0.0
        self.low, self.high = np.inf, -np.inf

    def add(self, a: np.ndarray) -> None:
        """Take in one part (NaN = no data)."""
        v = a[np.isfinite(a)].astype(np.float64)
        self.cells += a.size
        if v.size:
            self.n += v.size
            self.total += float(v.sum())
            self.squares += float((v * v).sum())
            self.low, self.high = min(self.low, float(v.min())), max(self.high, float(v.max()))

    def result(self) -> dict[str, float]:
        """The statistics, as :func:`raster_statistics` gives them."""
        if self.n == 0:
            return {"valid_percent": 0.0}
        mean = self.total / self.n
        return {
            "minimum": round(self.low, 3),
            "maximum": round(self.high, 3),
            "mean": round(mean, 3),
            "stddev": round(max(self.squares / self.n - mean * mean, 0.0) ** 0.5, 3),
            "valid_percent": round(100.0 * self.n / self.cells, 3),
        }


def lidar_products_item(
    tile: str,
    geobox: GeoBox,
    *,
    statistics: Mapping[str, Mapping[str, float]],
    metric_statistics: Mapping[str, Mapping[str, float]],
    min_height: float,
    point_count: int,
    excluded: Mapping[str, object],
    raw: Sequence[pystac.Item],
    empty_inputs: Sequence[str] = (),
    fine_geobox: GeoBox | None = None,
    fine_statistics: Mapping[str, Mapping[str, float]] | None = None,
    ground_classification: Mapping[str, object] | None = None,
) -> pystac.Item:
    """The ``lidar-products`` item of a tile (assets ``./<product>.tif``), before provenance.

    Every band is named (core STAC 1.1 ``bands``: name and description) and described in
    ``raster:bands``, so the feature builder finds lidar features by name.

    Args:
        tile: grid tile id.
        geobox: the tile grid.
        statistics: surface key (``dtm``, ``dsm``, ``chm``, ``density``, in asset order) ->
            its :func:`raster_statistics`.
        metric_statistics: metric band name (in band order of ``metrics.tif``) -> its statistics.
        min_height: ``lidar.metrics.min_height`` (for the band descriptions).
        point_count: points gridded onto the tile (excluded points not counted).
        excluded: points left out, by reason (``sporbar:excluded_points``).
        raw: the raw lidar items (their time becomes the item's).
        empty_inputs: ids of raw items whose LAZ holds no point (``sporbar:empty_inputs``).
        fine_geobox: the grid of the fine models (their assets carry its ``proj:shape`` and transform).
        fine_statistics: fine model key (``dtm_fine``...) -> its statistics.
        ground_classification: the ground filter's run (``sporbar:ground_classification``), if any file needed it.

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    wgs84 = geobox.extent.to_crs("EPSG:4326")
    when, period = item_period(raw)
    properties: dict[str, object] = {
        **period,
        "proj:code": str(geobox.crs),
        "proj:shape": list(geobox.shape.yx),
        "proj:transform": [float(v) for v in geobox.affine[:6]],
        "sporbar:tile": tile,
        POINT_COUNT: point_count,
        EXCLUDED_POINTS: dict(excluded),
    }
    if empty_inputs:
        properties[EMPTY_INPUTS] = sorted(empty_inputs)
    if ground_classification:
        properties[GROUND_CLASSIFICATION] = dict(ground_classification)
    item = pystac.Item(
        id=f"lidar-products-{tile}",
        geometry=json.loads(json.dumps(wgs84.json)),  # plain lists, as in the file
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=when,
        properties=properties,
        # No "collection" field (it needs a collection link, which record_item does not write):
        # `sporbar publish` sets ext.COLLECTION_LIDAR_PRODUCTS from the item path.
        stac_extensions=[ext.PROJECTION_SCHEMA_URI, RASTER_SCHEMA_URI],
    )
    res = abs(float(geobox.affine.a))

    def band(name: str, stats: Mapping[str, float]) -> tuple[dict[str, object], dict[str, object]]:
        text, unit = describe(name, min_height) or (name, "")
        raster = {"data_type": "float32", "nodata": "nan", "unit": unit, "spatial_resolution": res,
                  "statistics": dict(stats)}
        return {"name": name, "description": text}, raster

    for key, stats in statistics.items():
        core, raster = band(key, stats)
        item.add_asset(key, pystac.Asset(
            href=f"./{key}.tif", media_type=ext.COG, title=SURFACES[key][0], roles=["data"],
            extra_fields={"bands": [core], "raster:bands": [raster]},
        ))
    for key, stats in (fine_statistics or {}).items():
        assert fine_geobox is not None
        core, raster = band(key, stats)
        raster["spatial_resolution"] = abs(float(fine_geobox.affine.a))
        item.add_asset(key, pystac.Asset(
            href=f"./{key}.tif", media_type=ext.COG, title=FINE[key][0], roles=["data"],
            extra_fields={"bands": [core], "raster:bands": [raster], "proj:shape": list(fine_geobox.shape.yx),
                          "proj:transform": [float(v) for v in fine_geobox.affine[:6]]},
        ))
    bands = [band(name, stats) for name, stats in metric_statistics.items()]
    item.add_asset(METRICS_ASSET, pystac.Asset(
        href=f"./{METRICS_ASSET}.tif", media_type=ext.COG, roles=["data"],
        title=f"Area-based forest metrics from first returns ({', '.join(metric_statistics)})",
        extra_fields={"bands": [c for c, _ in bands], "raster:bands": [r for _, r in bands]},
    ))
    return item
