"""Read a static STAC catalog (or one collection) with every collection and item it links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporbar.errors import CatalogError
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href


@dataclass(frozen=True)
class StacDoc:
    """A STAC object read from ``path``."""

    path: Path
    data: dict[str, Any]


def _children(doc: StacDoc, rel: str) -> list[Path]:
    return [
        resolve_href(link["href"], doc.path.parent)
        for link in doc.data.get("links", [])
        if link.get("rel") == rel and is_local_href(link.get("href", ""))
    ]


def read_catalog(catalog_json: Path) -> tuple[list[StacDoc], dict[str, list[StacDoc]]]:
    """The collections of a static catalog and, per collection id, its items.

    Raises:
        MissingInputError: the catalog or a file it links to does not exist.
        CatalogError: a linked file is not the STAC object expected there.
    """
    root = StacDoc(Path(catalog_json).resolve(), read_json(Path(catalog_json)))
    if root.data.get("type") != "Catalog" and root.data.get("type") != "Collection":
        raise CatalogError(f"{catalog_json}: not a STAC catalog (type {root.data.get('type')!r})")
    collections: list[StacDoc] = []
    items: dict[str, list[StacDoc]] = {}
    todo = [root]
    seen: set[Path] = set()
    while todo:
        doc = todo.pop()
        if doc.path in seen:
            continue
        seen.add(doc.path)
        if doc.data.get("type") == "Collection":
            collections.append(doc)
            cid = str(doc.data["id"])
            members = items.setdefault(cid, [])
            for p in _children(doc, "item"):
                item = StacDoc(p, read_json(p))
                if item.data.get("type") != "Feature":
                    raise CatalogError(f"{p}: linked as an item from {doc.path} but is not a STAC Item")
                members.append(item)
        for p in _children(doc, "child"):
            todo.append(StacDoc(p, read_json(p)))
    if not collections:
        raise CatalogError(f"{catalog_json}: the catalog has no collections")
    return sorted(collections, key=lambda d: str(d.data["id"])), items
