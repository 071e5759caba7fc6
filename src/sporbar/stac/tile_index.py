"""A tile index per map product: one feature per map tile, as a GIS layer (GeoPackage, FlatGeobuf).

What a delivery's users open first in QGIS or ArcGIS, and what the directorate's download
portal lists: the footprint of each tile on the national grid with its item id, version,
period, licence, accuracy (the map's area-adjusted overall accuracy and CI) and the href of
its class-map COG. ``sporbar publish`` writes it
into the collection's folder of the static catalog, beside ``collection.json``, and the
collection lists both files as assets (role ``tile-index``), so it is served next to the
data and checked by ``sporbar verify`` like any other asset of the catalog.

Hrefs in the layer are relative to the layer's own folder (as STAC's are), so the catalog
folder can be moved or served as it is.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
from shapely.geometry import box, shape

from sporbar.io import sha256_multihash_of
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import relative_href
from sporbar.vector import write_flatgeobuf, write_geopackage

TILE_INDEX_ROLE: Final = "tile-index"
TILE_INDEX_LAYER: Final = "tiles"
FLATGEOBUF: Final = "application/vnd.flatgeobuf"
# the map item's asset drawn by GIS users: the class map COG
MAP_ASSET: Final = "classes"
FILES: Final = {
    "tile-index-gpkg": ("tile-index.gpkg", ext.GEOPACKAGE),
    "tile-index-fgb": ("tile-index.fgb", FLATGEOBUF),
}


def tile_index_frame(
    items: Sequence[tuple[Mapping[str, Any], Path]],
    coll_dir: Path,
    *,
    license_id: str,
    accuracy: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """One row per map item: footprint, id, version, period, licence, accuracy, COG href.

    Args:
        items: (item dict, the folder its asset hrefs are relative to) per map tile.
        coll_dir: the folder the index files are written to (hrefs are relative to it).
        license_id: the product's licence (``catalog.license``).
        accuracy: the map collection's ``sporbar:accuracy`` (assessment id -> summary). The
            area-adjusted overall accuracy is an estimate for the whole map, not per tile: every
            row carries the first assessment's estimate and its 95 % CI half-width.

    Returns:
        The frame sorted by item id: footprints on the national grid (``proj:bbox``) when every
        item states one in the same CRS, else the items' GeoJSON geometry in EPSG:4326.
    """
    ordered = sorted(items, key=lambda t: str(t[0]["id"]))
    codes = {d.get("properties", {}).get("proj:code") for d, _ in ordered}
    on_grid = len(codes) == 1 and None not in codes and all("proj:bbox" in d["properties"] for d, _ in ordered)
    first: Mapping[str, Any] = next(iter((accuracy or {}).values()), {})
    overall: Mapping[str, Any] = first.get("overall_accuracy") or {}
    rows = []
    for d, base in ordered:
        props = d.get("properties", {})
        cog = d.get("assets", {}).get(MAP_ASSET, {}).get("href")
        rows.append(
            {
                "item_id": d["id"],
                "version": str(props.get("version") or props.get(ext.SPORBAR_CODE_VERSION) or ""),
                "start_date": str(props.get("start_datetime") or props.get("datetime") or ""),
                "end_date": str(props.get("end_datetime") or props.get("datetime") or ""),
                "license": license_id,
                "accuracy": overall.get("estimate"),
                "accuracy_ci95": overall.get("ci95"),
                "cog": relative_href((base / cog).resolve(), coll_dir) if cog else None,
                "geometry": box(*props["proj:bbox"]) if on_grid else shape(d["geometry"]),
            }
        )
    crs = codes.pop() if on_grid else "EPSG:4326"
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def tile_index_files(frame: gpd.GeoDataFrame) -> dict[str, bytes]:
    """The GeoPackage and FlatGeobuf bytes of ``frame``, by file name (deterministic bytes)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="sporbar-tile-index-") as tmp:
        gpkg, fgb = Path(tmp) / FILES["tile-index-gpkg"][0], Path(tmp) / FILES["tile-index-fgb"][0]
        write_geopackage(frame, gpkg, layer=TILE_INDEX_LAYER)
        write_flatgeobuf(frame, fgb)
        for f in (gpkg, fgb):
            out[f.name] = f.read_bytes()
    return out


def tile_index_assets(files: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
    """The collection assets that describe the index files (with their size and checksum)."""
    return {
        key: {
            "href": f"./{name}",
            "type": media_type,
            "title": f"Tile index ({'GeoPackage' if key.endswith('gpkg') else 'FlatGeobuf'})",
            "roles": ["metadata", TILE_INDEX_ROLE],
            ext.FILE_CHECKSUM: sha256_multihash_of(files[name]),
            ext.FILE_SIZE: len(files[name]),
        }
        for key, (name, media_type) in FILES.items()
    }
