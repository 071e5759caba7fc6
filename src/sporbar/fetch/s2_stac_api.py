"""Sentinel-2 L2A from a STAC API (``sources.sentinel2.stac_api``; shared parts in :mod:`sporbar.fetch.stac_api`).

Search: collection, area, dates and ``eo:cloud_cover <= max`` (the ``query`` extension;
checked again on the answer). Each hit is stored under its SAFE name (``s2:product_uri``,
else the item id).

Fetch: the wanted assets (sporbar keys B01..B12, SCL, metadata, granule-metadata) are
matched to the API's keys (Earth Search: ``red``, ``scl``, ``granule_metadata``; CDSE:
``B04_10m``...; else by ``eo:bands`` name). The raw item
(:func:`sporbar.stac.items.raw_s2.raw_s2_api_item`) keeps the API item's geometry, time,
cloud cover, grids and scale/offset, with sporbar's asset keys and ``sporbar:source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import pystac

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.missions import SENTINEL2
from sporbar.fetch.search import Found, search_params
from sporbar.fetch.source import Source
from sporbar.fetch.stac_api import FetchedAssets, fetch_assets, search_items, settings
from sporbar.redaction import redact_url
from sporbar.stac.items.raw_s2 import raw_s2_api_item

# sporbar key -> keys other APIs use for it
ALIASES: dict[str, tuple[str, ...]] = {
    "B01": ("coastal",), "B02": ("blue",), "B03": ("green",), "B04": ("red",),
    "B05": ("rededge1",), "B06": ("rededge2",), "B07": ("rededge3",), "B08": ("nir",),
    "B8A": ("nir08",), "B09": ("nir09",), "B10": ("cirrus",), "B11": ("swir16",), "B12": ("swir22",),
    "SCL": ("scl",), "metadata": ("product_metadata", "metadata"),
    "granule-metadata": ("granule_metadata", "granule-metadata"),
}


def scene_id(item: Mapping[str, Any]) -> str:
    """The SAFE product name of an API item (``s2:product_uri``), else its id."""
    uri = item.get("properties", {}).get("s2:product_uri")
    return str(uri.removesuffix(".SAFE") if uri else item["id"])


def search(cfg: Config) -> Found:
    """Search the API; return (query, scenes) for the search result file.

    Raises:
        NothingFoundError: no item matches (names AOI, dates and filters).
        AuthError / DownloadError: the API refused or failed.
    """
    s = settings(cfg, SENTINEL2.section)
    p = search_params(cfg, SENTINEL2.section)
    cloud = {"eo:cloud_cover": {"lte": p.max_cloud_cover}}
    query = {"url": redact_url(s["url"]), "collections": [s["collection"]], **p.as_dict(), "query": cloud}
    scenes = [
        {
            "id": scene_id(it),
            "item_id": it["id"],
            "datetime": it["properties"].get("datetime"),
            "cloud_cover": it["properties"].get("eo:cloud_cover"),
            "collection": it.get("collection"),
            "item": it,
        }
        for it in search_items(s, p, query=cloud)
        if it["properties"].get("eo:cloud_cover", 0) <= p.max_cloud_cover
    ]
    if not scenes:
        raise NothingFoundError(
            f"{redact_url(s['url'])}: the STAC API search found no items for "
            + p.describe(collection=s["collection"])
            + "; widen the dates (sources.sentinel2.date_range) or the cloud limit"
        )
    return query, scenes


def match_asset(assets: Mapping[str, Any], key: str) -> str | None:
    """The API's asset key for sporbar key ``key`` (None if the item has none)."""
    if key in assets:
        return key
    for alias in ALIASES.get(key, ()):
        if alias in assets:
            return alias
    for k in sorted(assets):  # CDSE: B04_10m, ... prefer the finest
        if k.startswith(f"{key}_"):
            return k
    for k, a in sorted(assets.items()):
        for b in a.get("eo:bands", []) or a.get("bands", []):
            if b.get("name") == key:
                return k
    return None


def wanted(remote: Mapping[str, Any], s: dict[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(sporbar key, API asset) of every asset ``sources.sentinel2.stac_api.assets`` asks for.

    Raises:
        MissingInputError: the API item lacks one (names the keys it has).
    """
    out = []
    for key in s["assets"]:
        api_key = match_asset(remote["assets"], key)
        if api_key is None:
            raise MissingInputError(
                f"{scene_id(remote)}: the STAC item has no asset for {key!r} "
                f"(has {', '.join(sorted(remote['assets']))}); fix sources.sentinel2.stac_api.assets"
            )
        out.append((key, remote["assets"][api_key]))
    return out


def build(remote: Mapping[str, Any], entry: dict[str, Any], assets: FetchedAssets) -> pystac.Item:
    """The raw item of a fetched API item (see :func:`raw_s2_api_item`)."""
    return raw_s2_api_item(remote, product_id=entry["id"], assets=assets)


fetch = partial(fetch_assets, mission=SENTINEL2, wanted=wanted, build=build)
SOURCE = Source(mission="sentinel2", kind="stac_api", search=search, fetch=fetch)
