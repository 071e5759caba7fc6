"""Sentinel-2 (and Sentinel-1) from the demo source: copy a SAFE product into raw/ and record its raw item.

The SAFE folder is copied whole (atomically) beside ``item.json``; the item is the one
stactools-sentinel2 makes from the product's metadata
(:func:`sporbar.stac.items.raw_s2.raw_s2_item`), pointing at the band files inside the
folder under sporbar's asset keys. The demo archive lists itself (no search).
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
from sporbar.fetch.missions import SENTINEL2, Mission
from sporbar.fetch.source import Source
from sporbar.io import atomic_path, check_writable
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
    mission: Mission = SENTINEL2,
) -> dict[str, Any]:
    """Copy the demo product of ``entry`` (from :func:`demo_archive.listing`) beside ``item_path``; record its item.

    ``mission`` says whose product it is (its reader and item builder; :mod:`sporbar.fetch.demo_s1`
    passes Sentinel-1).

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: the listed SAFE folder is missing.
        OutputExistsError: ``item_path`` exists and ``overwrite`` is False.
        InputDataError: the SAFE metadata is incomplete or names another product.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    scene, src = entry["id"], Path(entry["path"])
    if not src.is_dir():
        raise MissingInputError(f"{src}: demo product {scene} listed but missing; run `sporbar demo generate` again")
    mission.describe(src, scene)  # refuse a broken product before copying it
    dest = item_path.parent / src.name
    log.info("%s: copying %s -> %s", mission.command, src, dest)
    with atomic_path(dest) as tmp:
        shutil.copytree(src, tmp)
    item = mission.describe(dest.resolve(), scene)
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=f"Copied {'Sentinel-2 L2A' if mission is SENTINEL2 else mission.title + ' GRD'} product {scene} "
        "(SAFE folder) from the demo source.",
        command=mission.command,
        parameters={"source_dir": entry["source_dir"], "scene": scene},
    )


SOURCE = Source(
    mission="sentinel2",
    kind="demo",
    search=None,
    fetch=fetch,
    demo_listing=partial(demo_archive.listing, mission="sentinel2"),
)
