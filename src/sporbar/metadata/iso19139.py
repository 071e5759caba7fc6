"""ISO 19115/19139 metadata records following the Norwegian profile (SOSI Del 1, Geonorge).

Two kinds of record, both ``gmd:MD_Metadata`` in the ISO/TS 19139:2007 encoding with
GML 3.2 (``http://www.opengis.net/gml/3.2``):

- **product record** (:func:`collection_record`) for a published collection such as
  ``land-ecology-maps``. Since the product is also described tile by tile, it is a
  *series* record (``hierarchyLevel`` ``series``, ``hierarchyLevelName``
  ``series_geographic``), as Geonorge expresses a product split by area (see
  ``NORWEGIAN-PROFILE.md`` section 5).
- **tile record** (:func:`item_record`) for one item: ``hierarchyLevel`` ``dataset``,
  ``hierarchyLevelName`` ``tile``, ``parentIdentifier`` = the product record's
  ``fileIdentifier``, plus an aggregation link (``largerWorkCitation``) to the product.

Both carry the metadata core (identifier, language ``nor``, ``utf8``, contacts from the
collection's providers, date stamp from ``processing:datetime``, reference system as a
``gmx:Anchor`` to the OGC EPSG URI, title, abstract and use limitation in bokmål with the English beside them
(``PT_FreeText`` of the ``ENG`` locale; the Norwegian texts are the catalog's own,
:meth:`PublishedCatalog.norwegian`), creation/publication dates, status,
topic categories, keywords with the DOK and INSPIRE theme thesauri, bounding box and time
period, access and licence constraints, grid representation at the raster resolution,
GeoTIFF (COG) distribution) and a lineage built from the provenance: a tile record has one
``LI_ProcessStep`` per item of its ``derived_from`` graph (description =
``processing:lineage``, date = ``processing:datetime``, processor = the collection's
processing provider, sources = the step's inputs) and one ``LI_Source`` per raw item
reached. The product record summarises the lineage per collection family.

Identifiers are uuid5 of the collection / item id, dates come from the items (no clock),
and the XML is written with sorted, fixed content, so the same catalog gives the same bytes.
Validation against the ISO 19139 XML schemas is done by the tests (the schema bundle is
not shipped in the package).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from sporbar.metadata.catalog import (
    ItemRef,
    PublishedCatalog,
    metadata_uuid,
    processing_datetime,
    provider_with,
    time_span,
)
from sporbar.metadata.iso_codes import (
    GCO,
    GMD,
    RAW_COLLECTIONS,
    SCHEMA_LOCATION,
    SERIES_TYPE_NAME,
    TILE_TYPE_NAME,
    XSI,
    Text,
    citation,
    code_value,
    decimal,
    el,
    gmd,
    ncname_id,
    party,
    q,
    string,
)
from sporbar.metadata.iso_quality import add_accuracy_reports
from sporbar.metadata.iso_sections import (
    add_data_identification,
    add_distribution,
    add_header,
    add_reference_system,
    epsg_of,
    resolution_of,
)
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import read_json
from sporbar.stac.items.accuracy import ACCURACY
from sporbar.stac.lineage import LineageNode, graph_nodes, heights, leaves, lineage

# ---------------------------------------------------------------- lineage


def _source(parent: etree._Element, description: str, title: str, date: str | None, href: str | None) -> None:
    src = gmd(gmd(parent, "source"), "LI_Source")
    string(src, "description", description)
    cit = gmd(src, "sourceCitation")
    citation(cit, title, [(date, "creation")] if date else [], (title, href))
    if not date:  # CI_Citation needs a date: say it is unknown
        c = cit[0]
        d = etree.Element(q(GMD, "date"))
        d.set(q(GCO, "nilReason"), "unknown")
        c.insert(1, d)


def _lineage_root(root: etree._Element, level: str, statement: str) -> etree._Element:
    dq = gmd(gmd(root, "dataQualityInfo"), "DQ_DataQuality")
    code_value(gmd(gmd(dq, "scope"), "DQ_Scope"), "level", "MD_ScopeCode", level)
    li = gmd(gmd(dq, "lineage"), "LI_Lineage")
    string(li, "statement", statement)
    return li


def _node_info(path: Path) -> dict[str, Any]:
    try:
        return read_json(path)
    except Exception:  # noqa: BLE001 - a missing/broken ancestor is still listed as a source
        return {}


def _source_date(data: Mapping[str, Any]) -> str | None:
    start, _ = time_span(dict(data))
    return start or processing_datetime(dict(data))


def _step_rationale(data: Mapping[str, Any]) -> str:
    props = data.get("properties", {})
    expr = props.get(ext.PROCESSING_EXPRESSION, {}).get("expression", {})
    soft = props.get(ext.PROCESSING_SOFTWARE, {})
    parts = []
    if expr.get("command"):
        parts.append(f"Kommando {expr['command']}" + (f" (regel {expr['rule']})" if expr.get("rule") else ""))
    if soft.get("sporbar"):
        parts.append(f"sporbar {soft['sporbar']}")
    if props.get(ext.SPORBAR_CODE_VERSION):
        parts.append(f"kode {props[ext.SPORBAR_CODE_VERSION]}")
    if props.get(ext.PROCESSING_FACILITY):
        parts.append(f"anlegg {props[ext.PROCESSING_FACILITY]}")
    if props.get(ext.SPORBAR_CONFIG_HASH):
        parts.append(f"konfigurasjon {props[ext.SPORBAR_CONFIG_HASH]}")
    return "; ".join(parts)


def lineage_steps(item_path: Path) -> tuple[list[LineageNode], list[LineageNode]]:
    """(process nodes, raw nodes) of the ``derived_from`` graph of the item at ``item_path``.

    Process nodes are the items with inputs, ordered from the raw data up (by depth, then
    collection and id); raw nodes are the leaves (items without inputs, or missing ones).
    """
    top = lineage(item_path)
    height = heights(top)
    steps = sorted(
        (n for n in graph_nodes(top) if n.children), key=lambda n: (height[id(n)], n.collection, n.id)
    )
    return steps, leaves(top)


def _item_lineage(li: etree._Element, cat: PublishedCatalog, item: ItemRef) -> None:
    steps, raw = lineage_steps(item.path)
    for node in steps:
        data = _node_info(node.path)
        coll = cat.collections.get(node.collection, {})
        ps = gmd(gmd(li, "processStep"), "LI_ProcessStep")
        string(ps, "description", f"{node.collection}/{node.id}: {node.lineage or '(ingen processing:lineage)'}")
        rationale = _step_rationale(data)
        if rationale:
            string(ps, "rationale", rationale)
        when = processing_datetime(data)
        if when:
            el(gmd(ps, "dateTime"), GCO, "DateTime", when)
        p = provider_with(coll, ("processor", "producer", "host"))
        party(gmd(ps, "processor"), p["name"] if p else "sporbar", "processor", url=p.get("url") if p else None)
        for child in node.children:
            cdata = _node_info(child.path)
            _source(
                ps,
                f"Inndata: {child.collection}/{child.id}" + (" (MANGLER)" if child.missing else ""),
                child.id,
                _source_date(cdata),
                None if child.missing else cat.href(child.path),
            )
    for node in raw:
        data = _node_info(node.path)
        title = cat.norwegian(node.collection)["title"]
        _source(
            li,
            f"Rådata {node.collection}/{node.id} ({title})" + (" (MANGLER)" if node.missing else ""),
            node.id,
            _source_date(data),
            None if node.missing else cat.href(node.path),
        )


def _collection_lineage(li: etree._Element, cat: PublishedCatalog, cid: str) -> None:
    """The lineage of a product: its process steps and sources.

    One process step per collection family reached from the product's items; one source per
    raw collection reached.
    """
    families: dict[str, list[Any]] = {}
    for item in cat.items.get(cid, []):
        steps, raw = lineage_steps(item.path)
        for n in [*steps, *raw]:
            families.setdefault(n.collection, [])
            if all(m.path != n.path for m in families[n.collection]):
                families[n.collection].append(n)
    order = [c for c in ext.COLLECTIONS if c in families] + sorted(c for c in families if c not in ext.COLLECTIONS)
    for c in order:
        if c in RAW_COLLECTIONS or all(not n.children for n in families[c]):
            continue
        coll = cat.collections.get(c, {})
        nodes = sorted(families[c], key=lambda n: n.id)
        ps = gmd(gmd(li, "processStep"), "LI_ProcessStep")
        first = next((n.lineage for n in nodes if n.lineage), "")
        string(
            ps,
            "description",
            f"{c} ({cat.norwegian(c)['title']}, {len(nodes)} element(er): {', '.join(n.id for n in nodes)}): {first}",
        )
        dates = sorted(d for d in (processing_datetime(_node_info(n.path)) for n in nodes) if d)
        if dates:
            el(gmd(ps, "dateTime"), GCO, "DateTime", dates[-1])
        p = provider_with(coll, ("processor", "producer", "host"))
        party(gmd(ps, "processor"), p["name"] if p else "sporbar", "processor", url=p.get("url") if p else None)
    for c in order:
        if c not in RAW_COLLECTIONS and any(n.children for n in families[c]):
            continue
        title = cat.norwegian(c)["title"]
        nodes = sorted(families[c], key=lambda n: n.id)
        dates = sorted(d for d in (_source_date(_node_info(n.path)) for n in nodes) if d)
        href = cat.href(cat.collection_paths[c]) if c in cat.collection_paths else None
        _source(
            li,
            f"Rådata {c} ({title}): {', '.join(n.id for n in nodes)}",
            title,
            dates[0] if dates else None,
            href,
        )


# ---------------------------------------------------------------- records


def _new_root() -> etree._Element:
    root = el(None, GMD, "MD_Metadata")
    root.set(q(XSI, "schemaLocation"), SCHEMA_LOCATION)
    return root


def collection_uuid(collection_id: str) -> str:
    """FileIdentifier of the product record of a collection."""
    return metadata_uuid("collection", collection_id)


def item_uuid(collection_id: str, item_id: str) -> str:
    """FileIdentifier of the tile record of an item."""
    return metadata_uuid("item", f"{collection_id}/{item_id}")


def _latest(items: Iterable[ItemRef]) -> str | None:
    dates = sorted(d for d in (processing_datetime(i.data) for i in items) if d)
    return dates[-1] if dates else None


def collection_record(cat: PublishedCatalog, collection_id: str, *, email: str | None = None) -> etree._Element:
    """The product (series) record of collection ``collection_id`` of ``cat``."""
    coll = cat.collections[collection_id]
    items = cat.items.get(collection_id, [])
    stamp = _latest(items) or "1970-01-01"
    root = _new_root()
    add_header(root, collection_uuid(collection_id), "series", SERIES_TYPE_NAME, coll, stamp, email)
    add_reference_system(root, epsg_of(items))
    spatial = coll.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0] or None
    interval = coll.get("extent", {}).get("temporal", {}).get("interval", [[None, None]])[0]
    thumb = next((cat.asset_href(i, "thumbnail") for i in items if "thumbnail" in i.data.get("assets", {})), None)
    nb = cat.norwegian(collection_id)
    abstract = Text(
        nb=(
            f"{nb['description']} Produktet er delt i {len(items)} rute(r) på 10 m-rutenettet "
            f"({epsg_of(items)}); hver rute har egen metadata med parentIdentifier til denne serien. "
            "Sporbarhet: hver rute er et STAC-element med derived_from-lenker tilbake til rådata."
        ).strip(),
        en=(
            f"{coll.get('description', '')} The product is split into {len(items)} tile(s) on the 10 m grid "
            f"({epsg_of(items)}); each tile has its own record whose parentIdentifier is this series. "
            "Traceability: each tile is a STAC item with derived_from links back to the raw data."
        ).strip(),
    )
    add_data_identification(
        root,
        title=Text(nb["title"], str(coll.get("title", collection_id))),
        abstract=abstract,
        dates=[(stamp, "creation"), (stamp, "publication")],
        identifier=(collection_id, cat.href(cat.collection_paths[collection_id])),
        collection=coll,
        email=email,
        thumbnail=thumb,
        resolution=resolution_of(items),
        bbox=spatial,
        span=(interval[0], interval[1]),
        gml_id=ncname_id("tp", collection_id),
    )
    links = [
        (cat.href(cat.collection_paths[collection_id]), "WWW:LINK-1.0-http--related", "STAC Collection", "information")
    ]
    add_distribution(root, coll, links)
    li = _lineage_root(
        root,
        "series",
        f"{nb['title']}: laget av sporbar fra Sentinel-2 L2A, luftbåren laserskanning "
        "og referansedata. Hvert trinn er registrert som et STAC-element med processing-utvidelsen; "
        "prosesstrinnene under er per produktfamilie, rutenes egne poster har hvert element.",
    )
    _collection_lineage(li, cat, collection_id)
    assessments = {i.id: i for i in cat.items.get(ext.COLLECTION_ACCURACY, [])}
    for assessment_id, summary in sorted(coll.get(ACCURACY, {}).items()):
        found = assessments.get(assessment_id)
        add_accuracy_reports(li.getparent(), summary, processing_datetime(found.data) if found else None)
    return root


def item_record(cat: PublishedCatalog, item: ItemRef, *, email: str | None = None) -> etree._Element:
    """The tile record of ``item`` (parentIdentifier = its collection's product record)."""
    cid = str(item.data.get("collection", ""))
    coll = cat.collections.get(cid, {})
    stamp = processing_datetime(item.data) or "1970-01-01"
    root = _new_root()
    parent = collection_uuid(cid)
    add_header(root, item_uuid(cid, item.id), "dataset", TILE_TYPE_NAME, coll, stamp, email, parent_id=parent)
    add_reference_system(root, epsg_of([item]))
    tile = item.properties.get("proj:bbox")
    corners = ", ".join(decimal(float(v)) for v in tile) if tile else ""
    nb = cat.norwegian(cid)
    ctitle = Text(nb["title"], str(coll.get("title", cid)))
    abstract = Text(
        nb=(
            f"{nb['description']} Denne posten beskriver ruten {item.id}"
            + (f" (EPSG-koordinater {corners})" if tile else "")
            + ". Sporbarhet: se prosesshistorien (LI_ProcessStep per trinn, LI_Source per rådataelement)."
        ).strip(),
        en=(
            f"{coll.get('description', '')} This record describes tile {item.id}"
            + (f" (EPSG coordinates {corners})" if tile else "")
            + ". Traceability: see the lineage (an LI_ProcessStep per step, an LI_Source per raw item)."
        ).strip(),
    )
    start, end = time_span(item.data)
    add_data_identification(
        root,
        title=Text(f"{ctitle.nb} – {item.id}", f"{ctitle.en} – {item.id}"),
        abstract=abstract,
        dates=[(stamp, "creation"), (stamp, "publication")],
        identifier=(item.id, cat.href(item.path)),
        collection=coll,
        email=email,
        thumbnail=cat.asset_href(item, "thumbnail"),
        resolution=resolution_of([item]),
        bbox=item.data.get("bbox"),
        span=(start, end),
        gml_id=ncname_id("tp", item.id),
        aggregate=(ctitle, parent),
    )
    links = [(cat.href(item.path), "WWW:LINK-1.0-http--related", "STAC Item", "information")]
    for key in sorted(item.data.get("assets", {})):
        asset = item.data["assets"][key]
        if "data" in asset.get("roles", []) and "tiff" in str(asset.get("type", "")):
            href = cat.asset_href(item, key)
            if href:
                links.append((href, "WWW:DOWNLOAD-1.0-http--download", key, "download"))
    add_distribution(root, coll, links)
    li = _lineage_root(
        root,
        "dataset",
        f"Ruten {item.id} er laget av sporbar; prosesstrinnene følger derived_from-grafen fra rådata "
        "til kartet (ett trinn per STAC-element), kildene er rådataelementene den bygger på.",
    )
    _item_lineage(li, cat, item)
    return root


def to_bytes(root: etree._Element) -> bytes:
    """The record as UTF-8 XML bytes (declaration, two-space indent, final newline)."""
    etree.indent(root, space="  ")
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


__all__ = [
    "collection_record",
    "collection_uuid",
    "item_record",
    "item_uuid",
    "lineage_steps",
    "to_bytes",
]
