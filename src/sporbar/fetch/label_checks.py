"""Checks of label polygons beyond their columns: CRS range, valid polygons, overlap with the area.

``read_labels``, the label fetch and the preflight (``sporbar check-config``, the Snakemake
parse) use them, so a bad file fails before any job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from sporbar.errors import InputDataError

# Valid coordinates of a geographic CRS (longitude, latitude; degrees).
GEOGRAPHIC_RANGE = (-180.0, -90.0, 180.0, 90.0)


def check_coordinate_range(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse coordinates outside what the file's (geographic) CRS can hold: metres declared as degrees.

    Raises:
        InputDataError: a geographic CRS with longitudes beyond +-180 or latitudes beyond +-90.
    """
    if gdf.crs is None or not gdf.crs.is_geographic or len(gdf) == 0:
        return
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    x0, y0, x1, y1 = GEOGRAPHIC_RANGE
    if minx < x0 or maxx > x1 or miny < y0 or maxy > y1:
        raise InputDataError(
            f"{path}: coordinates span {[round(v, 1) for v in (minx, miny, maxx, maxy)]}, outside the "
            f"longitude/latitude range of its CRS {gdf.crs.to_string()} ({list(GEOGRAPHIC_RANGE)}): the file "
            "is probably in metres (e.g. EPSG:25833) with the wrong CRS; assign the right one"
        )


def check_valid(gdf: gpd.GeoDataFrame, path: Path, *, repair: bool) -> gpd.GeoDataFrame:
    """Refuse invalid polygons (self-intersections...), or repair them with ``make_valid``.

    Args:
        gdf: the label polygons.
        path: the label file, for the message.
        repair: ``sources.labels.make_valid``: repair instead of refusing.

    Returns:
        ``gdf``, with invalid polygons replaced by the polygon parts of their repair.

    Raises:
        InputDataError: invalid polygons and no ``repair``; or a repair left nothing polygonal.
    """
    invalid = ~gdf.geometry.is_valid
    if not invalid.any():
        return gdf
    n = int(invalid.sum())
    if not repair:
        first = gdf.index[invalid.to_numpy()][0]
        reason = shapely.is_valid_reason(gdf.geometry[first])
        raise InputDataError(
            f"{path}: {n} of {len(gdf)} label polygons are invalid (e.g. feature {first}: {reason}); "
            "repair them (e.g. QGIS 'Fix geometries') or set sources.labels.make_valid: true to repair "
            "them with make_valid"
        )
    fixed = gdf.geometry.copy()
    fixed[invalid] = [_polygon_parts(g) for g in shapely.make_valid(gdf.geometry[invalid].to_numpy())]
    empty = fixed.is_empty
    if empty.any():
        raise InputDataError(f"{path}: {int(empty.sum())} invalid label polygons have no area once repaired")
    out = gdf.copy()
    out[gdf.geometry.name] = fixed
    return out


def _polygon_parts(geom: Any) -> Any:
    """The polygon parts of a repaired geometry (make_valid may add the lines of a bow-tie's knot)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def check_overlaps_area(gdf: gpd.GeoDataFrame, area: dict[str, Any], path: Path) -> None:
    """Refuse labels that miss the area (e.g. another region's file, or swapped axes).

    Args:
        gdf: the label polygons in the grid CRS (EPSG:25833).
        area: the config's ``area`` section (name, bbox).
        path: the label file, for the message.

    Raises:
        InputDataError: no polygon intersects the area bbox.
    """
    if not gdf.geometry.intersects(shapely.box(*area["bbox"])).any():
        b = [round(float(v), 1) for v in gdf.total_bounds]
        raise InputDataError(
            f"{path}: no label polygon intersects area {area['name']!r} bbox {area['bbox']} "
            f"(labels cover {b} in {gdf.crs.to_string() if gdf.crs else 'no CRS'}); check the file or area.bbox"
        )
