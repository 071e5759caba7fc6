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
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

ENGLISH: Final[Mapping[str, str]] = {"code": "en", "name": "English", "alternate": "English", "dir": "ltr"}
NORWEGIAN: Final[Mapping[str, str]] = {
    "code": "nb",
    "name": "Norsk bokmål",
    "alternate": "Norwegian Bokmål",
    "dir": "ltr",
}
JSON: Final = "application/json"


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
