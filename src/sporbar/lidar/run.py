"""``sporbar lidar`` as a function: raw lidar items + a tile -> the lidar-products item."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from odc.geo.geobox import GeoBox

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import check_writable
from sporbar.lidar.products import PRODUCTS, LidarProducts, compute_products
from sporbar.raster import write_cog
from sporbar.stac import extensions as ext
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, asset_path, read_item, record_item

log = logging.getLogger(__name__)

PROJECTION_SCHEMA_URI = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RASTER_SCHEMA_URI = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
RAW_ASSET = "data"

_TITLES = {
    "dtm": (
        "Digital terrain model: mean height of ground and water returns, "
        "gaps filled from the nearest cell",
        "metre",
    ),
    "dsm": ("Digital surface model: highest first return, noise excluded", "metre"),
    "chm": ("Canopy height model: highest vegetation return above the DTM", "metre"),
    "density": ("Lidar point density (noise excluded)", "points per square metre"),
}


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


def _statistics(a: np.ndarray) -> dict[str, float]:
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


def build_item(
    tile: str, geobox: GeoBox, products: LidarProducts, raw: Sequence[pystac.Item]
) -> pystac.Item:
    """The ``lidar-products`` item of a tile (assets ``./<product>.tif``), before provenance."""
    wgs84 = geobox.extent.to_crs("EPSG:4326")
    when, period = item_period(raw)
    item = pystac.Item(
        id=f"lidar-products-{tile}",
        geometry=json.loads(json.dumps(wgs84.json)),  # plain lists, as in the file
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=when,
        properties={
            **period,
            "proj:code": str(geobox.crs),
            "proj:shape": list(geobox.shape.yx),
            "proj:transform": [float(v) for v in geobox.affine[:6]],
            "sporbar:tile": tile,
            "sporbar:point_count": products.points,
        },
        # No "collection" field (it needs a collection link, which record_item does not write):
        # `sporbar publish` sets ext.COLLECTION_LIDAR_PRODUCTS from the item path.
        stac_extensions=[PROJECTION_SCHEMA_URI, RASTER_SCHEMA_URI],
    )
    res = abs(float(geobox.affine.a))
    for key, arr in products.as_dict().items():
        title, unit = _TITLES[key]
        band = {
            "data_type": "float32",
            "nodata": "nan",
            "unit": unit,
            "spatial_resolution": res,
            "statistics": _statistics(arr),
        }
        item.add_asset(
            key,
            pystac.Asset(
                href=f"./{key}.tif",
                media_type=ext.COG,
                title=title,
                roles=["data"],
                extra_fields={"raster:bands": [band]},
            ),
        )
    return item


def run_lidar(
    cfg: Config,
    tile: str,
    laz_items: Sequence[Path],
    output: Path,
    *,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Grid the points of the raw lidar items onto ``tile``; write COGs and the item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: an item or its LAZ file is missing.
        InputDataError: no items given, or a LAZ file is not in EPSG:25833.
        OutputExistsError: ``output`` exists and ``overwrite`` is False.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    geobox = cfg.grid.geobox(tile)
    if not laz_items:
        raise InputDataError(
            f"{output}: no raw lidar items given for tile {tile}; pass --laz <item.json>"
        )
    raw = [read_item(Path(p)) for p in laz_items]
    paths = [asset_path(Path(p), it, RAW_ASSET) for p, it in zip(laz_items, raw, strict=True)]
    log.info(
        "lidar: tile %s from %d LAZ file(s): %s", tile, len(paths), ", ".join(p.name for p in paths)
    )
    products = compute_products(paths, geobox)
    if products.points == 0:
        log.warning(
            "lidar: no points of %s fall in tile %s; products are empty",
            ", ".join(map(str, paths)),
            tile,
        )
    folder = output.parent
    for key, arr in products.as_dict().items():
        write_cog(folder / f"{key}.tif", arr, geobox, nodata=float("nan"), band_names=[key])
        log.info("lidar: wrote %s", folder / f"{key}.tif")
    item = build_item(tile, geobox, products, raw)
    write_thumbnail(folder / "chm.tif", folder / "thumbnail.png", kind="chm")
    add_thumbnail(item, folder, "thumbnail.png", title="Canopy height (white 0 m to dark green)")
    step = Step(
        lineage=(
            f"Gridded {products.points} airborne lidar points (noise excluded) onto tile {tile} "
            f"({geobox.crs}, {abs(geobox.affine.a):g} m): DTM = mean of ground and water returns "
            "with gaps filled from the nearest cell, DSM = highest first return, "
            "CHM = highest vegetation return above the DTM (at least 0), density = points per m2."
        ),
        command="lidar",
        parameters={"tile": tile, "laz": [str(p) for p in laz_items], "output": str(output)},
        rule=rule,
    )
    return record_item(
        item,
        output,
        inputs=list(laz_items),
        step=step,
        provenance=Provenance.current(config_hash=cfg.hash),
    )


__all__ = ["PRODUCTS", "build_item", "item_period", "run_lidar"]
