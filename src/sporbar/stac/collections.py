"""One STAC Collection per product family, built from the templates shipped in the package.

The static metadata of each collection (title, description, keywords, providers and
their roles, access and status; Norwegian title and description under ``translations``)
lives in ``sporbar/stac/templates/<collection-id>.json`` (the top-level ``stac/templates``
points there); ``catalog.access`` of the config overrides a collection's access level
(``sporbar serve`` enforces it). The licence of sporbar's own products
comes from ``catalog.license`` in the config; raw third-party data keep the licence
their template states. The extent is computed from the items, so the output depends
only on the templates, the config and the items (no clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from importlib.resources import files
from typing import Any, Final

from sporbar.config import Config
from sporbar.errors import CatalogError
from sporbar.stac import extensions as ext

TEMPLATE_PACKAGE: Final = "sporbar.stac"
TEMPLATE_DIR: Final = "templates"

ACCESS: Final = ext.SPORBAR_PREFIX + "access"
STATUS: Final = ext.SPORBAR_PREFIX + "status"
#: template key of the other languages' title and description (not written into the collection)
TRANSLATIONS: Final = "translations"

# Whole world, for a collection whose items have no bbox (STAC needs one bbox).
WORLD_BBOX: Final = (-180.0, -90.0, 180.0, 90.0)


class Access(StrEnum):
    """``sporbar:access``: who may get the data of a collection."""

    OPEN = "open"
    RESTRICTED = "restricted"
    CLOSED = "closed"


class Status(StrEnum):
    """``sporbar:status``: how far the product is from routine production."""

    EXPERIMENTAL = "experimental"
    OPERATIONAL = "operational"
    DEPRECATED = "deprecated"


# catalog.license -> (STAC license field, licence link). NLOD 2.0 has no SPDX id, so
# STAC wants "other" plus a link with rel "license".
LICENSES: Final[Mapping[str, tuple[str, dict[str, str]]]] = {
    "NLOD-2.0": (
        "other",
        {
            "rel": "license",
            "href": "https://data.norge.no/nlod/no/2.0",
            "type": "text/html",
            "title": "Norsk lisens for offentlige data (NLOD) 2.0",
        },
    ),
    "CC-BY-4.0": (
        "CC-BY-4.0",
        {
            "rel": "license",
            "href": "https://creativecommons.org/licenses/by/4.0/",
            "type": "text/html",
            "title": "Creative Commons Attribution 4.0 International",
        },
    ),
}


def template(collection_id: str) -> dict[str, Any]:
    """The static metadata of collection ``collection_id`` (a fresh copy).

    Raises:
        CatalogError: no template for that id (names the known ids).
    """
    if collection_id not in ext.COLLECTIONS:
        raise CatalogError(
            f"{collection_id}: unknown collection (known: {', '.join(ext.COLLECTIONS)})"
        )
    res = files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR, f"{collection_id}.json")
    try:
        data: dict[str, Any] = json.loads(res.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise CatalogError(f"{res}: collection template missing; reinstall sporbar") from err
    Access(data[ACCESS])
    Status(data[STATUS])
    return data


def access_level(collection_id: str, cfg: Config) -> Access:
    """The access level of ``collection_id``: ``catalog.access`` of ``cfg`` if it names it, else the template's."""
    override = (cfg.data.get("catalog") or {}).get("access") or {}
    if collection_id in override:
        return Access(override[collection_id])
    return Access(template(collection_id)[ACCESS])


def translation(collection_id: str, language: str = "nb") -> dict[str, str]:
    """The ``title`` and ``description`` of collection ``collection_id`` in ``language``.

    Raises:
        CatalogError: the template has no such translation.
    """
    text = template(collection_id).get(TRANSLATIONS, {}).get(language)
    if not isinstance(text, dict) or not {"title", "description"} <= text.keys():
        raise CatalogError(
            f"{collection_id}: the collection template has no {TRANSLATIONS}.{language} title and description"
        )
    return {"title": str(text["title"]), "description": str(text["description"])}


def license_fields(cfg: Config) -> tuple[str, dict[str, str]]:
    """(STAC ``license`` value, licence link) for sporbar's products under ``cfg``."""
    name = cfg.data["catalog"]["license"]
    try:
        lic, link = LICENSES[name]
    except KeyError as err:
        raise CatalogError(
            f"{cfg.source}: key catalog/license: {name!r} is not one of {sorted(LICENSES)}"
        ) from err
    return lic, dict(link)


def extent(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The STAC ``extent`` covering ``items``: union of bboxes, span of datetimes.

    Item bboxes are WGS84 (STAC requires it); 3-D bboxes are reduced to 2-D. Items
    with no bbox (e.g. a model) do not count; if none has one, the whole world is used.
    Datetimes are ``datetime`` or ``start_datetime``/``end_datetime``, compared as ISO
    strings in UTC ('Z'), as sporbar writes them.
    """
    boxes: list[list[float]] = []
    times: list[str] = []
    for it in items:
        bbox = it.get("bbox")
        if bbox:
            boxes.append([bbox[0], bbox[1], bbox[3], bbox[4]] if len(bbox) == 6 else list(bbox))
        props = it.get("properties", {})
        for key in ("datetime", "start_datetime", "end_datetime"):
            if props.get(key):
                times.append(props[key])
    if boxes:
        bbox = [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
    else:
        bbox = list(WORLD_BBOX)
    interval = [min(times), max(times)] if times else [None, None]
    return {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}}


def collection_dict(
    collection_id: str,
    items: Iterable[Mapping[str, Any]],
    *,
    cfg: Config,
    links: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The Collection JSON of one family: template + licence + extent + ``links``.

    Args:
        collection_id: one of :data:`sporbar.stac.extensions.COLLECTIONS`.
        items: the item dicts the collection holds (for the extent).
        cfg: the config (``catalog.license`` for sporbar's products).
        links: structural links (root, parent, item...) to add before the licence link.

    Returns:
        A STAC 1.1.0 Collection dict with deterministic content.
    """
    t = template(collection_id)
    t[ACCESS] = access_level(collection_id, cfg).value
    t.pop(TRANSLATIONS, None)  # written as separate documents (sporbar.stac.language)
    own_links = t.pop("links", [])
    if "license" not in t:
        lic, link = license_fields(cfg)
        t["license"] = lic
        own_links = [link, *own_links]
    t.update(
        {
            "type": "Collection",
            "stac_version": ext.STAC_VERSION,
            "stac_extensions": [],
            "extent": extent(items),
            "links": [dict(link) for link in links] + own_links,
        }
    )
    return t
