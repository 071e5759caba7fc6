"""DCAT-AP-NO description of a published catalog, in RDF Turtle (for Felles datakatalog).

One ``dcat:Catalog`` and one ``dcat:Dataset`` per open STAC collection, each with:
``dct:title`` / ``dct:description`` in Norwegian Bokmål (``nb``: the texts of the catalog's
Norwegian versions, :meth:`PublishedCatalog.norwegian`) and English (``en``),
``dct:identifier``, ``dct:publisher`` (``foaf:Agent``), ``dcat:contactPoint``
(``vcard:Organization``), ``dct:accessRights`` from ``sporbar:access`` (EU access-right
vocabulary: open → PUBLIC, restricted → RESTRICTED), ``dcat:theme``
(EU data theme ENVI, plus the INSPIRE theme where one fits), ``dcat:keyword``,
``dct:spatial`` (``dct:Location`` with ``dcat:bbox`` in WGS 84), ``dct:temporal``
(``dct:PeriodOfTime``), ``dct:language``, ``dct:modified`` (latest ``processing:datetime``)
and a ``dcat:Distribution`` whose ``dcat:accessURL`` is the STAC collection JSON
(``dct:license``, ``dct:format``, ``dcat:mediaType``, ``dct:conformsTo`` STAC).

The catalog is public (``sporbar serve`` serves it to anyone), so what it says of the
collections that are not open is a stated choice, ``metadata.dcat.restricted`` of the config
(:class:`Restricted`): a restricted collection is listed (``list``, the default: the dataset
with ``dct:accessRights`` RESTRICTED and no distribution or landing page, nothing that leads to
its files) or left out (``omit``); a closed collection is never listed.

Every node has an IRI (``urn:uuid:`` from uuid5 of the collection id, or below
``base_url``), never a blank node, so the Turtle is the same bytes for the same catalog.
Without ``base_url`` the access URLs are relative to the Turtle file's folder, so a parser
reading the file in place resolves them to the catalog files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from sporbar.config import Config
from sporbar.metadata.catalog import (
    PublishedCatalog,
    licence_of,
    metadata_uuid,
    processing_datetime,
    provider_with,
)
from sporbar.stac import extensions as ext
from sporbar.stac.collections import ACCESS, Access

VCARD: Final = Namespace("http://www.w3.org/2006/vcard/ns#")
GSP: Final = Namespace("http://www.opengis.net/ont/geosparql#")
ACCESS_RIGHT: Final = "http://publications.europa.eu/resource/authority/access-right/"
DATA_THEME: Final = "http://publications.europa.eu/resource/authority/data-theme/"
FILE_TYPE: Final = "http://publications.europa.eu/resource/authority/file-type/"
LANGUAGE: Final = "http://publications.europa.eu/resource/authority/language/"
MEDIA_TYPE: Final = "https://www.iana.org/assignments/media-types/"
STAC_COLLECTION_SPEC: Final = "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json"
#: sporbar:access of a listed collection -> its EU access right (closed ones are not listed)
ACCESS_RIGHTS: Final = {Access.OPEN: "PUBLIC", Access.RESTRICTED: "RESTRICTED"}
INSPIRE_THEMES: Final = {ext.COLLECTION_MAPS: "http://inspire.ec.europa.eu/theme/lc"}


class Restricted(StrEnum):
    """``metadata.dcat.restricted``: what the public DCAT-AP-NO catalog says of a restricted collection."""

    LIST = "list"  # a dataset with accessRights RESTRICTED, without distribution or landing page
    OMIT = "omit"  # not in the catalog


def restricted_choice(cfg: Config | None) -> Restricted:
    """``metadata.dcat.restricted`` of ``cfg``; :attr:`Restricted.LIST` without a config or the key."""
    section = ((cfg.data.get("metadata") or {}).get("dcat") or {}) if cfg is not None else {}
    return Restricted(section.get("restricted", Restricted.LIST))


def listed(collection: Mapping[str, Any], restricted: Restricted) -> bool:
    """Whether the public catalog lists ``collection``: open always, restricted per choice, else never.

    A collection stating no or an unknown ``sporbar:access`` counts as closed.
    """
    access = collection.get(ACCESS)
    return access == Access.OPEN or (access == Access.RESTRICTED and restricted is Restricted.LIST)


def _uri(kind: str, ident: str) -> URIRef:
    return URIRef(f"urn:uuid:{metadata_uuid(kind, ident)}")


class _Hrefs:
    """Links to catalog files: absolute below ``base_url``, else relative to ``ttl_dir``."""

    def __init__(self, cat: PublishedCatalog, ttl_dir: Path | None) -> None:
        self.cat, self.ttl_dir = cat, ttl_dir

    def __call__(self, target: Path) -> URIRef:
        if self.cat.base_url or self.ttl_dir is None:
            return URIRef(self.cat.href(target))
        return URIRef(Path(os.path.relpath(Path(target).resolve(), Path(self.ttl_dir).resolve())).as_posix())


def _agent(g: Graph, provider: Mapping[str, Any]) -> URIRef:
    node = _uri("agent", str(provider["name"]))
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, FOAF.name, Literal(str(provider["name"]))))
    if provider.get("url"):
        g.add((node, FOAF.homepage, URIRef(str(provider["url"]))))
    return node


def _contact(g: Graph, provider: Mapping[str, Any], email: str | None) -> URIRef:
    node = _uri("contact", str(provider["name"]))
    g.add((node, RDF.type, VCARD.Organization))
    g.add((node, VCARD.fn, Literal(str(provider["name"]))))
    if provider.get("url"):
        g.add((node, VCARD.hasURL, URIRef(str(provider["url"]))))
    if email:
        g.add((node, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    return node


def _bbox_wkt(bbox: list[float]) -> str:
    w, s, e, n = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
    pts = [(w, s), (e, s), (e, n), (w, n), (w, s)]
    return "POLYGON((" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in pts) + "))"


def _dataset(g: Graph, cat: PublishedCatalog, cid: str, href: _Hrefs, email: str | None) -> URIRef:
    coll = cat.collections[cid]
    ds = _uri("dataset", cid)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(cid)))
    nb = cat.norwegian(cid)
    g.add((ds, DCTERMS.title, Literal(nb["title"], lang="nb")))
    g.add((ds, DCTERMS.title, Literal(str(coll.get("title", cid)), lang="en")))
    g.add((ds, DCTERMS.description, Literal(nb["description"], lang="nb")))
    g.add((ds, DCTERMS.description, Literal(str(coll.get("description", "")), lang="en")))
    publisher = provider_with(coll, ("host", "licensor", "processor", "producer"))
    if publisher:
        g.add((ds, DCTERMS.publisher, _agent(g, publisher)))
        g.add((ds, DCAT.contactPoint, _contact(g, publisher, email)))
    creator = provider_with(coll, ("producer",))
    if creator and creator is not publisher and "producer" in creator.get("roles", []):
        g.add((ds, DCTERMS.creator, _agent(g, creator)))
    is_open = coll.get(ACCESS) == Access.OPEN
    g.add((ds, DCTERMS.accessRights, URIRef(ACCESS_RIGHT + ACCESS_RIGHTS[Access(coll[ACCESS])])))
    g.add((ds, DCAT.theme, URIRef(DATA_THEME + "ENVI")))
    if cid in INSPIRE_THEMES:
        g.add((ds, DCAT.theme, URIRef(INSPIRE_THEMES[cid])))
    for kw in coll.get("keywords", []):
        g.add((ds, DCAT.keyword, Literal(str(kw))))
    g.add((ds, DCTERMS.language, URIRef(LANGUAGE + "NOR")))
    bbox = coll.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    if bbox:
        loc = _uri("location", cid)
        g.add((loc, RDF.type, DCTERMS.Location))
        g.add((loc, DCAT.bbox, Literal(_bbox_wkt(bbox), datatype=GSP.wktLiteral)))
        g.add((ds, DCTERMS.spatial, loc))
    start, end = (coll.get("extent", {}).get("temporal", {}).get("interval", [[None, None]])[0] + [None, None])[:2]
    if start or end:
        per = _uri("period", cid)
        g.add((per, RDF.type, DCTERMS.PeriodOfTime))
        if start:
            g.add((per, DCAT.startDate, Literal(start, datatype=XSD.dateTime, normalize=False)))
        if end:
            g.add((per, DCAT.endDate, Literal(end, datatype=XSD.dateTime, normalize=False)))
        g.add((ds, DCTERMS.temporal, per))
    dates = sorted(d for d in (processing_datetime(i.data) for i in cat.items.get(cid, [])) if d)
    if dates:
        g.add((ds, DCTERMS.modified, Literal(dates[-1], datatype=XSD.dateTime, normalize=False)))
    if not is_open:  # listed, but nothing here leads to the files: access goes through the contact point
        return ds
    stac = href(cat.collection_paths[cid])
    g.add((ds, DCAT.landingPage, stac))
    dist = _uri("distribution", cid)
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal("STAC-samling (JSON)", lang="nb")))
    g.add((dist, DCTERMS.title, Literal("STAC Collection (JSON)", lang="en")))
    g.add((dist, DCAT.accessURL, stac))
    g.add((dist, DCTERMS.format, URIRef(FILE_TYPE + "JSON")))
    g.add((dist, DCAT.mediaType, URIRef(MEDIA_TYPE + "application/json")))
    g.add((dist, DCTERMS.conformsTo, URIRef(STAC_COLLECTION_SPEC)))
    lic = licence_of(coll)
    if lic is not None:
        g.add((dist, DCTERMS.license, URIRef(lic[0])))
    g.add((ds, DCAT.distribution, dist))
    return ds


def catalog_graph(
    cat: PublishedCatalog,
    *,
    ttl_dir: Path | None = None,
    email: str | None = None,
    restricted: Restricted = Restricted.LIST,
) -> Graph:
    """The DCAT-AP-NO graph of ``cat``: one ``dcat:Catalog``, a ``dcat:Dataset`` per listed collection.

    Args:
        cat: the published catalog.
        ttl_dir: folder of the Turtle file, which links are relative to (without ``base_url``).
        email: e-mail of the contact point.
        restricted: what to say of restricted collections (:func:`listed`).
    """
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("gsp", GSP)):
        g.bind(prefix, ns)
    href = _Hrefs(cat, ttl_dir)
    root = _uri("catalog", str(cat.data.get("id", "sporbar")))
    g.add((root, RDF.type, DCAT.Catalog))
    nb = cat.norwegian()
    g.add((root, DCTERMS.title, Literal(str(cat.data.get("title", "sporbar")), lang="en")))
    g.add((root, DCTERMS.title, Literal(nb["title"], lang="nb")))
    g.add((root, DCTERMS.description, Literal(str(cat.data.get("description", "")), lang="en")))
    g.add((root, DCTERMS.description, Literal(nb["description"], lang="nb")))
    g.add((root, DCTERMS.language, URIRef(LANGUAGE + "NOR")))
    g.add((root, FOAF.homepage, href(cat.path)))
    publisher = None
    for cid in cat.collections:
        if not listed(cat.collections[cid], restricted):
            continue
        g.add((root, DCAT.dataset, _dataset(g, cat, cid, href, email)))
        publisher = publisher or provider_with(cat.collections[cid], ("host",))
    if publisher:
        g.add((root, DCTERMS.publisher, _agent(g, publisher)))
    return g


def to_turtle(g: Graph) -> bytes:
    """Turtle bytes of ``g`` (rdflib sorts subjects, predicates and objects)."""
    return g.serialize(format="turtle", encoding="utf-8")


__all__ = ["Restricted", "catalog_graph", "listed", "restricted_choice", "to_turtle"]
