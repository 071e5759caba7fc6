"""Airborne lidar from a point-cloud STAC API (``sources.lidar.stac_api``).

Search: the items of the collection within the area's WGS84 bbox (and ``date_range``,
if set, as the search ``datetime``), all pages; an item is kept when its ``proj:bbox``
overlaps the area and its ``proj:code``/``proj:epsg`` is ``sources.lidar.epsg`` (others
are skipped with a warning: their ``proj:bbox`` is in another CRS). Two items with the
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

from odc.geo.geom import box

from sporbar.config import Config
from sporbar.errors import ConfigError
from sporbar.fetch.lidar_files import area, credentials, fetch_tile, found, overlaps, settings, tile_id
from sporbar.fetch.search import Found
from sporbar.fetch.source import Source
from sporbar.redaction import redact_url

log = logging.getLogger(__name__)


def item_epsg(props: dict[str, Any]) -> int | None:
    """The EPSG code an item declares (``proj:code`` ``EPSG:<n>`` or ``proj:epsg``), if any."""
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    epsg = props.get("proj:epsg")
    return int(epsg) if isinstance(epsg, int) else None


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
    epsg = int(cfg.data["sources"]["lidar"]["epsg"])
    w, so, e, n = box(*area(cfg), cfg.data["grid"]["crs"]).to_crs("EPSG:4326").boundingbox
    bb = [math.floor(w * 1e7) / 1e7, math.floor(so * 1e7) / 1e7, math.ceil(e * 1e7) / 1e7,
          math.ceil(n * 1e7) / 1e7]  # rounded outwards: it still holds the whole area
    dr = s.get("date_range")
    when = f"{dr['start']}/{dr['end']}" if dr else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client.open(s["url"], headers=credentials(s, s["url"]).headers())
        items = list(client.search(collections=[s["collection"]], bbox=bb, datetime=when).items_as_dicts())
    key = s.get("asset", "data")
    tiles: list[dict[str, Any]] = []
    for it in items:
        props = it.get("properties") or {}
        pb, a, declared = props.get("proj:bbox"), (it.get("assets") or {}).get(key), item_epsg(props)
        if not pb or a is None or len(pb) not in (4, 6):
            log.warning("%s: item %s has no %s asset or no proj:bbox; skipped", redact_url(s["url"]), it.get("id"), key)
            continue
        if declared is not None and declared != epsg:
            log.warning("%s: item %s is in EPSG:%s, not sources.lidar.epsg EPSG:%s; skipped",
                        redact_url(s["url"]), it.get("id"), declared, epsg)
            continue
        x0, y0, x1, y1 = (float(v) for v in (pb[:2] + pb[3:5] if len(pb) == 6 else pb))
        b = (x0, y0, x1, y1)
        if not overlaps(b, area(cfg)):  # the WGS84 bbox searched is larger than the area
            continue
        self_href = next((ln["href"] for ln in it.get("links", []) if ln.get("rel") == "self"), s["url"])
        tiles.append({"id": tile_id(b), "href": urljoin(self_href, a["href"]), "bounds": list(b),
                      "item_id": it.get("id"), "epsg": declared,
                      "checksum": a.get("file:checksum"), "size": a.get("file:size"),
                      "datetime": props.get("datetime") or props.get("end_datetime")
                      or props.get("start_datetime")})
    extra = {"collection": s["collection"], "bbox_wgs84": bb, **({"datetime": when} if when else {})}
    return found(cfg, "stac_api", redact_url(s["url"]), newest_per_tile(tiles), **extra)


SOURCE = Source(mission="lidar", kind="stac_api", search=search, fetch=partial(fetch_tile, kind="stac_api"))
