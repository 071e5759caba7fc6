"""The sections of an ISO 19139 ``gmd:MD_Metadata`` record, filled from STAC collections and items.

Each ``add_*`` function appends one section (header, contacts, identification with
constraints, keywords and extent, reference system, distribution) to a record element; the
``*_of`` functions read what a section needs from the STAC JSON. The record builders in
:mod:`sporbar.metadata.iso19139` put the sections together in the order the schema requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lxml import etree

from sporbar.metadata.catalog import ItemRef, licence_of, provider_with, providers_of
from sporbar.metadata.iso_codes import (
    ACCESS_LIMITS,
    DEFAULT_EPSG,
    DEFAULT_RESOLUTION_M,
    GCO,
    GMD,
    GML,
    INSPIRE_ACCESS,
    INSPIRE_THEMES,
    INSPIRE_THESAURUS,
    LICENCE_LABELS,
    NO_CONDITIONS,
    PROGRESS,
    PROVIDER_ROLES,
    THESAURI,
    TOPIC_CATEGORIES,
    Text,
    anchor,
    ci_date,
    citation,
    code_value,
    date_value,
    decimal,
    el,
    english_locale,
    gmd,
    language,
    localised,
    party,
    q,
    string,
)
from sporbar.stac.collections import ACCESS, STATUS

#: STAC provider roles in the order the metadata contact is chosen by
CONTACT_ROLES = ("host", "processor", "licensor", "producer")


def add_metadata_contact(root: etree._Element, collection: Mapping[str, Any], email: str | None) -> None:
    """``gmd:contact``: the host (else processor, licensor, producer) provider, or sporbar."""
    p = provider_with(collection, CONTACT_ROLES)
    name = p["name"] if p else "sporbar"
    party(gmd(root, "contact"), name, "pointOfContact", email=email, url=p.get("url") if p else None)


def add_points_of_contact(ident: etree._Element, collection: Mapping[str, Any], email: str | None) -> None:
    """One ``gmd:pointOfContact`` per provider role (licensor, producer, processor, host).

    ``email`` is the metadata contact's: only that organisation's entries carry it (an ESA or
    Kartverket licensor does not answer at the directorate's address).
    """
    contact = provider_with(collection, CONTACT_ROLES)
    for p in providers_of(collection):
        for stac_role in ("licensor", "producer", "processor", "host"):
            if stac_role in p.get("roles", []):
                party(
                    gmd(ident, "pointOfContact"),
                    p["name"],
                    PROVIDER_ROLES[stac_role],
                    email=email if contact is not None and p["name"] == contact["name"] else None,
                    url=p.get("url"),
                )


def add_constraints(ident: etree._Element, collection: Mapping[str, Any]) -> None:
    """Use limitation (bokmål, English beside), INSPIRE access constraint and licence as ``resourceConstraints``."""
    access = str(collection.get(ACCESS, "open"))
    lic = licence_of(collection)
    if lic is not None:  # the labels Geonorge records use, where there are some; else the link's title
        nb, en = LICENCE_LABELS.get(lic[0], (lic[1], lic[1]))
        lic = lic[0], nb
        use_text = Text(f"Bruk er regulert av lisensen: {nb}.", f"Use is governed by the licence: {en}.")
    else:
        use_text = Text("Ingen begrensninger på bruk er oppgitt.", "No limitations on use are stated.")
    localised(gmd(gmd(ident, "resourceConstraints"), "MD_Constraints"), "useLimitation", use_text)
    value, label = ACCESS_LIMITS.get(access, ACCESS_LIMITS["closed"])
    acc = gmd(gmd(ident, "resourceConstraints"), "MD_LegalConstraints")
    code_value(acc, "accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    anchor(acc, "otherConstraints", label, INSPIRE_ACCESS + value)
    legal = gmd(gmd(ident, "resourceConstraints"), "MD_LegalConstraints")
    code_value(legal, "useConstraints", "MD_RestrictionCode", "otherRestrictions")
    href, text = (lic[0], lic[1]) if lic else NO_CONDITIONS
    anchor(legal, "otherConstraints", text, href)


def add_keywords(ident: etree._Element, collection: Mapping[str, Any]) -> None:
    """Free keywords, then the DOK and INSPIRE theme keywords with their thesauri."""
    free = [str(k) for k in collection.get("keywords", [])]
    if free:
        kw = gmd(gmd(ident, "descriptiveKeywords"), "MD_Keywords")
        for k in free:
            string(kw, "keyword", k)
        code_value(kw, "type", "MD_KeywordTypeCode", "theme")
    cid = str(collection.get("id", ""))
    blocks: list[tuple[str, str, str, list[tuple[str, str | None]]]] = []
    if cid in THESAURI:
        blocks.append(THESAURI[cid])
    if cid in INSPIRE_THEMES:
        label, href = INSPIRE_THEMES[cid]
        blocks.append((*INSPIRE_THESAURUS, [(label, href)]))
    for title, href, date, words in blocks:
        kw = gmd(gmd(ident, "descriptiveKeywords"), "MD_Keywords")
        for label, concept in words:
            if concept:
                anchor(kw, "keyword", label, concept)
            else:
                string(kw, "keyword", label)
        code_value(kw, "type", "MD_KeywordTypeCode", "theme")
        th = gmd(gmd(kw, "thesaurusName"), "CI_Citation")
        anchor(th, "title", title, href)
        ci_date(th, date, "publication")


def add_extent(
    ident: etree._Element, bbox: Sequence[float] | None, span: tuple[str | None, str | None], gml_id: str
) -> None:
    """``EX_Extent``: the bounding box (WGS 84 degrees) and the time period (GML, ``gml_id``)."""
    ex = gmd(gmd(ident, "extent"), "EX_Extent")
    if bbox:
        w, s, e, n = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else tuple(bbox)
        box = gmd(gmd(ex, "geographicElement"), "EX_GeographicBoundingBox")
        for tag, v in (
            ("westBoundLongitude", w),
            ("eastBoundLongitude", e),
            ("southBoundLatitude", s),
            ("northBoundLatitude", n),
        ):
            el(gmd(box, tag), GCO, "Decimal", decimal(float(v)))
    start, end = span
    if start or end:
        ext_ = gmd(gmd(gmd(ex, "temporalElement"), "EX_TemporalExtent"), "extent")
        tp = el(ext_, GML, "TimePeriod")
        tp.set(q(GML, "id"), gml_id)
        for tag, when in (("beginPosition", start), ("endPosition", end)):
            pos = el(tp, GML, tag, when or None)
            if not when:
                pos.set("indeterminatePosition", "unknown")


def resolution_of(items: Iterable[ItemRef]) -> float:
    """Ground resolution in metres of the items (``proj:transform`` or band ``spatial_resolution``)."""
    for it in items:
        transform = it.properties.get("proj:transform")
        if transform:
            return abs(float(transform[0]))
        for asset in it.data.get("assets", {}).values():
            for band in asset.get("raster:bands", []):
                if band.get("spatial_resolution"):
                    return float(band["spatial_resolution"])
    return DEFAULT_RESOLUTION_M


def epsg_of(items: Iterable[ItemRef]) -> str:
    """The items' ``proj:code`` (e.g. ``EPSG:25833``), else the grid's."""
    for it in items:
        code = it.properties.get("proj:code")
        if code:
            return str(code)
    return DEFAULT_EPSG


def add_header(
    root: etree._Element,
    file_id: str,
    level: str,
    level_name: str,
    collection: Mapping[str, Any],
    date_stamp: str,
    email: str | None,
    parent_id: str | None = None,
) -> None:
    """The record header: identifier, language, charset, parent, level, contact, date stamp, standard, locale.

    The locale is the English one that the bilingual texts (title, abstract) refer to.
    """
    string(root, "fileIdentifier", file_id)
    language(root)
    code_value(root, "characterSet", "MD_CharacterSetCode", "utf8")
    if parent_id:
        string(root, "parentIdentifier", parent_id)
    code_value(root, "hierarchyLevel", "MD_ScopeCode", level)
    string(root, "hierarchyLevelName", level_name)
    add_metadata_contact(root, collection, email)
    kind, text = date_value(date_stamp)
    el(gmd(root, "dateStamp"), GCO, kind, text)
    string(root, "metadataStandardName", "ISO19115")
    string(root, "metadataStandardVersion", "2003")
    english_locale(root)


def add_reference_system(root: etree._Element, epsg: str) -> None:
    """``referenceSystemInfo`` as an anchor to the OGC URI of ``epsg``."""
    rs = gmd(gmd(gmd(gmd(root, "referenceSystemInfo"), "MD_ReferenceSystem"), "referenceSystemIdentifier"),
              "RS_Identifier")  # fmt: skip
    code = epsg.split(":")[-1]
    anchor(rs, "code", f"EPSG:{code}", f"http://www.opengis.net/def/crs/EPSG/0/{code}")
    string(rs, "codeSpace", "EPSG")


def add_thumbnail(ident: etree._Element, href: str | None) -> None:
    """``graphicOverview`` pointing at the PNG thumbnail ``href`` (nothing when None)."""
    if not href:
        return
    g = gmd(gmd(ident, "graphicOverview"), "MD_BrowseGraphic")
    string(g, "fileName", href)
    string(g, "fileDescription", "thumbnail")
    string(g, "fileType", "PNG")


def add_data_identification(
    root: etree._Element,
    *,
    title: Text,
    abstract: Text,
    dates: Sequence[tuple[str, str]],
    identifier: tuple[str, str | None],
    collection: Mapping[str, Any],
    email: str | None,
    thumbnail: str | None,
    resolution: float,
    bbox: Sequence[float] | None,
    span: tuple[str | None, str | None],
    gml_id: str,
    aggregate: tuple[Text, str] | None = None,
) -> None:
    """``MD_DataIdentification``: citation, abstract, status, contacts, keywords, constraints, resolution, extent.

    ``aggregate``: (title, fileIdentifier) of the product record a tile record belongs to.
    """
    ident = gmd(gmd(root, "identificationInfo"), "MD_DataIdentification")
    citation(gmd(ident, "citation"), title, dates, identifier)
    localised(ident, "abstract", abstract)
    code_value(ident, "status", "MD_ProgressCode", PROGRESS.get(str(collection.get(STATUS)), "underDevelopment"))
    add_points_of_contact(ident, collection, email)
    maint = gmd(gmd(ident, "resourceMaintenance"), "MD_MaintenanceInformation")
    code_value(maint, "maintenanceAndUpdateFrequency", "MD_MaintenanceFrequencyCode", "asNeeded")
    add_thumbnail(ident, thumbnail)
    add_keywords(ident, collection)
    add_constraints(ident, collection)
    if aggregate is not None:
        title_, parent_uuid = aggregate
        agg = gmd(gmd(ident, "aggregationInfo"), "MD_AggregateInformation")
        c = gmd(gmd(agg, "aggregateDataSetName"), "CI_Citation")
        localised(c, "title", title_)
        ci_date(c, dates[0][0], dates[0][1])
        string(gmd(gmd(agg, "aggregateDataSetIdentifier"), "MD_Identifier"), "code", parent_uuid)
        code_value(agg, "associationType", "DS_AssociationTypeCode", "largerWorkCitation")
    code_value(ident, "spatialRepresentationType", "MD_SpatialRepresentationTypeCode", "grid")
    res = gmd(gmd(ident, "spatialResolution"), "MD_Resolution")
    el(gmd(res, "distance"), GCO, "Distance", decimal(resolution), uom="m")
    language(ident)
    code_value(ident, "characterSet", "MD_CharacterSetCode", "utf8")
    for cat in TOPIC_CATEGORIES:
        el(gmd(ident, "topicCategory"), GMD, "MD_TopicCategoryCode", cat)
    add_extent(ident, bbox, span, gml_id)


def add_distribution(
    root: etree._Element,
    collection: Mapping[str, Any],
    links: Sequence[tuple[str, str, str, str]],
) -> None:
    """GeoTIFF (COG) format with its distributor and online resources (Geonorge's nested form).

    ``links``: (url, protocol, name, function code).
    """
    dist = gmd(gmd(root, "distributionInfo"), "MD_Distribution")
    fmt = gmd(gmd(dist, "distributionFormat"), "MD_Format")
    string(fmt, "name", "GeoTIFF")
    gmd(fmt, "version").set(q(GCO, "nilReason"), "inapplicable")
    string(fmt, "specification", "Cloud Optimized GeoTIFF (OGC 21-026)")
    distributor = gmd(gmd(fmt, "formatDistributor"), "MD_Distributor")
    p = provider_with(collection, ("host", "processor", "licensor"))
    party(gmd(distributor, "distributorContact"), p["name"] if p else "sporbar", "distributor")
    opts = gmd(gmd(distributor, "distributorTransferOptions"), "MD_DigitalTransferOptions")
    string(opts, "unitsOfDistribution", "rute")
    for url, protocol, name, function in links:
        res = gmd(gmd(opts, "onLine"), "CI_OnlineResource")
        el(gmd(res, "linkage"), GMD, "URL", url)
        string(res, "protocol", protocol)
        string(res, "name", name)
        code_value(res, "function", "CI_OnLineFunctionCode", function)

