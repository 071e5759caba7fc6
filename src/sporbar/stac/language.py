"""Norwegian (bokmål) versions of the catalog and its collections, next to the English ones.

STAC's language extension describes a document's language (``language``), the other
languages it exists in (``languages``) and links to those versions (``alternate`` with
``hreflang``). STAC Browser follows them: with its interface in bokmål it opens
``catalog.nb.json`` instead of ``catalog.json``, whose children are the ``collection.nb.json``
files, so the collection cards and pages show the Norwegian titles and descriptions; in
English it goes back. A Norwegian version differs from the English one only in its
``title``, ``description``, ``language`` and ``languages``; items are not translated.

The texts come from the ``translations`` of each collection template
(``sporbar.stac.collections.translation``).

A STAC API has no folder for a second file: ``sporbar publish --to pgstac`` stores the other
languages' texts in the collection itself (:data:`TRANSLATIONS`), and ``sporbar serve`` answers
in the language the client asks for (:func:`localised`, ``sporbar.serve.language``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href

ENGLISH: Final[Mapping[str, str]] = {"code": "en", "name": "English", "alternate": "English", "dir": "ltr"}
NORWEGIAN: Final[Mapping[str, str]] = {
    "code": "nb",
    "name": "Norsk bokmål",
    "alternate": "Norwegian Bokmål",
    "dir": "ltr",
}
#: the languages sporbar writes, by code
LANGUAGES: Final[Mapping[str, Mapping[str, str]]] = {"en": ENGLISH, "nb": NORWEGIAN}
JSON: Final = "application/json"
#: field of a collection stored in pgstac: language code -> its ``title`` and ``description``
TRANSLATIONS: Final = ext.SPORBAR_PREFIX + "translations"


def norwegian_path(path: Path) -> Path:
    """``collection.json`` -> ``collection.nb.json`` (the Norwegian version beside it)."""
    return path.with_name(f"{path.stem}.{NORWEGIAN['code']}{path.suffix}")


def _alternate(href: str, lang: Mapping[str, str]) -> dict[str, str]:
    return {"rel": "alternate", "href": href, "type": JSON, "hreflang": lang["code"], "title": lang["name"]}


def add_norwegian(docs: dict[Path, dict[str, Any]], texts: Mapping[Path, Mapping[str, str]]) -> None:
    """Add a Norwegian version of each document in ``texts`` to ``docs``, linked both ways.

    Child links of a Norwegian version point at the Norwegian versions of the children
    that have one, so a Norwegian catalog lists Norwegian collections.

    Args:
        docs: catalog path -> STAC document (English); changed in place.
        texts: path of a document in ``docs`` -> its Norwegian ``title`` and ``description``.
    """
    for path, text in texts.items():
        english = docs[path]
        norwegian = copy.deepcopy(english)
        norwegian.update(title=text["title"], description=text["description"])
        english.update(language=dict(ENGLISH), languages=[dict(NORWEGIAN)])
        norwegian.update(language=dict(NORWEGIAN), languages=[dict(ENGLISH)])
        declare_language(english)
        declare_language(norwegian)
        english["links"].append(_alternate(f"./{norwegian_path(path).name}", NORWEGIAN))
        norwegian["links"].append(_alternate(f"./{path.name}", ENGLISH))
        for link in norwegian["links"]:
            if link.get("rel") != "child":
                continue
            child = (path.parent / link["href"]).resolve()
            if child in texts:
                link["href"] = link["href"][: -len(child.name)] + norwegian_path(child).name
                link["title"] = texts[child]["title"]
        docs[norwegian_path(path)] = norwegian


def translations(doc: Mapping[str, Any], folder: Path) -> dict[str, dict[str, str]]:
    """Language code -> ``title`` and ``description`` of each other-language version ``doc`` links to.

    These are the versions :func:`add_norwegian` wrote next to a published document, so
    everything that describes the catalog in another language (pgstac's :data:`TRANSLATIONS`,
    the ISO 19139 and DCAT-AP-NO metadata) shows the very texts STAC Browser shows.

    Args:
        doc: a published catalog or collection (JSON).
        folder: the folder of its file, which its links are relative to.
    """
    out = {}
    for link in doc.get("links", []):
        href = str(link.get("href", ""))
        if link.get("rel") != "alternate" or "hreflang" not in link or not is_local_href(href):
            continue
        other = read_json(resolve_href(href, folder))
        out[str(link["hreflang"])] = {"title": str(other["title"]), "description": str(other["description"])}
    return out


def declare_language(doc: dict[str, Any]) -> None:
    """Add the language extension to ``doc``'s ``stac_extensions`` (once)."""
    extensions = doc.setdefault("stac_extensions", [])
    if ext.LANGUAGE_SCHEMA_URI not in extensions:
        extensions.append(ext.LANGUAGE_SCHEMA_URI)


def localised(doc: Mapping[str, Any], code: str) -> dict[str, Any]:
    """``doc`` (a catalog or collection) in language ``code`` where it has that translation.

    The texts of the other languages come from its :data:`TRANSLATIONS`, which the result
    does not carry; ``language`` and ``languages`` say which language it is in and which
    others it exists in. A document without translations comes back unchanged.

    Args:
        doc: the document as stored, in its own ``language`` (English when it states none).
        code: the language asked for (``en``, ``nb``).

    Returns:
        A new document.
    """
    out = dict(doc)
    texts = out.pop(TRANSLATIONS, None)
    if not isinstance(texts, Mapping) or not texts:
        return out
    own = out.get("language")
    own_code = own.get("code") if isinstance(own, Mapping) else None
    own_lang = dict(own) if isinstance(own, Mapping) and own_code else dict(ENGLISH)
    own_code = own_lang["code"]
    known = {own_code: own_lang} | {c: dict(LANGUAGES.get(c, {"code": c})) for c in texts if c != own_code}
    chosen = code if code in known else own_code
    text = texts.get(chosen)
    if chosen != own_code and isinstance(text, Mapping):
        out.update(title=str(text["title"]), description=str(text["description"]))
    out["language"] = known[chosen]
    out["languages"] = [known[c] for c in sorted(known) if c != chosen]
    out["stac_extensions"] = list(out.get("stac_extensions", []))
    declare_language(out)
    return out
