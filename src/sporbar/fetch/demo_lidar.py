"""Airborne lidar from the demo source: copy one delivered LAZ tile into ``raw/lidar/<lidar_tile>/``.

The file is copied unchanged (a raw item describes the delivery as it came), its header
is read (never its points) and its CRS is checked, then a ``lidar-raw`` item is recorded
(:func:`sporbar.stac.items.raw_lidar.raw_lidar_item`); the acquisition date is the one
the delivery's LAS header states. The demo archive lists itself (no search).
"""

from __future__ import annotations

import logging
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch import demo_archive
from sporbar.fetch.lidar_files import acquisition_time, checked_tile
from sporbar.fetch.source import Source
from sporbar.io import atomic_path, check_writable
from sporbar.stac.items.raw_lidar import raw_lidar_item
from sporbar.stac.record import RunContext

log = logging.getLogger(__name__)


def fetch(
    ctx: RunContext,
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Copy the delivered LAZ tile of ``entry`` beside ``item_path`` and record its ``lidar-raw`` item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: the listed file is missing.
        IntegrityError: the file is truncated (shorter than its header says).
        InputDataError: the file is unreadable or has no usable CRS (``LidarCrsError``).
        OutputExistsError: ``item_path`` exists and ``overwrite`` is False.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    lidar_tile, src = entry["id"], Path(entry["path"])
    if not src.is_file():
        raise MissingInputError(f"{src}: lidar tile {lidar_tile!r} listed but missing; run `sporbar demo generate`")
    checked_tile(src, cfg)  # refuse a truncated file, or one without a usable CRS, before copying it
    dest = item_path.parent / f"{lidar_tile}.laz"
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    header, crs = checked_tile(dest, cfg)
    item = raw_lidar_item(lidar_tile, header, f"./{dest.name}", crs=crs, acquired=acquisition_time(header))
    log.info("fetch lidar: %s -> %s (%d points)", src, dest, header.point_count)
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=(
            f"Copied delivered airborne lidar tile {lidar_tile} "
            f"(LAZ, LAS {header.version} point format "
            f"{header.point_format.id}) unchanged from the demo archive; its CRS is "
            f"{crs.label} ({'sources.lidar.epsg: the file has none' if crs.stated else 'from the file'}); "
            "described it from the LAS header."
        ),
        command="fetch lidar",
        parameters={"source_dir": entry["source_dir"], "lidar_tile": lidar_tile, "output": str(item_path)},
    )


SOURCE = Source(
    mission="lidar",
    kind="demo",
    search=None,
    fetch=fetch,
    demo_listing=partial(demo_archive.listing, mission="lidar"),
)
