"""Airborne lidar from a point-cloud STAC API (``sources.lidar.stac_api``).

Search: the items of the collection within the area's WGS84 bbox (and ``date_range``,
if set, as the search ``datetime``), all pages; an item is kept when its ``proj:bbox``,
in the CRS its ``proj:code``/``proj:epsg`` declares (``sources.lidar.epsg`` when it declares
none; else its WGS84 ``bbox`` is used), overlaps the area in the grid CRS. The file's own
CRS is checked when it is fetched. Two items with the
same tile id: the newest acquisition is kept. Fetch downloads the ``asset``
(``file:size``/``file:checksum`` checked; a file already there with the right checksum is
not fetched again).
"""

from __future__ import annotations

import logging
import math
import warnings
from functools import partial
from typing import Any
from urllib.parse import urljoin

import pyproj
from odc.geo.geom import box

from sporbar.config import Config
from sporbar.errors import ConfigError
from sporbar.fetch.lidar_files import (
    area,
    copc_query,
    credentials,
    fetch_tile,
    found,
    grid_crs,
    overlaps,
    settings,
    stated_epsg,
    tile_id,
)
from sporbar.fetch.search import Found, policy
from sporbar.fetch.source import Source
from sporbar.las import Bounds, bounds_in
from sporbar.redaction import redact_url

log = logging.getLogger(__name__)


def item_epsg(props: dict[str, Any]) -> int | None:
    """The EPSG code an item declares (``proj:code`` ``EPSG:<n>`` or ``proj:epsg``), if any."""
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    epsg = props.get("proj:epsg")
    return int(epsg) if isinstance(epsg, int) else None


def _xy(bbox: list[float]) -> Bounds:
    """(minx, miny, maxx, maxy) of a 4- or 6-number STAC bbox."""
    v = [float(x) for x in (bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox)]
    return v[0], v[1], v[2], v[3]


def on_grid(cfg: Config, proj_bbox: Bounds, declared: int | None, wgs84: list[float] | None) -> Bounds:
    """An item's footprint in the grid CRS: its ``proj:bbox`` in the declared (or stated) CRS, else its ``bbox``."""
    epsg = declared if declared is not None else stated_epsg(cfg)
    if epsg is not None:
        src, b = pyproj.CRS.from_epsg(epsg), proj_bbox
    elif wgs84 and len(wgs84) in (4, 6):
        src, b = pyproj.CRS.from_epsg(4326), _xy(wgs84)
    else:  # nothing says where it is: the fetch checks the file's own CRS
        return proj_bbox
    grid = grid_crs(cfg)
    if src.equals(grid, ignore_axis_order=True):
        return b
    return bounds_in(b, pyproj.Transformer.from_crs(src, grid, always_xy=True))


def newest_per_tile(tiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per tile id: the newest acquisition (others logged), sorted by id."""
    best: dict[str, dict[str, Any]] = {}
    for t in tiles:
        old = best.get(t["id"])
        if old is not None:
            keep, drop = sorted([old, t], key=lambda e: (e.get("datetime") or "", e["href"]), reverse=True)
            log.warning("lidar tile %s: two deliveries (%s, %s); keeping the newer %s", t["id"],
                        redact_url(keep["href"]), redact_url(drop["href"]), redact_url(keep["href"]))
            t = keep
        best[t["id"]] = t
    return sorted(best.values(), key=lambda e: e["id"])


def search(cfg: Config) -> Found:
    """The collection's items whose ``proj:bbox`` overlaps the area, one per tile id.

    Raises:
        ConfigError: no url or collection configured.
        NothingFoundError: none overlaps.
    """
    from pystac_client import Client

    s = settings(cfg, "stac_api")
    if not s.get("url") or not s.get("collection"):
        raise ConfigError(f"{cfg.source}: sources/lidar/stac_api needs url and collection")
    w, so, e, n = box(*area(cfg), cfg.data["grid"]["crs"]).to_crs("EPSG:4326").boundingbox
    bb = [math.floor(w * 1e7) / 1e7, math.floor(so * 1e7) / 1e7, math.ceil(e * 1e7) / 1e7,
          math.ceil(n * 1e7) / 1e7]  # rounded outwards: it still holds the whole area
    dr = s.get("date_range")
    when = f"{dr['start']}/{dr['end']}" if dr else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client.open(s["url"], headers=credentials(s, s["url"]).headers(), timeout=policy(s).timeout)
        items = list(client.search(collections=[s["collection"]], bbox=bb, datetime=when).items_as_dicts())
    key = s.get("asset", "data")
    tiles: list[dict[str, Any]] = []
    for it in items:
        props = it.get("properties") or {}
        pb, a, declared = props.get("proj:bbox"), (it.get("assets") or {}).get(key), item_epsg(props)
        if not pb or a is None or len(pb) not in (4, 6):
            log.warning("%s: item %s has no %s asset or no proj:bbox; skipped", redact_url(s["url"]), it.get("id"), key)
            continue
        b = _xy(pb)
        if not overlaps(on_grid(cfg, b, declared, it.get("bbox")), area(cfg)):  # the WGS84 search is wider
            continue
        self_href = next((ln["href"] for ln in it.get("links", []) if ln.get("rel") == "self"), s["url"])
        epsg = declared if declared is not None else stated_epsg(cfg)
        query = copc_query(cfg, b, pyproj.CRS.from_epsg(epsg)) if epsg and "copc" in (a.get("type") or "") else None
        tiles.append({"id": tile_id(b), "href": urljoin(self_href, a["href"]), "bounds": list(b),
                      **({"copc_query": query} if query else {}),
                      "item_id": it.get("id"), "epsg": declared,
                      "checksum": a.get("file:checksum"), "size": a.get("file:size"),
                      "datetime": props.get("datetime") or props.get("end_datetime")
                      or props.get("start_datetime")})
    extra = {"collection": s["collection"], "bbox_wgs84": bb, **({"datetime": when} if when else {})}
    return found(cfg, "stac_api", redact_url(s["url"]), newest_per_tile(tiles), **extra)


SOURCE = Source(mission="lidar", kind="stac_api", search=search, fetch=partial(fetch_tile, kind="stac_api"))
