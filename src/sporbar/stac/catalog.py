"""Build the static STAC catalog of a run (``sporbar publish``).

The catalog is a self-contained static catalog with relative links::

    <root>/catalog/catalog.json
    <root>/catalog/<collection>/collection.json
    <root>/catalog/<collection>/<item-id>/<item-id>.json

Items are *copies* of the ``item.json`` files the steps wrote: asset hrefs point back
at the data where it lies (``../../../ard/...``) and ``derived_from`` links point at
the copies of the input items, so the catalog can be walked (``sporbar lineage``) and
checked (``sporbar verify``) on its own. Source items are only read, never written,
so Snakemake's timestamps stay valid. The catalog is built in a temporary folder and
swapped in whole, so an interrupted publish never leaves half a catalog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sporbar.config import Config
from sporbar.errors import CatalogError, MissingInputError
from sporbar.io import atomic_path, dumps_json
from sporbar.stac import extensions as ext
from sporbar.stac.approval import APPROVAL, approval_fields
from sporbar.stac.collection_preview import add_collection_preview
from sporbar.stac.collections import collection_dict, translation
from sporbar.stac.hrefs import derived_from_paths, is_local_href, read_json, relative_href, resolve_href
from sporbar.stac.items.accuracy import ACCURACY
from sporbar.stac.language import add_norwegian
from sporbar.stac.layout import ItemLayout
from sporbar.stac.lineage import LineageNode, lineage
from sporbar.stac.lineage_svg import FILENAME, SVG_MEDIA_TYPE, lineage_svg
from sporbar.stac.tile_index import tile_index_assets, tile_index_files, tile_index_frame
from sporbar.stac.validate import validate_dict
from sporbar.stac.versions import series_items, series_of, version_links, version_order

CATALOG_FILENAME: Final = "catalog.json"
COLLECTION_FILENAME: Final = "collection.json"
CATALOG_ID: Final = "sporbar"
# Written into every catalog folder: a later publish recognises its own folder by it, also
# after Snakemake deleted catalog.json (the rule's output) before re-running the rule.
MARKER_FILENAME: Final = ".sporbar-catalog"
MARKER_TEXT: Final = (
    "This folder is a static STAC catalog written by `sporbar publish` (root: catalog.json).\n"
    "`sporbar publish` replaces it as a whole; do not keep other files here.\n"
)

# Links that describe the catalog structure; rebuilt, never copied from a source item.
STRUCTURAL_RELS: Final = frozenset({"self", "root", "parent", "collection", "child", "item"})
VIA_TITLE: Final = "The item as the step wrote it, beside its data"


@dataclass(frozen=True)
class CatalogSummary:
    """What ``build_catalog`` wrote.

    Attributes:
        catalog: path of the root ``catalog.json``.
        items_per_collection: collection id -> number of items, sorted by id.
        n_assets: number of assets over all items.
    """

    catalog: Path
    items_per_collection: dict[str, int]
    n_assets: int

    @property
    def n_items(self) -> int:
        """Number of items in the catalog."""
        return sum(self.items_per_collection.values())

    def lines(self) -> list[str]:
        """Human-readable summary, one line per collection, then the total."""
        out = [f"{cid}: {n} item(s)" for cid, n in self.items_per_collection.items()]
        out.append(f"{self.catalog}: {self.n_items} item(s), {self.n_assets} asset(s)")
        return out


@dataclass(frozen=True)
class _Source:
    path: Path  # resolved path of the source item.json
    data: dict[str, Any]
    collection: str

    @property
    def id(self) -> str:
        return str(self.data["id"])


def collect_items(item_paths: Sequence[Path], layout: ItemLayout) -> dict[Path, _Source]:
    """Read the given items and every ancestor reached through ``derived_from``.

    Args:
        item_paths: the items to start from.
        layout: tells an item's collection from its path (stage items have no collection field).

    Returns:
        Resolved item path -> the item read, with its collection.

    Raises:
        MissingInputError: a given item, or an input an item links to, does not exist.
        CatalogError: an item is not a STAC Item or has no known collection.
    """
    found: dict[Path, _Source] = {}
    todo: list[tuple[Path, Path | None]] = [(Path(p).resolve(), None) for p in item_paths]
    while todo:
        path, child = todo.pop()
        if path in found:
            continue
        if not path.exists():
            if child is None:
                raise MissingInputError(f"{path}: item not found")
            raise MissingInputError(
                f"{child}: derived_from link points to {path}, which does not exist"
            )
        data = read_json(path)
        if data.get("type") != "Feature":
            raise CatalogError(f"{path}: not a STAC Item (type {data.get('type')!r})")
        found[path] = _Source(path, data, layout.infer_collection(data, path))
        todo.extend((p, path) for p in derived_from_paths(data, path))
        # every version of a model or training set, not only the one this run used
        todo.extend((p, path) for p in series_items(path, data) if p not in found)
    return found


def _item_copy(
    src: _Source, dest: Path, copies: Mapping[Path, Path], cat_dir: Path
) -> dict[str, Any]:
    """The catalog copy of ``src``, to be stored at ``dest`` (hrefs relative to it)."""
    d: dict[str, Any] = json.loads(json.dumps(src.data))  # deep copy
    here, base = dest.parent, src.path.parent
    d["collection"] = src.collection
    for asset in d.get("assets", {}).values():
        if is_local_href(asset["href"]):
            asset["href"] = relative_href(resolve_href(asset["href"], base), here)
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": relative_href(cat_dir / CATALOG_FILENAME, here), "type": ext.JSON},
        {"rel": "parent", "href": "../" + COLLECTION_FILENAME, "type": ext.JSON},
        {"rel": "collection", "href": "../" + COLLECTION_FILENAME, "type": ext.JSON},
    ]
    # the item as the step wrote it, beside its data: what the stages read, checked by verify
    others = [{"rel": ext.VIA, "href": relative_href(src.path, here), "type": ext.JSON, "title": VIA_TITLE}]
    for link in d.get("links", []):
        if link.get("rel") in STRUCTURAL_RELS or link.get("rel") == ext.VIA:
            continue
        link = dict(link)
        if is_local_href(link.get("href", "")):
            target = resolve_href(link["href"], base)
            link["href"] = relative_href(copies.get(target, target), here)
        others.append(link)
    others.sort(key=lambda k: (k.get("rel", ""), k.get("href", "")))
    d["links"] = links + others
    return d


def _add_version_links(
    sources: Mapping[Path, _Source],
    copies: Mapping[Path, Path],
    docs: dict[Path, dict[str, Any]],
    *,
    current: set[Path],
) -> None:
    """Version links and ``deprecated`` on the copies of every versioned item (``sporbar.stac.versions``)."""
    series: dict[tuple[str, str], list[tuple[Path, Mapping[str, Any]]]] = {}
    for path, src in sources.items():
        name = series_of(src.data)
        if name is not None:
            series.setdefault((src.collection, name), []).append((path, src.data))
    for members in series.values():
        ordered = version_order(members, current)
        hrefs = {a: {b: relative_href(copies[b], copies[a].parent) for b in ordered} for a in ordered}
        titles = {p: sources[p].id for p in ordered}
        for path, (deprecated, links) in version_links(ordered, hrefs, titles).items():
            doc = docs[copies[path]]
            if deprecated:
                doc["properties"][ext.DEPRECATED] = True
            fixed, others = doc["links"][:3], doc["links"][3:] + links
            others.sort(key=lambda k: (k.get("rel", ""), k.get("href", "")))
            doc["links"] = fixed + others


def _lineage_pictures(
    sources: Mapping[Path, _Source],
    copies: Mapping[Path, Path],
    docs: dict[Path, dict[str, Any]],
    layout: ItemLayout,
) -> dict[Path, bytes]:
    """``lineage.svg`` for the copy of every map item, linked from the copy with rel ``related``.

    The SVG draws the item's derived_from graph back to the raw items, boxes linking to the item copies.
    """
    out: dict[Path, bytes] = {}
    for path, src in sorted(sources.items()):
        if src.collection != ext.COLLECTION_MAPS:
            continue
        dest = copies[path]
        svg = dest.parent / FILENAME

        def href(n: LineageNode, here: Path = dest.parent) -> str:
            return relative_href(copies.get(n.path, n.path), here)

        text = lineage_svg(lineage(path, layout=layout), href=href)
        out[svg] = text.encode("utf-8")
        doc = docs[dest]
        fixed, others = doc["links"][:3], doc["links"][3:]
        others.append(
            {
                "rel": "related",
                "href": "./" + FILENAME,
                "type": SVG_MEDIA_TYPE,
                "title": "Lineage: derived_from graph back to the raw data (SVG)",
            }
        )
        others.sort(key=lambda k: (k.get("rel", ""), k.get("href", "")))
        doc["links"] = fixed + others
    return out


def _tile_index(
    collection: dict[str, Any], items: list[tuple[dict[str, Any], Path]], coll_dir: Path, *, license_id: str
) -> dict[Path, bytes]:
    """Add the tile index assets to the map ``collection``; return the index files to write."""
    frame = tile_index_frame(items, coll_dir, license_id=license_id, accuracy=collection.get(ACCURACY))
    files = tile_index_files(frame)
    collection["assets"] = {**collection.get("assets", {}), **tile_index_assets(files)}
    if ext.FILE_SCHEMA_URI not in collection["stac_extensions"]:
        collection["stac_extensions"].append(ext.FILE_SCHEMA_URI)
    return {coll_dir / name: data for name, data in files.items()}


def _write(path: Path, obj: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dumps_json(obj).encode("utf-8"))


def is_former_catalog(cat_dir: Path) -> bool:
    """True when ``cat_dir`` was written by ``sporbar publish`` (it may have lost its catalog.json).

    A folder counts when it holds the publish marker, or (a catalog written before the
    marker existed) when it holds nothing but collection folders, each with its collection.json.
    """
    if (cat_dir / MARKER_FILENAME).is_file():
        return True
    entries = list(cat_dir.iterdir())
    return bool(entries) and all(
        e.is_dir() and e.name in ext.COLLECTIONS and (e / COLLECTION_FILENAME).is_file() for e in entries
    )


def _check_out(out: Path) -> Path:
    """The catalog folder of ``out``, if publish may replace it.

    Raises:
        CatalogError: ``out`` is not named catalog.json, or its folder holds other files and
            was not written by publish.
    """
    if out.name != CATALOG_FILENAME:
        raise CatalogError(f"{out}: the catalog output must be named {CATALOG_FILENAME}")
    cat_dir = out.parent
    if cat_dir.is_dir() and not out.exists() and any(cat_dir.iterdir()) and not is_former_catalog(cat_dir):
        raise CatalogError(
            f"{cat_dir}: folder exists, holds no {CATALOG_FILENAME} and was not written by sporbar publish "
            f"(no {MARKER_FILENAME}); publish replaces the whole folder, so give an output in its own "
            "folder (e.g. results/catalog/catalog.json)"
        )
    return cat_dir


def _summarise_accuracy(
    coll: dict[str, Any], assessments: Mapping[str, _Source], copies: Mapping[Path, Path], coll_path: Path
) -> None:
    """Put the headline accuracy of each assessment item into the map collection, with a link to it.

    ``sporbar:accuracy`` maps the assessment item id to its summary (overall accuracy and class
    areas with 95 % CIs); the link (rel ``related``) leads to the item with the full estimates.
    """
    found = {i: s for i, s in sorted(assessments.items()) if ACCURACY in s.data.get("properties", {})}
    if not found:
        return
    coll[ACCURACY] = {i: s.data["properties"][ACCURACY] for i, s in found.items()}
    links = coll["links"]
    at = next((n for n, lk in enumerate(links) if lk.get("rel") not in STRUCTURAL_RELS), len(links))
    links[at:at] = [
        {"rel": "related", "href": relative_href(copies[s.path], coll_path.parent), "type": "application/geo+json",
         "title": f"Accuracy assessment {i}"}
        for i, s in found.items()
    ]


def build_catalog(
    item_paths: Sequence[Path],
    out: Path,
    *,
    cfg: Config,
    layout: ItemLayout,
    schema_dir: Path | None = None,
) -> CatalogSummary:
    """Publish ``item_paths`` and all their ancestors as a static catalog at ``out``.

    Args:
        item_paths: ``item.json`` files written by the steps (ancestors are added).
        out: the root ``catalog.json``; its folder is replaced as a whole.
        cfg: the config (licence of products, area name for the catalog title).
        layout: where the run writes each collection's items (``ItemLayout.from_patterns``).
        schema_dir: offline schema bundle (default: the one shipped in the package).

    Returns:
        The number of items per collection and the catalog path.

    Raises:
        MissingInputError: an item or one of its inputs does not exist.
        CatalogError: an item has no known collection, two items share an id in one
            collection, or a written object is not valid STAC (lists every problem).
    """
    if not item_paths:
        raise CatalogError(f"{out}: no items to publish; give at least one item.json")
    out = Path(out).resolve()
    cat_dir = _check_out(out)
    sources = collect_items(item_paths, layout)

    copies: dict[Path, Path] = {}
    by_coll: dict[str, dict[str, _Source]] = {}
    for src in sorted(sources.values(), key=lambda s: (s.collection, s.id, str(s.path))):
        if not src.id or "/" in src.id or "\\" in src.id or src.id in (".", ".."):
            raise CatalogError(f"{src.path}: item id {src.id!r} is not a valid file name")
        seen = by_coll.setdefault(src.collection, {})
        if src.id in seen:
            raise CatalogError(
                f"{src.path}: item id {src.id!r} is also used by {seen[src.id].path} in "
                f"collection {src.collection!r}; item ids must be unique in a collection"
            )
        seen[src.id] = src
        copies[src.path] = cat_dir / src.collection / src.id / f"{src.id}.json"

    docs: dict[Path, dict[str, Any]] = {}
    for path, src in sources.items():
        docs[copies[path]] = _item_copy(src, copies[path], copies, cat_dir)
    _add_version_links(sources, copies, docs, current={Path(p).resolve() for p in item_paths})
    extras = _lineage_pictures(sources, copies, docs, layout)
    area = cfg.data["area"]["name"]
    root_links: list[dict[str, Any]] = [
        {"rel": "root", "href": "./" + CATALOG_FILENAME, "type": ext.JSON, "title": "sporbar"}
    ]
    for cid in sorted(by_coll):
        members = sorted(by_coll[cid].values(), key=lambda s: s.id)
        coll_path = cat_dir / cid / COLLECTION_FILENAME
        links = [
            {"rel": "root", "href": "../" + CATALOG_FILENAME, "type": ext.JSON},
            {"rel": "parent", "href": "../" + CATALOG_FILENAME, "type": ext.JSON},
        ] + [
            {
                "rel": "item",
                "href": relative_href(copies[s.path], coll_path.parent),
                "type": "application/geo+json",
                "title": s.id,
            }
            for s in members
        ]
        docs[coll_path] = collection_dict(cid, [s.data for s in members], cfg=cfg, links=links)
        member_copies = [(docs[copies[s.path]], copies[s.path]) for s in members]
        extras |= add_collection_preview(docs[coll_path], member_copies, coll_path)
        approved = approval_fields(cfg.root, cid, [docs[copies[s.path]] for s in members])
        if approved is not None:
            docs[coll_path][APPROVAL] = approved
        if cid == ext.COLLECTION_MAPS:
            items = [(s.data, s.path.parent) for s in members]
            _summarise_accuracy(docs[coll_path], by_coll.get(ext.COLLECTION_ACCURACY, {}), copies, coll_path)
            extras |= _tile_index(docs[coll_path], items, coll_path.parent, license_id=cfg.data["catalog"]["license"])
        root_links.append(
            {
                "rel": "child",
                "href": f"./{cid}/{COLLECTION_FILENAME}",
                "type": ext.JSON,
                "title": docs[coll_path].get("title", cid),
            }
        )
    docs[out] = {
        "type": "Catalog",
        "stac_version": ext.STAC_VERSION,
        "stac_extensions": [],
        "id": CATALOG_ID,
        "title": f"sporbar land-ecology products: {area}",
        "description": (
            f"Every output of the sporbar pipeline for area {area!r}, with its provenance: "
            "processing extension, derived_from links back to the raw data, and file "
            "checksums of every asset."
        ),
        "links": root_links,
    }

    norwegian = {cat_dir / cid / COLLECTION_FILENAME: translation(cid) for cid in by_coll}
    norwegian[out] = {
        "title": f"sporbar landøkologiske produkter: {area}",
        "description": f"Alle resultater fra sporbar for området {area!r}, med opphav: prosesseringsutvidelsen, "
        "derived_from-lenker tilbake til rådataene og sjekksummer for alle filer.",
    }
    add_norwegian(docs, norwegian)

    problems = []
    for path in sorted(docs):
        problems += [f"{path}: {p}" for p in validate_dict(docs[path], schema_dir=schema_dir)]
    if problems:
        raise CatalogError(f"{out}: catalog not written; invalid STAC:\n  " + "\n  ".join(problems))

    with atomic_path(cat_dir) as tmp:
        tmp.mkdir()
        (tmp / MARKER_FILENAME).write_text(MARKER_TEXT, encoding="utf-8")
        for path in sorted(docs):
            _write(tmp / path.relative_to(cat_dir), docs[path])
        for path in sorted(extras):
            (tmp / path.relative_to(cat_dir)).write_bytes(extras[path])
    return CatalogSummary(
        catalog=out,
        items_per_collection={cid: len(by_coll[cid]) for cid in sorted(by_coll)},
        n_assets=sum(len(s.data.get("assets", {})) for s in sources.values()),
    )
