"""The item of a set of label polygons (collection ``labels-raw``), with the label extension."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pystac
from odc.geo.geom import box

from sporbar.stac import extensions as ext

LABEL_SCHEMA_URI = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ASSET = "labels"


def labels_item(
    area_name: str,
    data_href: str,
    *,
    crs: str,
    layer: str,
    bounds: tuple[float, float, float, float],
    class_column: str,
    class_names: Sequence[str],
    counts: Mapping[str, int],
    period: Mapping[str, str],
) -> pystac.Item:
    """The ``labels-raw`` item of the label polygons of area ``area_name``.

    Args:
        area_name: the config's area name (the item id is ``labels-<area_name>``).
        data_href: the GeoPackage, absolute or relative to the item.
        crs: the CRS of the polygons and of ``bounds`` (e.g. ``"EPSG:25833"``).
        layer: the GeoPackage layer that holds the polygons.
        bounds: (minx, miny, maxx, maxy) of the polygons in ``crs``.
        class_column: the column that holds the class names.
        class_names: every class of the config, in config order.
        counts: polygons per class name present, sorted by name.
        period: ``start_datetime``/``end_datetime`` of the survey.
    """
    minx, miny, maxx, maxy = bounds
    wgs84 = box(minx, miny, maxx, maxy, crs).to_crs("EPSG:4326")
    item = pystac.Item(
        id=f"labels-{area_name}",
        geometry=json.loads(json.dumps(wgs84.json)),  # plain lists, as in the file
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=None,
        properties={
            **period,
            "label:properties": [class_column],
            "label:description": f"Field-mapped land-ecology reference polygons for area {area_name}",
            "label:type": "vector",
            "label:tasks": ["classification"],
            "label:classes": [{"name": class_column, "classes": list(class_names)}],
            "label:overviews": [
                {"property_key": class_column, "counts": [{"name": k, "count": v} for k, v in counts.items()]}
            ],
            "proj:code": crs,
            "proj:bbox": [round(v, 2) for v in (minx, miny, maxx, maxy)],
            "sporbar:class_counts": dict(counts),
        },
        # No "collection" field (it needs a collection link, which record_item does not write):
        # `sporbar publish` sets ext.COLLECTION_LABELS_RAW from the item path.
        stac_extensions=[LABEL_SCHEMA_URI, ext.PROJECTION_SCHEMA_URI],
    )
    item.add_asset(
        ASSET,
        pystac.Asset(
            href=data_href,
            media_type=ext.GEOPACKAGE,
            roles=["labels", "data"],
            title=f"Label polygons (layer {layer!r}, {crs}, class column {class_column!r})",
        ),
    )
    return item
