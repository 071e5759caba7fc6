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
``gmx:Anchor`` to the OGC EPSG URI, title, abstract, creation/publication dates, status,
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

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from lxml import etree

from sporbar.metadata.catalog import (
    ItemRef,
    PublishedCatalog,
    metadata_uuid,
    processing_datetime,
    time_span,
)
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import read_json
from sporbar.stac.collections import ACCESS, STATUS

GMD: Final = "http://www.isotc211.org/2005/gmd"
GCO: Final = "http://www.isotc211.org/2005/gco"
GMX: Final = "http://www.isotc211.org/2005/gmx"
GML: Final = "http://www.opengis.net/gml/3.2"
XLINK: Final = "http://www.w3.org/1999/xlink"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP: Final = {"gmd": GMD, "gco": GCO, "gmx": GMX, "gml": GML, "xlink": XLINK, "xsi": XSI}
SCHEMA_LOCATION: Final = (
    "http://www.isotc211.org/2005/gmd http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd "
    "http://www.isotc211.org/2005/gmx http://schemas.opengis.net/iso/19139/20070417/gmx/gmx.xsd"
)
CODELISTS: Final = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
LANGUAGE_CODELIST: Final = "http://www.loc.gov/standards/iso639-2/"

SERIES_TYPE_NAME: Final = "series_geographic"
TILE_TYPE_NAME: Final = "tile"
DEFAULT_EPSG: Final = "EPSG:25833"
DEFAULT_RESOLUTION_M: Final = 10.0

# STAC provider role -> CI_RoleCode of the resource's pointOfContact
PROVIDER_ROLES: Final = {
    "licensor": "owner",
    "producer": "originator",
    "processor": "processor",
    "host": "publisher",
}
# sporbar:status -> MD_ProgressCode
PROGRESS: Final = {"experimental": "underDevelopment", "operational": "onGoing", "deprecated": "obsolete"}
# sporbar:access -> (INSPIRE LimitationsOnPublicAccess value, Geonorge label); NORWEGIAN-PROFILE 3.2
ACCESS_LIMITS: Final = {
    "open": ("noLimitations", "Åpne data"),
    "restricted": ("INSPIRE_Directive_Article13_1d", "Norge digitalt-begrenset"),
    "closed": ("INSPIRE_Directive_Article13_1b", "Skjermede data"),
}
INSPIRE_ACCESS: Final = "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
NO_CONDITIONS: Final = (
    "http://inspire.ec.europa.eu/metadata-codelist/ConditionsApplyingToAccessAndUse/noConditionsApply",
    "No conditions apply to access and use",
)
# licence link href -> the label Geonorge records use
LICENCE_LABELS: Final = {
    "https://data.norge.no/nlod/no/2.0": "Norsk lisens for offentlige data (NLOD) 2.0",
    "https://creativecommons.org/licenses/by/4.0/": "Creative Commons BY 4.0 (CC BY 4.0)",
}
# (thesaurus title, thesaurus href, publication date, keywords [(label, concept href or None)])
THESAURI: Final[Mapping[str, tuple[str, str, str, list[tuple[str, str | None]]]]] = {
    ext.COLLECTION_MAPS: (
        "Nasjonal tematisk inndeling (DOK-kategori)",
        "https://register.geonorge.no/metadata-kodelister/nasjonal-temainndeling",
        "2014-10-28",
        [("Natur", None)],
    ),
}
INSPIRE_THEMES: Final[Mapping[str, tuple[str, str]]] = {
    ext.COLLECTION_MAPS: ("Arealdekke", "http://inspire.ec.europa.eu/theme/lc"),
}
INSPIRE_THESAURUS: Final = ("GEMET - INSPIRE themes, version 1.0", "http://inspire.ec.europa.eu/theme", "2008-06-01")
TOPIC_CATEGORIES: Final = ("environment", "imageryBaseMapsEarthCover")
RAW_COLLECTIONS: Final = (ext.COLLECTION_S2_RAW, ext.COLLECTION_LIDAR_RAW, ext.COLLECTION_LABELS_RAW)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _el(parent: etree._Element | None, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    qtag = _q(ns, tag)
    e = etree.Element(qtag, nsmap=NSMAP) if parent is None else etree.SubElement(parent, qtag)
    for k, v in attrs.items():
        e.set(k, v)
    if text is not None:
        e.text = text
    return e


def _gmd(parent: etree._Element, tag: str) -> etree._Element:
    return _el(parent, GMD, tag)


def _string(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<gmd:tag><gco:CharacterString>text</…></gmd:tag>``."""
    e = _gmd(parent, tag)
    _el(e, GCO, "CharacterString", text)
    return e


def _anchor(parent: etree._Element, tag: str, text: str, href: str) -> etree._Element:
    e = _gmd(parent, tag)
    a = _el(e, GMX, "Anchor", text)
    a.set(_q(XLINK, "href"), href)
    return e


def _code(parent: etree._Element, tag: str, codelist: str, value: str) -> etree._Element:
    """``<gmd:tag><gmd:<codelist> codeList=… codeListValue=value/></gmd:tag>``."""
    e = _gmd(parent, tag)
    _el(e, GMD, codelist, codeList=f"{CODELISTS}#{codelist}", codeListValue=value)
    return e


def _language(parent: etree._Element) -> None:
    e = _gmd(parent, "language")
    _el(e, GMD, "LanguageCode", "Norsk", codeList=LANGUAGE_CODELIST, codeListValue="nor")


def _date_value(value: str) -> tuple[str, str]:
    """(gco element, text) for an ISO date or date-time string."""
    if "T" in value:
        return "DateTime", value.replace("+00:00", "Z")
    return "Date", value


def _ci_date(parent: etree._Element, value: str, date_type: str) -> None:
    d = _gmd(_gmd(parent, "date"), "CI_Date")
    kind, text = _date_value(value)
    _el(_gmd(d, "date"), GCO, kind, text)
    _code(d, "dateType", "CI_DateTypeCode", date_type)


def _citation(
    parent: etree._Element,
    title: str,
    dates: Sequence[tuple[str, str]],
    identifier: tuple[str, str | None] | None = None,
) -> etree._Element:
    c = _gmd(parent, "CI_Citation")
    _string(c, "title", title)
    for value, date_type in dates:
        _ci_date(c, value, date_type)
    if identifier is not None:
        code, href = identifier
        ident = _gmd(_gmd(c, "identifier"), "MD_Identifier")
        if href:
            _anchor(ident, "code", code, href)
        else:
            _string(ident, "code", code)
    return c


def _party(
    parent: etree._Element,
    organisation: str,
    role: str,
    *,
    email: str | None = None,
    url: str | None = None,
) -> None:
    p = _gmd(parent, "CI_ResponsibleParty")
    _string(p, "organisationName", organisation)
    if email or url:
        contact = _gmd(_gmd(p, "contactInfo"), "CI_Contact")
        if email:
            addr = _gmd(_gmd(contact, "address"), "CI_Address")
            _string(addr, "electronicMailAddress", email)
        if url:
            res = _gmd(_gmd(contact, "onlineResource"), "CI_OnlineResource")
            _el(_gmd(res, "linkage"), GMD, "URL", url)
    _code(p, "role", "CI_RoleCode", role)


def _providers(collection: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(p) for p in collection.get("providers", []) if p.get("name")]


def _provider_with(collection: Mapping[str, Any], roles: Sequence[str]) -> dict[str, Any] | None:
    """The first provider having the first of ``roles`` that any provider has."""
    provs = _providers(collection)
    for role in roles:
        for p in provs:
            if role in p.get("roles", []):
                return p
    return provs[0] if provs else None


def _metadata_contact(root: etree._Element, collection: Mapping[str, Any], email: str | None) -> None:
    p = _provider_with(collection, ("host", "processor", "licensor", "producer"))
    name = p["name"] if p else "sporbar"
    _party(_gmd(root, "contact"), name, "pointOfContact", email=email, url=p.get("url") if p else None)


def _points_of_contact(ident: etree._Element, collection: Mapping[str, Any], email: str | None) -> None:
    for p in _providers(collection):
        for stac_role in ("licensor", "producer", "processor", "host"):
            if stac_role in p.get("roles", []):
                _party(
                    _gmd(ident, "pointOfContact"),
                    p["name"],
                    PROVIDER_ROLES[stac_role],
                    email=email if stac_role in ("licensor", "host") else None,
                    url=p.get("url"),
                )


def _licence(collection: Mapping[str, Any]) -> tuple[str, str] | None:
    """(href, label) of the collection's licence, or None."""
    for link in collection.get("links", []):
        if link.get("rel") == "license" and link.get("href"):
            href = str(link["href"])
            return href, LICENCE_LABELS.get(href, str(link.get("title") or collection.get("license", href)))
    lic = collection.get("license")
    if lic and lic not in ("other", "proprietary", "various"):
        return f"https://spdx.org/licenses/{lic}", str(lic)
    return None


def _constraints(ident: etree._Element, collection: Mapping[str, Any]) -> None:
    access = str(collection.get(ACCESS, "open"))
    lic = _licence(collection)
    use = _gmd(_gmd(ident, "resourceConstraints"), "MD_Constraints")
    _string(
        use,
        "useLimitation",
        f"Bruk er regulert av lisensen: {lic[1]}." if lic else "Ingen begrensninger på bruk er oppgitt.",
    )
    value, label = ACCESS_LIMITS.get(access, ACCESS_LIMITS["closed"])
    acc = _gmd(_gmd(ident, "resourceConstraints"), "MD_LegalConstraints")
    _code(acc, "accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    _anchor(acc, "otherConstraints", label, INSPIRE_ACCESS + value)
    legal = _gmd(_gmd(ident, "resourceConstraints"), "MD_LegalConstraints")
    _code(legal, "useConstraints", "MD_RestrictionCode", "otherRestrictions")
    href, text = (lic[0], lic[1]) if lic else NO_CONDITIONS
    _anchor(legal, "otherConstraints", text, href)


def _keywords(ident: etree._Element, collection: Mapping[str, Any]) -> None:
    free = [str(k) for k in collection.get("keywords", [])]
    if free:
        kw = _gmd(_gmd(ident, "descriptiveKeywords"), "MD_Keywords")
        for k in free:
            _string(kw, "keyword", k)
        _code(kw, "type", "MD_KeywordTypeCode", "theme")
    cid = str(collection.get("id", ""))
    blocks: list[tuple[str, str, str, list[tuple[str, str | None]]]] = []
    if cid in THESAURI:
        blocks.append(THESAURI[cid])
    if cid in INSPIRE_THEMES:
        label, href = INSPIRE_THEMES[cid]
        blocks.append((*INSPIRE_THESAURUS, [(label, href)]))
    for title, href, date, words in blocks:
        kw = _gmd(_gmd(ident, "descriptiveKeywords"), "MD_Keywords")
        for label, concept in words:
            if concept:
                _anchor(kw, "keyword", label, concept)
            else:
                _string(kw, "keyword", label)
        _code(kw, "type", "MD_KeywordTypeCode", "theme")
        th = _gmd(_gmd(kw, "thesaurusName"), "CI_Citation")
        _anchor(th, "title", title, href)
        _ci_date(th, date, "publication")


def _decimal(value: float) -> str:
    return f"{value:.7f}".rstrip("0").rstrip(".")


def _gml_id(prefix: str, ident: str) -> str:
    """An NCName for ``gml:id``."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", ident)


def _extent(
    ident: etree._Element, bbox: Sequence[float] | None, span: tuple[str | None, str | None], gml_id: str
) -> None:
    ex = _gmd(_gmd(ident, "extent"), "EX_Extent")
    if bbox:
        w, s, e, n = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else tuple(bbox)
        box = _gmd(_gmd(ex, "geographicElement"), "EX_GeographicBoundingBox")
        for tag, v in (
            ("westBoundLongitude", w),
            ("eastBoundLongitude", e),
            ("southBoundLatitude", s),
            ("northBoundLatitude", n),
        ):
            _el(_gmd(box, tag), GCO, "Decimal", _decimal(float(v)))
    start, end = span
    if start or end:
        ext_ = _gmd(_gmd(_gmd(ex, "temporalElement"), "EX_TemporalExtent"), "extent")
        tp = _el(ext_, GML, "TimePeriod")
        tp.set(_q(GML, "id"), gml_id)
        for tag, when in (("beginPosition", start), ("endPosition", end)):
            pos = _el(tp, GML, tag, when or None)
            if not when:
                pos.set("indeterminatePosition", "unknown")


def _resolution(items: Iterable[ItemRef]) -> float:
    for it in items:
        transform = it.properties.get("proj:transform")
        if transform:
            return abs(float(transform[0]))
        for asset in it.data.get("assets", {}).values():
            for band in asset.get("raster:bands", []):
                if band.get("spatial_resolution"):
                    return float(band["spatial_resolution"])
    return DEFAULT_RESOLUTION_M


def _epsg(items: Iterable[ItemRef]) -> str:
    for it in items:
        code = it.properties.get("proj:code")
        if code:
            return str(code)
    return DEFAULT_EPSG


def _header(
    root: etree._Element,
    file_id: str,
    level: str,
    level_name: str,
    collection: Mapping[str, Any],
    date_stamp: str,
    email: str | None,
    parent_id: str | None = None,
) -> None:
    _string(root, "fileIdentifier", file_id)
    _language(root)
    _code(root, "characterSet", "MD_CharacterSetCode", "utf8")
    if parent_id:
        _string(root, "parentIdentifier", parent_id)
    _code(root, "hierarchyLevel", "MD_ScopeCode", level)
    _string(root, "hierarchyLevelName", level_name)
    _metadata_contact(root, collection, email)
    kind, text = _date_value(date_stamp)
    _el(_gmd(root, "dateStamp"), GCO, kind, text)
    _string(root, "metadataStandardName", "ISO19115")
    _string(root, "metadataStandardVersion", "2003")


def _reference_system(root: etree._Element, epsg: str) -> None:
    rs = _gmd(_gmd(_gmd(_gmd(root, "referenceSystemInfo"), "MD_ReferenceSystem"), "referenceSystemIdentifier"),
              "RS_Identifier")  # fmt: skip
    code = epsg.split(":")[-1]
    _anchor(rs, "code", f"EPSG:{code}", f"http://www.opengis.net/def/crs/EPSG/0/{code}")
    _string(rs, "codeSpace", "EPSG")


def _thumbnail(ident: etree._Element, href: str | None) -> None:
    if not href:
        return
    g = _gmd(_gmd(ident, "graphicOverview"), "MD_BrowseGraphic")
    _string(g, "fileName", href)
    _string(g, "fileDescription", "thumbnail")
    _string(g, "fileType", "PNG")


def _data_identification(
    root: etree._Element,
    *,
    title: str,
    abstract: str,
    dates: Sequence[tuple[str, str]],
    identifier: tuple[str, str | None],
    collection: Mapping[str, Any],
    email: str | None,
    thumbnail: str | None,
    resolution: float,
    bbox: Sequence[float] | None,
    span: tuple[str | None, str | None],
    gml_id: str,
    aggregate: tuple[str, str] | None = None,
) -> None:
    ident = _gmd(_gmd(root, "identificationInfo"), "MD_DataIdentification")
    _citation(_gmd(ident, "citation"), title, dates, identifier)
    _string(ident, "abstract", abstract)
    _code(ident, "status", "MD_ProgressCode", PROGRESS.get(str(collection.get(STATUS)), "underDevelopment"))
    _points_of_contact(ident, collection, email)
    maint = _gmd(_gmd(ident, "resourceMaintenance"), "MD_MaintenanceInformation")
    _code(maint, "maintenanceAndUpdateFrequency", "MD_MaintenanceFrequencyCode", "asNeeded")
    _thumbnail(ident, thumbnail)
    _keywords(ident, collection)
    _constraints(ident, collection)
    if aggregate is not None:
        title_, parent_uuid = aggregate
        agg = _gmd(_gmd(ident, "aggregationInfo"), "MD_AggregateInformation")
        c = _gmd(_gmd(agg, "aggregateDataSetName"), "CI_Citation")
        _string(c, "title", title_)
        _ci_date(c, dates[0][0], dates[0][1])
        _string(_gmd(_gmd(agg, "aggregateDataSetIdentifier"), "MD_Identifier"), "code", parent_uuid)
        _code(agg, "associationType", "DS_AssociationTypeCode", "largerWorkCitation")
    _code(ident, "spatialRepresentationType", "MD_SpatialRepresentationTypeCode", "grid")
    res = _gmd(_gmd(ident, "spatialResolution"), "MD_Resolution")
    _el(_gmd(res, "distance"), GCO, "Distance", _decimal(resolution), uom="m")
    _language(ident)
    _code(ident, "characterSet", "MD_CharacterSetCode", "utf8")
    for cat in TOPIC_CATEGORIES:
        _el(_gmd(ident, "topicCategory"), GMD, "MD_TopicCategoryCode", cat)
    _extent(ident, bbox, span, gml_id)


def _distribution(
    root: etree._Element,
    collection: Mapping[str, Any],
    links: Sequence[tuple[str, str, str, str]],
) -> None:
    """GeoTIFF (COG) format with its distributor and online resources (Geonorge's nested form).

    ``links``: (url, protocol, name, function code).
    """
    dist = _gmd(_gmd(root, "distributionInfo"), "MD_Distribution")
    fmt = _gmd(_gmd(dist, "distributionFormat"), "MD_Format")
    _string(fmt, "name", "GeoTIFF")
    _gmd(fmt, "version").set(_q(GCO, "nilReason"), "inapplicable")
    _string(fmt, "specification", "Cloud Optimized GeoTIFF (OGC 21-026)")
    distributor = _gmd(_gmd(fmt, "formatDistributor"), "MD_Distributor")
    p = _provider_with(collection, ("host", "processor", "licensor"))
    _party(_gmd(distributor, "distributorContact"), p["name"] if p else "sporbar", "distributor")
    opts = _gmd(_gmd(distributor, "distributorTransferOptions"), "MD_DigitalTransferOptions")
    _string(opts, "unitsOfDistribution", "rute")
    for url, protocol, name, function in links:
        res = _gmd(_gmd(opts, "onLine"), "CI_OnlineResource")
        _el(_gmd(res, "linkage"), GMD, "URL", url)
        _string(res, "protocol", protocol)
        _string(res, "name", name)
        _code(res, "function", "CI_OnLineFunctionCode", function)


# ---------------------------------------------------------------- lineage


def _source(parent: etree._Element, description: str, title: str, date: str | None, href: str | None) -> None:
    src = _gmd(_gmd(parent, "source"), "LI_Source")
    _string(src, "description", description)
    cit = _gmd(src, "sourceCitation")
    _citation(cit, title, [(date, "creation")] if date else [], (title, href))
    if not date:  # CI_Citation needs a date: say it is unknown
        c = cit[0]
        d = etree.Element(_q(GMD, "date"))
        d.set(_q(GCO, "nilReason"), "unknown")
        c.insert(1, d)


def _lineage_root(root: etree._Element, level: str, statement: str) -> etree._Element:
    dq = _gmd(_gmd(root, "dataQualityInfo"), "DQ_DataQuality")
    _code(_gmd(_gmd(dq, "scope"), "DQ_Scope"), "level", "MD_ScopeCode", level)
    li = _gmd(_gmd(dq, "lineage"), "LI_Lineage")
    _string(li, "statement", statement)
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


def lineage_steps(item_path: Path) -> tuple[list[Any], list[Any]]:
    """(process nodes, raw nodes) of the ``derived_from`` graph of the item at ``item_path``.

    Process nodes are the items with inputs, ordered from the raw data up (by depth, then
    collection and id); raw nodes are the leaves (items without inputs, or missing ones).
    """
    from sporbar.stac.lineage import leaves, lineage

    top = lineage(item_path)
    depth: dict[int, int] = {}

    def height(n: Any) -> int:
        if id(n) not in depth:
            depth[id(n)] = 1 + max((height(c) for c in n.children), default=-1)
        return depth[id(n)]

    seen: dict[int, Any] = {}
    todo = [top]
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen[id(n)] = n
            todo.extend(n.children)
    steps = sorted((n for n in seen.values() if n.children), key=lambda n: (height(n), n.collection, n.id))
    return steps, leaves(top)


def _item_lineage(li: etree._Element, cat: PublishedCatalog, item: ItemRef) -> None:
    steps, raw = lineage_steps(item.path)
    for node in steps:
        data = _node_info(node.path)
        coll = cat.collections.get(node.collection, {})
        ps = _gmd(_gmd(li, "processStep"), "LI_ProcessStep")
        _string(ps, "description", f"{node.collection}/{node.id}: {node.lineage or '(ingen processing:lineage)'}")
        rationale = _step_rationale(data)
        if rationale:
            _string(ps, "rationale", rationale)
        when = processing_datetime(data)
        if when:
            _el(_gmd(ps, "dateTime"), GCO, "DateTime", when)
        p = _provider_with(coll, ("processor", "producer", "host"))
        _party(_gmd(ps, "processor"), p["name"] if p else "sporbar", "processor", url=p.get("url") if p else None)
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
        coll = cat.collections.get(node.collection, {})
        title = coll.get("title", node.collection)
        _source(
            li,
            f"Rådata {node.collection}/{node.id} ({title})" + (" (MANGLER)" if node.missing else ""),
            node.id,
            _source_date(data),
            None if node.missing else cat.href(node.path),
        )


def _collection_lineage(li: etree._Element, cat: PublishedCatalog, cid: str) -> None:
    """One process step per collection family reached from the product's items; one
    source per raw collection reached."""
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
        ps = _gmd(_gmd(li, "processStep"), "LI_ProcessStep")
        first = next((n.lineage for n in nodes if n.lineage), "")
        _string(
            ps,
            "description",
            f"{c} ({coll.get('title', c)}, {len(nodes)} element(er): {', '.join(n.id for n in nodes)}): {first}",
        )
        dates = sorted(d for d in (processing_datetime(_node_info(n.path)) for n in nodes) if d)
        if dates:
            _el(_gmd(ps, "dateTime"), GCO, "DateTime", dates[-1])
        p = _provider_with(coll, ("processor", "producer", "host"))
        _party(_gmd(ps, "processor"), p["name"] if p else "sporbar", "processor", url=p.get("url") if p else None)
    for c in order:
        if c not in RAW_COLLECTIONS and any(n.children for n in families[c]):
            continue
        coll = cat.collections.get(c, {})
        nodes = sorted(families[c], key=lambda n: n.id)
        dates = sorted(d for d in (_source_date(_node_info(n.path)) for n in nodes) if d)
        href = cat.href(cat.collection_paths[c]) if c in cat.collection_paths else None
        _source(
            li,
            f"Rådata {c} ({coll.get('title', c)}): {', '.join(n.id for n in nodes)}",
            str(coll.get("title", c)),
            dates[0] if dates else None,
            href,
        )


# ---------------------------------------------------------------- records


def _new_root() -> etree._Element:
    root = _el(None, GMD, "MD_Metadata")
    root.set(_q(XSI, "schemaLocation"), SCHEMA_LOCATION)
    return root


def collection_uuid(collection_id: str) -> str:
    """fileIdentifier of the product record of a collection."""
    return metadata_uuid("collection", collection_id)


def item_uuid(collection_id: str, item_id: str) -> str:
    """fileIdentifier of the tile record of an item."""
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
    _header(root, collection_uuid(collection_id), "series", SERIES_TYPE_NAME, coll, stamp, email)
    _reference_system(root, _epsg(items))
    spatial = coll.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0] or None
    interval = coll.get("extent", {}).get("temporal", {}).get("interval", [[None, None]])[0]
    thumb = next((cat.asset_href(i, "thumbnail") for i in items if "thumbnail" in i.data.get("assets", {})), None)
    abstract = (
        f"{coll.get('description', '')} Produktet er delt i {len(items)} rute(r) på 10 m-rutenettet "
        f"({_epsg(items)}); hver rute har egen metadata med parentIdentifier til denne serien. "
        "Sporbarhet: hver rute er et STAC-element med derived_from-lenker tilbake til rådata."
    ).strip()
    _data_identification(
        root,
        title=str(coll.get("title", collection_id)),
        abstract=abstract,
        dates=[(stamp, "creation"), (stamp, "publication")],
        identifier=(collection_id, cat.href(cat.collection_paths[collection_id])),
        collection=coll,
        email=email,
        thumbnail=thumb,
        resolution=_resolution(items),
        bbox=spatial,
        span=(interval[0], interval[1]),
        gml_id=_gml_id("tp", collection_id),
    )
    links = [
        (cat.href(cat.collection_paths[collection_id]), "WWW:LINK-1.0-http--related", "STAC Collection", "information")
    ]
    _distribution(root, coll, links)
    li = _lineage_root(
        root,
        "series",
        f"{coll.get('title', collection_id)}: laget av sporbar fra Sentinel-2 L2A, luftbåren laserskanning "
        "og referansedata. Hvert trinn er registrert som et STAC-element med processing-utvidelsen; "
        "prosesstrinnene under er per produktfamilie, rutenes egne poster har hvert element.",
    )
    _collection_lineage(li, cat, collection_id)
    return root


def item_record(cat: PublishedCatalog, item: ItemRef, *, email: str | None = None) -> etree._Element:
    """The tile record of ``item`` (parentIdentifier = its collection's product record)."""
    cid = str(item.data.get("collection", ""))
    coll = cat.collections.get(cid, {})
    stamp = processing_datetime(item.data) or "1970-01-01"
    root = _new_root()
    parent = collection_uuid(cid)
    _header(root, item_uuid(cid, item.id), "dataset", TILE_TYPE_NAME, coll, stamp, email, parent_id=parent)
    _reference_system(root, _epsg([item]))
    tile = item.properties.get("proj:bbox")
    ctitle = str(coll.get("title", cid))
    abstract = (
        f"{coll.get('description', '')} Denne posten beskriver ruten {item.id}"
        + (f" (EPSG-koordinater {', '.join(_decimal(float(v)) for v in tile)})" if tile else "")
        + ". Sporbarhet: se prosesshistorien (LI_ProcessStep per trinn, LI_Source per rådataelement)."
    ).strip()
    start, end = time_span(item.data)
    _data_identification(
        root,
        title=f"{ctitle} – {item.id}",
        abstract=abstract,
        dates=[(stamp, "creation"), (stamp, "publication")],
        identifier=(item.id, cat.href(item.path)),
        collection=coll,
        email=email,
        thumbnail=cat.asset_href(item, "thumbnail"),
        resolution=_resolution([item]),
        bbox=item.data.get("bbox"),
        span=(start, end),
        gml_id=_gml_id("tp", item.id),
        aggregate=(ctitle, parent),
    )
    links = [(cat.href(item.path), "WWW:LINK-1.0-http--related", "STAC Item", "information")]
    for key in sorted(item.data.get("assets", {})):
        asset = item.data["assets"][key]
        if "data" in asset.get("roles", []) and "tiff" in str(asset.get("type", "")):
            href = cat.asset_href(item, key)
            if href:
                links.append((href, "WWW:DOWNLOAD-1.0-http--download", key, "download"))
    _distribution(root, coll, links)
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
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


__all__ = [
    "collection_record",
    "collection_uuid",
    "item_record",
    "item_uuid",
    "lineage_steps",
    "to_bytes",
]
