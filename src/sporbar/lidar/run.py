"""``sporbar lidar`` as a function: raw lidar items + a tile -> the lidar-products item."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pystac

from sporbar.config import Config
from sporbar.errors import InputDataError, SporbarError
from sporbar.io import check_writable
from sporbar.las import read_header
from sporbar.lidar.classes import PointClasses
from sporbar.lidar.products import PRODUCTS, compute_products
from sporbar.lidar.read import file_crss
from sporbar.lidar_bands import METRICS_ASSET
from sporbar.raster import write_cog
from sporbar.stac.items.lidar_products import lidar_products_item, raster_statistics
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.record import RunContext, asset_path, check_input_assets, read_item

log = logging.getLogger(__name__)

RAW_ASSET = "data"


def _codes(codes: Sequence[int]) -> str:
    return ", ".join(str(c) for c in codes) or "none"


def read_raw_item(path: Path) -> pystac.Item:
    """Read a raw lidar item (``raw/lidar/<lidar_tile>/item.json``).

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: the file is not a STAC item (a LAZ file, a GeoTIFF, ``{}``...).
    """
    path = Path(path)
    try:
        return read_item(path)
    except SporbarError:
        raise
    except (ValueError, KeyError, TypeError, pystac.STACError, pystac.STACTypeError) as err:
        # UnicodeDecodeError (binary file) and JSONDecodeError are ValueErrors
        raise InputDataError(
            f"{path}: not a STAC item ({type(err).__name__}); give the raw lidar item "
            "(raw/lidar/<lidar_tile>/item.json, written by `sporbar fetch lidar`), not the LAZ file"
        ) from err


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

    A LAZ file that holds no point is logged as a warning and named in the item
    (``sporbar:empty_inputs``), so maps made from an emptied delivery are traceable. Points
    left out (noise, withheld, unknown classes) are counted in ``sporbar:excluded_points``.

    Args:
        cfg: the pipeline config (grid, ``lidar``, ``sources.lidar.epsg``).
        tile: grid tile id.
        laz_items: raw lidar item paths (asset ``data``: the LAZ file).
        output: where to write the lidar products item; the COGs go beside it.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: an item or its LAZ file is missing.
        InputDataError: no items given, an input is not a lidar item, or a LAZ file is
            unreadable.
        LidarCrsError: a LAZ file has no usable CRS (none and no ``sources.lidar.epsg``, or geographic).
        OutputExistsError: ``output`` exists and ``overwrite`` is False.
        ConfigError: a class code is in two lists of ``lidar.point_classes``.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    geobox = cfg.grid.geobox(tile)
    if not laz_items:
        raise InputDataError(
            f"{output}: no raw lidar items given for tile {tile}; pass --laz <item.json>"
        )
    raw = [read_raw_item(Path(p)) for p in laz_items]
    for p, it in zip(laz_items, raw, strict=True):
        check_input_assets(Path(p), it, [RAW_ASSET])
    paths = [asset_path(Path(p), it, RAW_ASSET) for p, it in zip(laz_items, raw, strict=True)]
    log.info(
        "lidar: tile %s from %d LAZ file(s): %s", tile, len(paths), ", ".join(p.name for p in paths)
    )
    empty = [it.id for it, p in zip(raw, paths, strict=True) if read_header(p).point_count == 0]
    for it, p in zip(raw, paths, strict=True):
        if it.id in empty:
            log.warning("lidar: %s (item %s) holds no point; tile %s is gridded without it", p, it.id, tile)
    stated = cfg.data["sources"]["lidar"].get("epsg")
    crss = sorted({c.label for _, _, c in file_crss(paths, stated_epsg=stated)})
    lidar_cfg = cfg.data["lidar"]
    classes = PointClasses.from_config(lidar_cfg, source=str(cfg.source))
    products = compute_products(paths, geobox, stated_epsg=stated, classes=classes, metrics=lidar_cfg["metrics"])
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
    metrics = products.metrics
    write_cog(folder / f"{METRICS_ASSET}.tif", np.stack(list(metrics.values())), geobox, nodata=float("nan"),
              band_names=list(metrics))
    item = lidar_products_item(
        tile,
        geobox,
        statistics={k: raster_statistics(a) for k, a in arrays.items()},
        metric_statistics={k: raster_statistics(a) for k, a in metrics.items()},
        min_height=float(lidar_cfg["metrics"]["min_height"]),
        point_count=products.points,
        excluded=products.excluded,
        raw=raw,
        empty_inputs=empty,
    )
    write_thumbnail(folder / "chm.tif", folder / "thumbnail.png", kind="chm")
    add_thumbnail(item, folder, "thumbnail.png", title="Canopy height (white 0 m to dark green)")
    ex = products.excluded
    unknown = ", ".join(f"class {c}: {n}" for c, n in ex["unknown_classes"].items()) or "none"
    lineage = (
        f"Gridded {products.points} airborne lidar points onto tile {tile} "
        f"({geobox.crs}, {abs(geobox.affine.a):g} m); excluded: {ex['noise']} noise (classes "
        f"{_codes(classes.noise)}), {ex['withheld']} withheld, unknown classes: {unknown}. "
        f"DTM = mean of ground returns (classes {_codes(classes.ground)}) with gaps filled from the "
        "nearest cell, DSM = highest first return, CHM = highest vegetation return (classes "
        f"{_codes(classes.vegetation)}) above the DTM (at least 0), density = points per m2. "
        f"Metrics ({', '.join(metrics)}): of first returns more than "
        f"{float(lidar_cfg['metrics']['min_height']):g} m above the DTM (interpolated at the point). "
        f"Input CRS: {'; '.join(crss)} (x/y transformed to {geobox.crs} with PROJ where different; "
        "heights in metres, vertical datum as delivered)."
    )
    if empty:
        lineage += f" Inputs with no point: {', '.join(sorted(empty))}."
    return ctx.record(
        item,
        output,
        inputs=list(laz_items),
        lineage=lineage,
        command="lidar",
        parameters={"tile": tile, "laz": [str(p) for p in laz_items], "output": str(output)},
    )


__all__ = ["PRODUCTS", "run_lidar"]
