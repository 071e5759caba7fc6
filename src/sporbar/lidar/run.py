"""``sporbar lidar`` as a function: raw lidar items + a tile -> the lidar-products item."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
import rasterio.errors
from affine import Affine
from odc.geo.geobox import GeoBox

from sporbar.config import Config
from sporbar.errors import InputDataError, SporbarError
from sporbar.io import check_writable
from sporbar.las import read_header
from sporbar.lidar.classes import PointClasses
from sporbar.lidar.ground import METHOD as GROUND_METHOD
from sporbar.lidar.ground import GroundFilter
from sporbar.lidar.products import PRODUCTS, compute_products
from sporbar.lidar.read import GroundClassified, file_crss
from sporbar.lidar_bands import FINE, METRICS_ASSET, fine_factor
from sporbar.raster import CogWindows, cog_writer, write_cog
from sporbar.stac.items.lidar_products import RunningStatistics, lidar_products_item, raster_statistics
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.record import RunContext, asset_path, check_input_assets, read_item

log = logging.getLogger(__name__)

#: a write failure with less free space than this in the products folder is a full disk
_FULL_BELOW = 64 * 1024 * 1024
#: MB of GDAL block cache while the fine COGs are written (it is not the data: they are staged on disk)
GDAL_CACHE_MB = 256

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


class _Recorded:
    """A fine model's COG windows that also keep its statistics."""

    def __init__(self, windows: CogWindows, stats: RunningStatistics) -> None:
        self._windows, self._stats = windows, stats

    def write(self, data: np.ndarray, *, row: int = 0, col: int = 0) -> None:
        """Write a window and take in its values."""
        self._stats.add(data)
        self._windows.write(data, row=row, col=col)


@contextmanager
def _write_errors(folder: Path) -> Iterator[None]:
    """GDAL's write failures in ``folder`` as an OSError naming it ("Write failed" alone names nothing).

    A full disk becomes ENOSPC (what the CLI reports as such), any other failure EIO with GDAL's message.
    """
    try:
        yield
    except rasterio.errors.RasterioIOError as err:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
        if free < _FULL_BELOW:
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({free} bytes free)", str(folder)) from err
        raise OSError(errno.EIO, f"cannot write the lidar products: {err}", str(folder)) from err


def _ground_record(done: Sequence[GroundClassified], raw: Sequence[pystac.Item], paths: Sequence[Path],
                   lidar_cfg: dict[str, Any]) -> dict[str, Any] | None:
    """``sporbar:ground_classification``: method, parameters, and per raw item id the ground share before/after."""
    if not done:
        return None
    ids = {Path(p).resolve(): it.id for p, it in zip(paths, raw, strict=True)}
    return {
        "method": GROUND_METHOD,
        "parameters": GroundFilter.from_config(lidar_cfg).parameters(),
        "files": {ids.get(d.path.resolve(), d.path.name): {"ground_share_before": round(d.share_before, 4),
                                                           "ground_share_after": round(d.share_after, 4)}
                  for d in done},
    }


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
    folder = output.parent
    k = fine_factor(abs(float(geobox.affine.a)), float(lidar_cfg["resolution"]), float(lidar_cfg["buffer"]))
    fine_box = GeoBox((geobox.shape.y * k, geobox.shape.x * k), geobox.affine @ Affine.scale(1 / k), geobox.crs)
    fine_stats = {key: RunningStatistics() for key in FINE}
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)  # the blocks and the fine models' scratch go here
    with _write_errors(folder), ExitStack() as stack:
        # GDAL's block cache (5 % of RAM by default) would fill with the fine models' blocks: bounded here
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB))
        if made:  # a failed run leaves no empty product folder behind
            stack.callback(lambda: folder.rmdir() if not any(folder.iterdir()) else None)
        blocks = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=folder, prefix="blocks-")))
        sinks = {key: _Recorded(stack.enter_context(cog_writer(folder / f"{key}.tif", fine_box, count=1,
                                                                 dtype="float32", nodata=float("nan"),
                                                                 band_names=[key], scratch=folder)),
                                fine_stats[key])
                 for key in FINE}
        products = compute_products(paths, geobox, stated_epsg=stated, classes=classes, lidar=lidar_cfg,
                                    fine=sinks, spill_dir=blocks)
    if products.points == 0:
        log.warning(
            "lidar: no points of %s fall in tile %s; products are empty",
            ", ".join(map(str, paths)),
            tile,
        )
    no_ground = products.points > 0 and bool(np.isnan(products.dtm).all())
    if no_ground:
        log.warning("lidar: no ground points in tile %s (classes %s; the ground filter is off or found none): "
                    "DTM, CHM and the height metrics are empty (NaN), DSM and density are made",
                    tile, _codes(classes.ground))
    arrays = products.as_dict()
    metrics = products.metrics
    with _write_errors(folder):
        for key, arr in arrays.items():
            write_cog(folder / f"{key}.tif", arr, geobox, nodata=float("nan"), band_names=[key])
            log.info("lidar: wrote %s", folder / f"{key}.tif")
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
        fine_geobox=fine_box,
        fine_statistics={key: st.result() for key, st in fine_stats.items()},
        ground_classification=_ground_record(products.ground_classified, raw, paths, lidar_cfg),
    )
    write_thumbnail(folder / "chm.tif", folder / "thumbnail.png", kind="chm")
    add_thumbnail(item, folder, "thumbnail.png", title="Canopy height (white 0 m to dark green)")
    res_fine = abs(float(fine_box.affine.a))
    ex = products.excluded
    unknown = ", ".join(f"class {c}: {n}" for c, n in ex["unknown_classes"].items()) or "none"
    lineage = (
        f"Gridded {products.points} airborne lidar points onto tile {tile} "
        f"({geobox.crs}, {abs(geobox.affine.a):g} m); excluded: {ex['noise']} noise (classes "
        f"{_codes(classes.noise)}), {ex['withheld']} withheld, unknown classes: {unknown}. "
        f"Read with a {float(lidar_cfg['buffer']):g} m buffer from the neighbouring deliveries. "
        f"At {res_fine:g} m: DTM = linear interpolation in the triangulation of the lowest ground return "
        f"(classes {_codes(classes.ground)}) of each {res_fine:g} m cell (triangles whose circumcircle is wider than "
        f"{float(lidar_cfg['buffer']) - 3 * res_fine:g} m, the buffer less 3 cells, left out: NaN), CHM = pit-free "
        "stack of partial "
        "canopy models (thresholds "
        f"{', '.join(f'{t:g}' for t in lidar_cfg['chm_thresholds'])} m) of the vegetation (classes "
        f"{_codes(classes.vegetation)}) and ground first returns above the DTM, DSM = highest first return, "
        "at least DTM + CHM. On the grid: DTM = mean, DSM and CHM = highest of the fine cells, density = points "
        f"per m2. Metrics ({', '.join(metrics)}): of first returns more than "
        f"{float(lidar_cfg['metrics']['min_height']):g} m above the fine DTM (interpolated at the point); "
        "terrain slope and aspect from the fine DTM. "
        f"Input CRS: {'; '.join(crss)} (x/y transformed to {geobox.crs} with PROJ where different; "
        "heights in metres, vertical datum as delivered)."
    )
    if products.ground_classified:
        lineage += (f" Ground classified by {GROUND_METHOD} in {len(products.ground_classified)} file(s) with "
                    f"less than {lidar_cfg['ground_filter']['min_ground_share']:g} ground-class share "
                    "(sporbar:ground_classification).")
    if no_ground:
        lineage += (" No ground points: no terrain, so DTM, CHM, height metrics and terrain slope/aspect are "
                    "NaN (unknown), not 0.")
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
