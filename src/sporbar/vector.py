"""Vector files written byte for byte the same on every run (GeoPackage, FlatGeobuf)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from sporbar.io import atomic_path

# GeoPackage stores a last-change time; fixing it keeps the file bytes deterministic.
GPKG_TIMESTAMP = "2023-09-01T00:00:00.000Z"


def write_geopackage(gdf: gpd.GeoDataFrame, path: Path, *, layer: str) -> None:
    """Write ``gdf`` as ``layer`` of a GeoPackage at ``path``, atomically and deterministically."""
    prev = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        with atomic_path(Path(path)) as tmp:
            gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": prev})


def write_flatgeobuf(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write ``gdf`` as a FlatGeobuf (with its spatial index) at ``path``, atomically."""
    with atomic_path(Path(path)) as tmp:
        gdf.to_file(tmp, driver="FlatGeobuf", engine="pyogrio", SPATIAL_INDEX="YES")
