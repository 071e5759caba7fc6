"""The ISO 19139 vocabulary of sporbar's metadata records: namespaces, code lists, thesauri.

Also the small element writers every part of a record is made of (``gmd:`` elements holding a
``gco:CharacterString``, a ``gmx:Anchor`` or a code list value, dates, citations, parties), so
the record builders (:mod:`sporbar.metadata.iso19139`) read as the profile's structure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from sporbar.stac import extensions as ext

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
#: ``gmd:PT_Locale`` id of the English texts next to the Norwegian ones (Geonorge's records use ``ENG``)
ENGLISH_LOCALE: Final = "ENG"

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
# licence link href -> (the label Geonorge records use, its English); other licences go by their link's title
LICENCE_LABELS: Final = {
    "https://data.norge.no/nlod/no/2.0": (
        "Norsk lisens for offentlige data (NLOD) 2.0",
        "Norwegian Licence for Open Government Data (NLOD) 2.0",
    ),
    "https://creativecommons.org/licenses/by/4.0/": (
        "Creative Commons BY 4.0 (CC BY 4.0)",
        "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    ),
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


def q(ns: str, tag: str) -> str:
    """The Clark name ``{ns}tag`` lxml uses for ``tag`` in namespace ``ns``."""
    return f"{{{ns}}}{tag}"


def el(parent: etree._Element | None, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A new element ``ns:tag`` (a root when ``parent`` is None) with ``text`` and attributes."""
    qtag = q(ns, tag)
    e = etree.Element(qtag, nsmap=NSMAP) if parent is None else etree.SubElement(parent, qtag)
    for k, v in attrs.items():
        e.set(k, v)
    if text is not None:
        e.text = text
    return e


def gmd(parent: etree._Element, tag: str) -> etree._Element:
    """A new ``gmd:tag`` element below ``parent``."""
    return el(parent, GMD, tag)


def string(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<gmd:tag><gco:CharacterString>text</…></gmd:tag>``."""
    e = gmd(parent, tag)
    el(e, GCO, "CharacterString", text)
    return e


@dataclass(frozen=True)
class Text:
    """A text of a record in bokmål (``nb``, the record's language) and, where there is one, English."""

    nb: str
    en: str | None = None


def localised(parent: etree._Element, tag: str, text: Text) -> etree._Element:
    """``gmd:tag`` with ``text``: bokmål as the ``gco:CharacterString``, English beside it.

    The Norwegian profile's encoding of a bilingual text: the record's own language (``nor``)
    first, the English in ``gmd:PT_FreeText`` as ``gmd:LocalisedCharacterString``
    ``locale="#ENG"`` (declared by :func:`english_locale`). Bokmål only when ``text.en`` is None.
    """
    e = string(parent, tag, text.nb)
    if text.en is None:
        return e
    e.set(q(XSI, "type"), "gmd:PT_FreeText_PropertyType")
    group = gmd(gmd(e, "PT_FreeText"), "textGroup")
    el(group, GMD, "LocalisedCharacterString", text.en, locale="#" + ENGLISH_LOCALE)
    return e


def anchor(parent: etree._Element, tag: str, text: str, href: str) -> etree._Element:
    """``<gmd:tag><gmx:Anchor xlink:href=href>text</…></gmd:tag>``: a value with its register URI."""
    e = gmd(parent, tag)
    a = el(e, GMX, "Anchor", text)
    a.set(q(XLINK, "href"), href)
    return e


def code_value(parent: etree._Element, tag: str, codelist: str, value: str) -> etree._Element:
    """``<gmd:tag><gmd:<codelist> codeList=… codeListValue=value/></gmd:tag>``."""
    e = gmd(parent, tag)
    el(e, GMD, codelist, codeList=f"{CODELISTS}#{codelist}", codeListValue=value)
    return e


def language(parent: etree._Element) -> None:
    """``gmd:language`` Norwegian (``nor``, ISO 639-2)."""
    e = gmd(parent, "language")
    el(e, GMD, "LanguageCode", "Norsk", codeList=LANGUAGE_CODELIST, codeListValue="nor")


def english_locale(root: etree._Element) -> None:
    """``gmd:locale``: the English ``gmd:PT_Locale`` that :func:`localised` texts refer to."""
    loc = gmd(gmd(root, "locale"), "PT_Locale")
    loc.set("id", ENGLISH_LOCALE)
    el(gmd(loc, "languageCode"), GMD, "LanguageCode", "Engelsk", codeList=LANGUAGE_CODELIST, codeListValue="eng")
    code_value(loc, "characterEncoding", "MD_CharacterSetCode", "utf8")


def date_value(value: str) -> tuple[str, str]:
    """(gco element, text) for an ISO date or date-time string."""
    if "T" in value:
        return "DateTime", value.replace("+00:00", "Z")
    return "Date", value


def ci_date(parent: etree._Element, value: str, date_type: str) -> None:
    """A ``gmd:date/CI_Date`` of ``value`` with ``CI_DateTypeCode`` ``date_type``."""
    d = gmd(gmd(parent, "date"), "CI_Date")
    kind, text = date_value(value)
    el(gmd(d, "date"), GCO, kind, text)
    code_value(d, "dateType", "CI_DateTypeCode", date_type)


def citation(
    parent: etree._Element,
    title: str | Text,
    dates: Sequence[tuple[str, str]],
    identifier: tuple[str, str | None] | None = None,
) -> etree._Element:
    """A ``CI_Citation`` below ``parent``: title, dates ((value, type) pairs), optional identifier (code, href)."""
    c = gmd(parent, "CI_Citation")
    localised(c, "title", title if isinstance(title, Text) else Text(title))
    for value, date_type in dates:
        ci_date(c, value, date_type)
    if identifier is not None:
        code, href = identifier
        ident = gmd(gmd(c, "identifier"), "MD_Identifier")
        if href:
            anchor(ident, "code", code, href)
        else:
            string(ident, "code", code)
    return c


def party(
    parent: etree._Element,
    organisation: str,
    role: str,
    *,
    email: str | None = None,
    url: str | None = None,
) -> None:
    """A ``CI_ResponsibleParty`` below ``parent``: organisation, optional e-mail and URL, ``CI_RoleCode`` ``role``."""
    p = gmd(parent, "CI_ResponsibleParty")
    string(p, "organisationName", organisation)
    if email or url:
        contact = gmd(gmd(p, "contactInfo"), "CI_Contact")
        if email:
            addr = gmd(gmd(contact, "address"), "CI_Address")
            string(addr, "electronicMailAddress", email)
        if url:
            res = gmd(gmd(contact, "onlineResource"), "CI_OnlineResource")
            el(gmd(res, "linkage"), GMD, "URL", url)
    code_value(p, "role", "CI_RoleCode", role)


def decimal(value: float) -> str:
    """``value`` with at most seven decimals and no trailing zeros."""
    return f"{value:.7f}".rstrip("0").rstrip(".")


def ncname_id(prefix: str, ident: str) -> str:
    """An NCName for ``gml:id``."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", ident)

