"""Airborne lidar from a local folder (``sources.lidar.local.path``): indexed in place, not copied.

Search reads the header of every ``*.laz``/``*.las`` below the folder, checks its CRS (a
file with no usable CRS is named, not skipped: it is not known where it lies) and lists the
files whose bounds, brought into the grid CRS, overlap the area; fetch records the item with
its asset pointing at the archive file.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch.lidar_files import fetch_tile, file_overlaps, found, settings, tile_id
from sporbar.fetch.search import Found
from sporbar.fetch.source import Source
from sporbar.las import read_header


def search(cfg: Config) -> Found:
    """The files below the folder whose header bounds overlap the area.

    Raises:
        MissingInputError: the folder does not exist.
        InputDataError: a file is unreadable.
        LidarCrsError: a file has no CRS (and no ``sources.lidar.epsg``), or a geographic one.
        NothingFoundError: none overlaps (the message counts the files by CRS).
    """
    folder = Path(settings(cfg, "local").get("path") or "")
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: lidar folder not found (sources.lidar.local.path)")
    tiles: list[dict[str, Any]] = []
    crs_counts: Counter[str] = Counter()
    for f in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".laz", ".las")):
        b, crs, hit = file_overlaps(cfg, str(f), read_header(f))
        crs_counts[crs.label] += 1
        if hit:
            tiles.append({"id": tile_id(b), "href": str(f.resolve()), "bounds": list(b)})
    seen = f"{sum(crs_counts.values())} LAS/LAZ file(s) there" + (
        ", in " + ", ".join(f"{c} ({n})" for c, n in sorted(crs_counts.items())) if crs_counts else ""
    )
    return found(cfg, "local", str(folder), tiles, seen=seen)


SOURCE = Source(mission="lidar", kind="local", search=search, fetch=partial(fetch_tile, kind="local"))
