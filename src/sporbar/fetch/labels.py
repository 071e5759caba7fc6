"""Fetch label polygons (demo archive or a user file) into ``raw/labels/<area>/``.

The file is checked (readable, class column present, class names known, polygons,
a CRS, overlapping the area), reprojected to EPSG:25833 if needed, and written
normalised as ``labels.gpkg`` (layer ``labels``, rows sorted deterministically).
The ``labels-raw`` item carries the label extension with per-class counts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.demo_archive import labels_path
from sporbar.fetch.label_checks import check_coordinate_range, check_overlaps_area, check_valid
from sporbar.io import check_writable
from sporbar.stac.items.labels import labels_item
from sporbar.stac.record import RunContext
from sporbar.vector import write_geopackage

log = logging.getLogger(__name__)

CRS = "EPSG:25833"
FILENAME = "labels.gpkg"
LAYER = "labels"  # the GeoPackage layer of the raw labels (and of the demo archive's label file)
_POLYGONAL = {"Polygon", "MultiPolygon"}


def read_labels(
    path: Path, class_column: str, class_names: list[str]
) -> tuple[gpd.GeoDataFrame, str | None]:
    """Read and check a label file; return it in EPSG:25833 and the CRS it came in if reprojected.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: unreadable, no CRS, no class column, unknown class names,
            empty or non-polygon geometries, coordinates outside the range of its CRS.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: label file not found")
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        if LAYER not in names and len(names) > 1:
            # GDAL would read the first one: maybe not the labels (found by the bad-input trials)
            raise InputDataError(
                f"{path}: {len(names)} layers ({', '.join(names)}) and none named {LAYER!r}; name the label "
                f"layer {LAYER!r} or keep only it in the file"
            )
        gdf = gpd.read_file(path, layer=LAYER if LAYER in names else None, engine="pyogrio")
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        OSError,
        ValueError,
    ) as err:
        raise InputDataError(
            f"{path}: cannot read label polygons (GPKG/SHP/GeoJSON): {err}"
        ) from err
    if class_column not in gdf.columns:
        found = [c for c in gdf.columns if c != gdf.geometry.name]
        raise InputDataError(
            f"{path}: label file has no class column {class_column!r} "
            f"(columns: {', '.join(found) or 'none'}); "
            "rename the column or set sources.labels.class_column in the config"
        )
    if len(gdf) == 0:
        raise InputDataError(f"{path}: label file has no features")
    names = gdf[class_column]
    unknown = sorted({str(v) for v in names[~names.astype(str).isin(class_names) | names.isna()]})
    if unknown:
        raise InputDataError(
            f"{path}: unknown class names in column {class_column!r}: {', '.join(unknown)} "
            f"(known: {', '.join(class_names)}); fix the file or classes[] in the config"
        )
    geom = gdf.geometry
    bad = geom.isna() | geom.is_empty | ~geom.geom_type.isin(list(_POLYGONAL))
    if bad.any():
        kinds = sorted({str(t) for t in geom[bad].geom_type.fillna("missing")})
        raise InputDataError(
            f"{path}: {int(bad.sum())} label geometries are not polygons ({', '.join(kinds)}); "
            "label polygons (Polygon/MultiPolygon) are required"
        )
    if gdf.crs is None:
        raise InputDataError(
            f"{path}: label file has no CRS; assign one (e.g. EPSG:25833) and fetch again"
        )
    check_coordinate_range(gdf, path)
    source_crs = None
    if gdf.crs.to_epsg() != 25833:
        source_crs = gdf.crs.to_string()
        log.warning("fetch labels: %s is in %s; reprojecting to %s", path, source_crs, CRS)
        gdf = gdf.to_crs(CRS)
    gdf = gdf.set_crs(CRS, allow_override=True)
    gdf[class_column] = gdf[class_column].astype(str)
    return gdf, source_crs


def normalise(gdf: gpd.GeoDataFrame, class_column: str) -> gpd.GeoDataFrame:
    """Sort rows by class, then by position, then geometry bytes; reset the index."""
    c = gdf.geometry.representative_point()
    key = pd.DataFrame(
        {
            "cls": gdf[class_column].to_numpy(),
            "y": c.y.round(3).to_numpy(),
            "x": c.x.round(3).to_numpy(),
            "wkb": shapely.to_wkb(gdf.geometry.to_numpy(), hex=True),
        }
    )
    order = key.sort_values(["cls", "y", "x", "wkb"], kind="mergesort").index.to_numpy()
    return gdf.iloc[order].reset_index(drop=True)


def survey_period(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    """``start_datetime``/``end_datetime`` from a ``survey_date`` column (else an open period)."""
    if "survey_date" in gdf.columns:
        days = pd.to_datetime(gdf["survey_date"].astype(str), errors="coerce").dropna()
        if len(days):
            start, end = days.min(), days.max() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
            return {
                "start_datetime": start.strftime("%Y-%m-%dT00:00:00Z"),
                "end_datetime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
    return {"start_datetime": "1900-01-01T00:00:00Z", "end_datetime": "2100-01-01T00:00:00Z"}


def fetch_labels(
    ctx: RunContext,
    cfg: Config,
    output: Path,
    *,
    source_dir: Path | None = None,
    path: Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Check, normalise and copy the label polygons beside ``output``; record a ``labels-raw`` item.

    Exactly one of ``source_dir`` (the demo archive) and ``path`` (a label file) is used.

    Returns:
        The item dict as written.

    Raises:
        InputDataError: both or neither source given, the file fails a check (see
            :func:`read_labels`), or no polygon intersects the area.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    if (source_dir is None) == (path is None):
        raise InputDataError(f"{output}: give exactly one of a demo source folder or a label file path")
    src = labels_path(source_dir) if source_dir is not None else Path(path)  # type: ignore[arg-type]
    class_column = cfg.data["sources"]["labels"]["class_column"]
    class_names = [c["name"] for c in cfg.data["classes"]]
    gdf, reprojected_from = read_labels(src, class_column, class_names)
    gdf = check_valid(gdf, src, repair=bool(cfg.data["sources"]["labels"].get("make_valid")))
    area = cfg.data["area"]
    check_overlaps_area(gdf, area, src)
    gdf = normalise(gdf, class_column)
    dest = output.parent / FILENAME
    write_geopackage(gdf, dest, layer=LAYER)
    counts = {str(k): int(v) for k, v in sorted(gdf[class_column].value_counts().items())}
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    item = labels_item(
        area["name"],
        f"./{FILENAME}",
        crs=CRS,
        layer=LAYER,
        bounds=(minx, miny, maxx, maxy),
        class_column=class_column,
        class_names=class_names,
        counts=counts,
        period=survey_period(gdf),
    )
    how = f"reprojected from {reprojected_from} to {CRS}" if reprojected_from else f"already in {CRS}"
    log.info("fetch labels: %s -> %s, %d polygons, %s", src, dest, len(gdf), how)
    return ctx.record(
        item,
        output,
        inputs=[],
        lineage=(
            f"Read label polygons from {src.name} ({how}); checked class column {class_column!r} "
            "against classes[].name and that geometries are polygons overlapping the area; "
            f"wrote them sorted by class and position as GeoPackage layer {LAYER!r}."
        ),
        command="fetch labels",
        parameters={
            "source_dir": str(source_dir) if source_dir is not None else None,
            "path": str(path) if path is not None else None,
            "class_column": class_column,
            "output": str(output),
        },
    )
