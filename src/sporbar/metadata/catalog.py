"""Read a published static catalog for the metadata exporters.

The exporters see the catalog through :class:`PublishedCatalog`: the collections (by id),
the items of each collection (path and JSON), :meth:`PublishedCatalog.norwegian` (the
bokmål title and description the catalog publishes next to the English ones), and
:meth:`PublishedCatalog.href`, which turns a file of the catalog into the link written in the
metadata (relative to the catalog root, or absolute below ``base_url`` when the catalog is
served from there).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sporbar.errors import CatalogError
from sporbar.stac import extensions as ext
from sporbar.stac.collections import translation
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href
from sporbar.stac.language import NORWEGIAN, translations

# uuid5 namespace of every sporbar metadata identifier (fixed: identifiers must never change)
NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/sporbar/sporbar#metadata")


def metadata_uuid(kind: str, ident: str) -> str:
    """Stable record identifier: uuid5 of ``"<kind>:<ident>"`` (kind ``collection`` or ``item``)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{ident}"))


@dataclass(frozen=True)
class ItemRef:
    """An item of the catalog: where its JSON lies and what it holds."""

    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        """The item's STAC id."""
        return str(self.data["id"])

    @property
    def properties(self) -> dict[str, Any]:
        """A copy of the item's STAC properties (empty if it has none)."""
        return dict(self.data.get("properties", {}))


@dataclass
class PublishedCatalog:
    """A static catalog as written by ``sporbar publish``.

    Attributes:
        path: the root ``catalog.json`` (resolved).
        data: its JSON.
        collections: collection id -> collection JSON, sorted by id.
        collection_paths: collection id -> path of its ``collection.json``.
        items: collection id -> its items, sorted by id.
        base_url: URL the catalog folder is served from (None: links relative to it).
        translations: collection id (``None``: the catalog) -> language code -> ``title`` and
            ``description`` of the other-language versions the document links to.
    """

    path: Path
    data: dict[str, Any]
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    collection_paths: dict[str, Path] = field(default_factory=dict)
    items: dict[str, list[ItemRef]] = field(default_factory=dict)
    base_url: str | None = None
    translations: dict[str | None, dict[str, dict[str, str]]] = field(default_factory=dict)

    def norwegian(self, collection_id: str | None = None) -> dict[str, str]:
        """Bokmål ``title`` and ``description`` of a collection (``None``: of the catalog).

        The texts of the Norwegian version the catalog publishes (``collection.nb.json``, the
        one STAC Browser and the STAC API show); for a catalog published without one, the
        collection template's (the table that version is written from); else the English.
        """
        doc = self.data if collection_id is None else self.collections.get(collection_id, {})
        text = self.translations.get(collection_id, {}).get(NORWEGIAN["code"])
        if text is None and collection_id in ext.COLLECTIONS:
            text = _template_text(collection_id)
        if text is None:
            return {"title": str(doc.get("title", collection_id or "")), "description": str(doc.get("description", ""))}
        return dict(text)

    @property
    def root(self) -> Path:
        """The folder of the root ``catalog.json``, which every href is relative to."""
        return self.path.parent

    def href(self, target: Path) -> str:
        """Link to ``target`` (a file in or near the catalog) for the metadata records."""
        rel = Path(os.path.relpath(Path(target).resolve(), self.root)).as_posix()
        if self.base_url:
            return self.base_url.rstrip("/") + "/" + rel
        return rel

    def asset_href(self, item: ItemRef, key: str) -> str | None:
        """Link to asset ``key`` of ``item`` (None if the item has no such asset)."""
        asset = item.data.get("assets", {}).get(key)
        if asset is None:
            return None
        if not is_local_href(asset["href"]):
            return str(asset["href"])
        return self.href(resolve_href(asset["href"], item.path.parent))

    def collection_of(self, item_path: Path, data: dict[str, Any]) -> dict[str, Any]:
        """The collection JSON of an item (``{}`` when the catalog lacks it)."""
        return self.collections.get(str(data.get("collection")), {})


def _template_text(collection_id: str) -> dict[str, str] | None:
    try:
        return translation(collection_id, NORWEGIAN["code"])
    except CatalogError:  # a template without a translation: the English stands in
        return None


def read_catalog(catalog_json: Path, *, base_url: str | None = None) -> PublishedCatalog:
    """Read ``catalog_json`` and every collection and item it links to.

    Raises:
        MissingInputError: the catalog or a linked file does not exist.
        CatalogError: the root is not a STAC Catalog.
    """
    path = Path(catalog_json).resolve()
    data = read_json(path)
    if data.get("type") != "Catalog":
        raise CatalogError(
            f"{path}: not a STAC Catalog (type {data.get('type')!r}); give the catalog.json written by "
            "`sporbar publish`"
        )
    cat = PublishedCatalog(path=path, data=data, base_url=base_url)
    cat.translations[None] = translations(data, path.parent)
    for link in data.get("links", []):
        if link.get("rel") != "child" or not is_local_href(link.get("href", "")):
            continue
        cpath = resolve_href(link["href"], path.parent)
        coll = read_json(cpath)
        if coll.get("type") != "Collection":
            continue
        cid = str(coll["id"])
        cat.collections[cid] = coll
        cat.collection_paths[cid] = cpath
        cat.translations[cid] = translations(coll, cpath.parent)
        refs = []
        for il in coll.get("links", []):
            if il.get("rel") == "item" and is_local_href(il.get("href", "")):
                ipath = resolve_href(il["href"], cpath.parent)
                refs.append(ItemRef(ipath, read_json(ipath)))
        cat.items[cid] = sorted(refs, key=lambda r: r.id)
    cat.collections = dict(sorted(cat.collections.items()))
    return cat


def providers_of(collection: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The collection's providers that have a name."""
    return [dict(p) for p in collection.get("providers", []) if p.get("name")]


def provider_with(collection: Mapping[str, Any], roles: Sequence[str]) -> dict[str, Any] | None:
    """The first provider having the first of ``roles`` that any provider has, else the first provider."""
    provs = providers_of(collection)
    for role in roles:
        for p in provs:
            if role in p.get("roles", []):
                return p
    return provs[0] if provs else None


def licence_of(collection: Mapping[str, Any]) -> tuple[str, str] | None:
    """(href, title) of the collection's licence, or None.

    Its ``license`` link (title: the link's, else the ``license`` id), else the SPDX page of its
    ``license`` id; None for ``other``, ``proprietary`` or ``various`` without a link.
    """
    for link in collection.get("links", []):
        if link.get("rel") == "license" and link.get("href"):
            href = str(link["href"])
            return href, str(link.get("title") or collection.get("license", href))
    lic = collection.get("license")
    if lic and lic not in ("other", "proprietary", "various"):
        return f"https://spdx.org/licenses/{lic}", str(lic)
    return None


def processing_datetime(data: dict[str, Any]) -> str | None:
    """The item's ``processing:datetime`` (ISO string in UTC), if any."""
    value = data.get("properties", {}).get(ext.PROCESSING_DATETIME)
    return str(value) if value else None


def time_span(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(start, end) of an item: ``start/end_datetime`` or ``datetime`` twice."""
    props = data.get("properties", {})
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    return (str(start) if start else None, str(end) if end else None)
