"""Airborne lidar from a local folder (``sources.lidar.local.path``): indexed in place, not copied.

Search reads the header of every ``*.laz``/``*.las`` below the folder and lists the files
whose bounds overlap the area (their CRS checked); fetch records the item with its asset
pointing at the archive file.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch.lidar_files import area, fetch_tile, found, overlaps, settings, tile_id
from sporbar.fetch.search import Found
from sporbar.fetch.source import Source
from sporbar.las import check_crs, header_bounds, read_header


def search(cfg: Config) -> Found:
    """The files below the folder whose header bounds overlap the area.

    Raises:
        MissingInputError: the folder does not exist.
        InputDataError: an overlapping file is unreadable or in another CRS.
        NothingFoundError: none overlaps.
    """
    folder = Path(settings(cfg, "local").get("path") or "")
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: lidar folder not found (sources.lidar.local.path)")
    epsg = int(cfg.data["sources"]["lidar"]["epsg"])
    tiles: list[dict[str, Any]] = []
    for f in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".laz", ".las")):
        h = read_header(f)
        b = header_bounds(h)
        if overlaps(b, area(cfg)):
            check_crs(f, h, epsg)
            tiles.append({"id": tile_id(b), "href": str(f.resolve()), "bounds": list(b)})
    return found(cfg, "local", str(folder), tiles)


SOURCE = Source(mission="lidar", kind="local", search=search, fetch=partial(fetch_tile, kind="local"))
