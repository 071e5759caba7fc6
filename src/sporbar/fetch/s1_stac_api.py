"""Sentinel-1 GRD from a STAC API (``sources.sentinel1.stac_api``; shared parts in :mod:`sporbar.fetch.stac_api`).

Search: the collection (default ``sentinel-1-grd``), area and dates; the hits are then
filtered on ``sar:product_type``, ``sar:instrument_mode`` and ``sar:polarizations`` (APIs
differ in which query languages they take, so the filters are applied here). Each hit is
stored under its product name (``s1:product_identifier``, else the item id).

Fetch: per polarisation of the item, the wanted kinds (``sources.sentinel1.stac_api.assets``:
measurement, annotation, calibration, noise, manifest) are matched to the API's keys
(``vv``, ``schema-product-vv``, ``schema-calibration-vv``, ``schema-noise-vv``,
``safe-manifest``). The raw item (:func:`sporbar.stac.items.raw_s1.raw_s1_api_item`)
keeps the API item's geometry, times, and sar/sat fields, with sporbar's asset keys
(those of :func:`~sporbar.stac.items.raw_s1.raw_s1_item`) and ``sporbar:source``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

import pystac

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.s1_names import filters, nothing_found_hint
from sporbar.fetch.search import Found, search_params
from sporbar.fetch.source import Source
from sporbar.fetch.stac_api import FetchedAssets, fetch_assets, search_items, settings
from sporbar.redaction import redact_url
from sporbar.stac.items.raw_s1 import raw_s1_api_item

log = logging.getLogger(__name__)


def api_keys(kind: str, pol: str | None) -> tuple[str, ...]:
    """The keys APIs use for asset ``kind`` of polarisation ``pol`` (lower case), best first."""
    if kind == "manifest":
        return ("safe-manifest", "safe_manifest", "manifest")
    assert pol is not None
    if kind == "measurement":
        return (pol, pol.upper(), f"measurement-{pol}")
    return (f"schema-{'product' if kind == 'annotation' else kind}-{pol}", f"{kind}-{pol}")


def sporbar_key(kind: str, pol: str | None) -> str:
    """The raw item's key of asset ``kind`` (as :func:`~sporbar.stac.items.raw_s1.raw_s1_item` names it)."""
    if kind == "manifest":
        return "manifest"
    assert pol is not None
    return pol if kind == "measurement" else f"{kind}-{pol}"


def scene_id(item: Mapping[str, Any]) -> str:
    """The product name of an API item (``s1:product_identifier``), else its id."""
    return str(item.get("properties", {}).get("s1:product_identifier") or item["id"]).removesuffix(".SAFE")


def _polarisations(item: Mapping[str, Any]) -> list[str]:
    return [str(p).upper() for p in item.get("properties", {}).get("sar:polarizations") or []]


def search(cfg: Config) -> Found:
    """Search the API; return (query, scenes) for the search result file.

    Raises:
        NothingFoundError: no item passes (names AOI, dates and filters).
        AuthError / DownloadError: the API refused or failed.
    """
    s = settings(cfg, SENTINEL1.section)
    p = search_params(cfg, SENTINEL1.section)
    f = filters(cfg)
    query = {"url": redact_url(s["url"]), "collections": [s["collection"]], **p.as_dict(), **f.as_dict()}
    scenes = []
    for it in search_items(s, p):
        props = it.get("properties", {})
        pols = _polarisations(it)
        if not (props.get("sar:instrument_mode") and pols) or not f.keeps(
            product_type=props.get("sar:product_type"), mode=props["sar:instrument_mode"], polarisations=pols
        ):  # not a SAR item (an API answering more than the collection), or beyond the filters
            log.info("%s: not %s, skipped", it.get("id"), f.as_dict())
            continue
        scenes.append({
            "id": scene_id(it),
            "item_id": it["id"],
            "datetime": props.get("datetime") or props.get("start_datetime"),
            "collection": it.get("collection"),
            "sensor_mode": props.get("sar:instrument_mode"),
            "polarisation": " ".join(pols),
            "item": it,
        })
    scenes.sort(key=lambda x: (x["datetime"] or "", x["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{redact_url(s['url'])}: the STAC API search found no Sentinel-1 items for "
            + p.describe(collection=s["collection"], **f.as_dict()) + nothing_found_hint()
        )
    return query, scenes


def wanted(remote: Mapping[str, Any], s: dict[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(sporbar key, API asset) of the manifest and, per polarisation, of every other kind asked for.

    Raises:
        MissingInputError: the API item lacks one (names the keys tried and the keys it has).
    """
    pols = [p.lower() for p in _polarisations(remote)]
    kinds: list[tuple[str, str | None]] = [(kind, None) for kind in s["assets"] if kind == "manifest"]
    kinds += [(kind, p) for p in pols for kind in s["assets"] if kind != "manifest"]
    out = []
    for kind, p in kinds:
        api_key = next((k for k in api_keys(kind, p) if k in remote["assets"]), None)
        if api_key is None:
            raise MissingInputError(
                f"{scene_id(remote)}: the STAC item has no {kind} asset{f' for {p.upper()}' if p else ''} (tried "
                f"{', '.join(api_keys(kind, p))}; has {', '.join(sorted(remote['assets']))}); "
                "fix sources.sentinel1.stac_api.assets"
            )
        out.append((sporbar_key(kind, p), remote["assets"][api_key]))
    return out


def build(remote: Mapping[str, Any], entry: dict[str, Any], assets: FetchedAssets) -> pystac.Item:
    """The raw item of a fetched API item (see :func:`raw_s1_api_item`)."""
    return raw_s1_api_item(remote, product_id=entry["id"], sensor_mode=entry.get("sensor_mode"), assets=assets)


fetch = partial(fetch_assets, mission=SENTINEL1, wanted=wanted, build=build)
SOURCE = Source(mission="sentinel1", kind="stac_api", search=search, fetch=fetch)
