"""Where and when an item is: the footprint of grid tiles and the span of the ARD periods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import pystac
from odc.geo.geom import BoundingBox

from sporbar.grid import NationalGrid


def period_span(periods: Sequence[Mapping[str, str]]) -> tuple[datetime, datetime]:
    """Start of the first and end of the last of the ``ard.periods`` entries (UTC).

    Args:
        periods: ``ard.periods`` config entries (``start``/``end`` ISO dates, inclusive).

    Returns:
        (first day at 00:00:00, last day at 23:59:59), timezone UTC.
    """
    start = min(date.fromisoformat(p["start"]) for p in periods)
    end = max(date.fromisoformat(p["end"]) for p in periods)
    return datetime.combine(start, time.min, UTC), datetime.combine(end, time(23, 59, 59), UTC)


def tiles_bbox_wgs84(grid: NationalGrid, tiles: Sequence[str]) -> list[float]:
    """Union bbox (lon/lat, EPSG:4326, 7 decimals) of grid tiles."""
    boxes = [grid.geobox(t).extent.to_crs("EPSG:4326").boundingbox for t in tiles]
    b = BoundingBox(
        min(x.left for x in boxes),
        min(x.bottom for x in boxes),
        max(x.right for x in boxes),
        max(x.top for x in boxes),
    )
    return [round(v, 7) for v in (b.left, b.bottom, b.right, b.top)]


def bbox_polygon(bbox: Sequence[float]) -> dict[str, Any]:
    """GeoJSON polygon of a bbox (west, south, east, north)."""
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def spanning_item(item_id: str, bbox: Sequence[float], start: datetime, end: datetime) -> pystac.Item:
    """An item over a lon/lat ``bbox`` (its polygon is the geometry) from ``start`` to ``end``.

    No ``datetime`` and no ``collection`` field: ``record_item`` writes no collection link,
    which the core schema requires with it; ``sporbar publish`` sets the collection from the path.
    """
    return pystac.Item(
        id=item_id,
        geometry=bbox_polygon(bbox),
        bbox=list(bbox),
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={},
    )
