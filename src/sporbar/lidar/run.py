"""``sporbar lidar`` as a function: raw lidar items + a tile -> the lidar-products item."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import check_writable
from sporbar.lidar.products import PRODUCTS, compute_products
from sporbar.raster import write_cog
from sporbar.stac.items.lidar_products import lidar_products_item, raster_statistics
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.record import RunContext, asset_path, read_item

log = logging.getLogger(__name__)

RAW_ASSET = "data"


def run_lidar(
    cfg: Config,
    tile: str,
    laz_items: Sequence[Path],
    output: Path,
    *,
    ctx: RunContext,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Grid the points of the raw lidar items onto ``tile``; write COGs and the item.

    Args:
        cfg: the pipeline config (grid).
        tile: grid tile id.
        laz_items: raw lidar item paths (asset ``data``: the LAZ file).
        output: where to write the lidar products item; the COGs go beside it.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: an item or its LAZ file is missing.
        InputDataError: no items given, or a LAZ file is unreadable or not in EPSG:25833.
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
    arrays = products.as_dict()
    for key, arr in arrays.items():
        write_cog(folder / f"{key}.tif", arr, geobox, nodata=float("nan"), band_names=[key])
        log.info("lidar: wrote %s", folder / f"{key}.tif")
    item = lidar_products_item(
        tile,
        geobox,
        statistics={k: raster_statistics(a) for k, a in arrays.items()},
        point_count=products.points,
        raw=raw,
    )
    write_thumbnail(folder / "chm.tif", folder / "thumbnail.png", kind="chm")
    add_thumbnail(item, folder, "thumbnail.png", title="Canopy height (white 0 m to dark green)")
    lineage = (
        f"Gridded {products.points} airborne lidar points (noise excluded) onto tile {tile} "
        f"({geobox.crs}, {abs(geobox.affine.a):g} m): DTM = mean of ground and water returns "
        "with gaps filled from the nearest cell, DSM = highest first return, "
        "CHM = highest vegetation return above the DTM (at least 0), density = points per m2."
    )
    return ctx.record(
        item,
        output,
        inputs=list(laz_items),
        lineage=lineage,
        command="lidar",
        parameters={"tile": tile, "laz": [str(p) for p in laz_items], "output": str(output)},
    )


__all__ = ["PRODUCTS", "run_lidar"]
