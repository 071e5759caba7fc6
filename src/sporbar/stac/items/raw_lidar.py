"""The raw item of one delivered airborne lidar tile (collection ``lidar-raw``), from its LAS header."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import laspy
import pyproj
import pystac
from odc.geo.geom import box

from sporbar.las import LidarCrs
from sporbar.stac import extensions as ext

POINTCLOUD_SCHEMA_URI = "https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json"
ASSET = "data"
#: the file's vertical CRS (name, and ``EPSG:<n>`` when it has one), when the file states one
VERTICAL_CRS = ext.SPORBAR_PREFIX + "vertical_crs"
#: where the CRS came from: ``file`` (its WKT/GeoTIFF VLRs) or ``sources.lidar.epsg`` (the file has none)
CRS_SOURCE = ext.SPORBAR_PREFIX + "crs_source"
#: metres per z unit (1 for metres; 0.3048... for feet)
Z_TO_METRES = ext.SPORBAR_PREFIX + "z_to_metres"

_KIND = {
    "SignedInteger": "signed",
    "UnsignedInteger": "unsigned",
    "FloatingPoint": "floating",
    "BitField": "unsigned",
}


def pc_schemas(header: laspy.LasHeader) -> list[dict[str, Any]]:
    """``pc:schemas``: the point dimensions; X/Y/Z as scaled doubles, as PDAL reports them."""
    out = []
    for d in header.point_format.dimensions:
        if d.name in ("X", "Y", "Z"):
            out.append({"name": d.name, "size": 8, "type": "floating"})
        else:
            out.append({"name": d.name, "size": max(1, d.num_bits // 8), "type": _KIND[d.kind.name]})
    return out


def pc_statistics(header: laspy.LasHeader) -> list[dict[str, Any]]:
    """``pc:statistics`` from the header: coordinate ranges and counts per return number."""
    stats: list[dict[str, Any]] = [
        {"name": n, "position": i, "minimum": round(float(lo), 3), "maximum": round(float(hi), 3)}
        for i, (n, lo, hi) in enumerate(zip("XYZ", header.mins, header.maxs, strict=True))
    ]
    by_return = [int(c) for c in header.number_of_points_by_return]
    stats += [
        {"name": f"return_number={r}", "count": c, "minimum": r, "maximum": r}
        for r, c in enumerate(by_return, start=1)
        if c
    ]
    return stats


def _crs_text(crs: pyproj.CRS) -> str:
    code = crs.to_epsg()
    return f"{crs.name} (EPSG:{code})" if code else str(crs.name)


def raw_lidar_item(
    lidar_tile: str, header: laspy.LasHeader, data_href: str, *, crs: LidarCrs, acquired: datetime
) -> pystac.Item:
    """The ``lidar-raw`` item of one LAS/LAZ file (before provenance is recorded).

    Args:
        lidar_tile: the delivered tile id (``lidar_<x0>_<y0>``): the item id.
        header: the file's LAS header (its points are never read).
        data_href: the file, absolute or relative to the item.
        crs: the file's own CRS (``sporbar.las.lidar_crs``): ``proj:code`` (or ``proj:wkt2`` when
            it has no EPSG code), the CRS of ``proj:bbox`` and of the footprint's source box.
        acquired: the acquisition time: the item datetime.
    """
    minx, miny = float(header.mins[0]), float(header.mins[1])
    maxx, maxy = float(header.maxs[0]), float(header.maxs[1])
    wgs84 = box(minx, miny, maxx, maxy, crs.horizontal).to_crs("EPSG:4326")
    geometry = json.loads(json.dumps(wgs84.json))  # plain lists, as in the file
    unit = float(crs.horizontal.axis_info[0].unit_conversion_factor)  # metres per x/y unit
    area = max((maxx - minx) * (maxy - miny) * unit * unit, 1e-9)  # m2: pc:density is per m2
    item = pystac.Item(
        id=lidar_tile,
        geometry=geometry,
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=acquired,
        properties={
            "pc:count": int(header.point_count),
            "pc:type": "lidar",
            "pc:encoding": "LASzip" if header.are_points_compressed else "binary",
            "pc:density": round(header.point_count / area, 3),
            "pc:schemas": pc_schemas(header),
            "pc:statistics": pc_statistics(header),
            "proj:code": crs.code,
            **({} if crs.code else {"proj:wkt2": crs.horizontal.to_wkt()}),
            "proj:bbox": [round(v, 2) for v in (minx, miny, maxx, maxy)],
            CRS_SOURCE: "sources.lidar.epsg" if crs.stated else "file",
            Z_TO_METRES: crs.z_to_metres,
            **({VERTICAL_CRS: _crs_text(crs.vertical)} if crs.vertical is not None else {}),
        },
        # No "collection" field (it needs a collection link, which record_item does not write):
        # `sporbar publish` sets ext.COLLECTION_LIDAR_RAW from the item path.
        stac_extensions=[POINTCLOUD_SCHEMA_URI, ext.PROJECTION_SCHEMA_URI],
    )
    item.add_asset(
        ASSET,
        pystac.Asset(
            href=data_href,
            media_type=ext.LAZ,
            title=f"Airborne lidar point cloud {lidar_tile} (LAS {header.version}, point format "
            f"{header.point_format.id}, LASzip)",
            roles=["data"],
        ),
    )
    return item
