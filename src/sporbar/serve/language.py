"""The STAC API in the language the client asks for: Norwegian (bokmål) or English.

STAC API's language extension (conformance class :data:`API_LANGUAGE_CONFORMANCE`): the
client states its languages in ``Accept-Language`` (or asks for one with the query parameter
``language``), and the API answers with the landing page and the collections in the best
of those it has, saying which in ``Content-Language`` and in the documents' ``language`` and
``languages`` (STAC's language extension). The Norwegian texts of a collection are stored
with it by ``sporbar publish --to pgstac`` (``sporbar.stac.language.TRANSLATIONS``).

STAC Browser sends its interface language first in ``Accept-Language`` with every request;
when its language menu changes, an API with this conformance class is loaded afresh, so the
collection cards and pages follow the menu. No ``alternate`` links are written: STAC Browser
would follow such a link instead of reloading, and keep the list of collections it already
has in the other language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from sporbar.serve.links import send_json_rewritten
from sporbar.stac.language import ENGLISH, TRANSLATIONS, localised

#: STAC API - Language, the version STAC Browser 4 recognises (``https://api.stacspec.org/v1.*/language``)
API_LANGUAGE_CONFORMANCE: Final = "https://api.stacspec.org/v1.0.0/language"
#: the language a client gets when it asks for none the API has: the one the documents are stored in
DEFAULT_LANGUAGE: Final = ENGLISH["code"]
#: language tags answered with bokmål: Norwegian without a written standard named is bokmål here
_ALIASES: Final[Mapping[str, str]] = {"nb": "nb", "no": "nb", "en": "en"}


def negotiate(accept_language: str, query_language: str | None = None) -> str:
    """The language to answer in: ``language`` of the query, else the best of ``Accept-Language``.

    Args:
        accept_language: the header's value (``nb,en-US;q=0.8,*;q=0.1``); "" when absent.
        query_language: the ``language`` query parameter, if given.

    Returns:
        A code of ``sporbar.stac.language.LANGUAGES``; :data:`DEFAULT_LANGUAGE` when the
        client accepts none of them.
    """
    if query_language:
        return _ALIASES.get(query_language.strip().lower().split("-")[0], DEFAULT_LANGUAGE)
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0  # a malformed weight counts as "not acceptable"
        code = _ALIASES.get(tag.strip().lower().split("-")[0])
        if code is not None and q > best_q:  # ties: the first listed wins
            best, best_q = code, q
    return best


class Localise:
    """ASGI middleware: the API's landing page, conformance and collections in the negotiated language.

    Args:
        app: the app serving the STAC API below ``prefix``.
        prefix: the API's path prefix (``/api``).
        landing: language code -> ``title`` and ``description`` of the landing page in the
            languages other than English (the API's own texts).
    """

    def __init__(self, app: ASGIApp, *, prefix: str, landing: Mapping[str, Mapping[str, str]]) -> None:
        """Wrap ``app``."""
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.landing = {code: dict(text) for code, text in landing.items()}

    def _kind(self, path: str) -> str | None:
        """Which API document ``path`` is: landing, conformance, collections, collection, or None."""
        if not path.startswith(self.prefix):
            return None
        parts = [p for p in path[len(self.prefix) :].split("/") if p]
        if not parts:
            return "landing"
        if parts == ["conformance"]:
            return "conformance"
        if parts[0] == "collections" and len(parts) <= 2:
            return "collections" if len(parts) == 1 else "collection"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request; a GET of a localised document in the negotiated language."""
        kind = self._kind(scope.get("path", "")) if scope["type"] == "http" and scope.get("method") == "GET" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("language")
        code = negotiate(headers.get(b"accept-language", b"").decode("latin-1"), query[0] if query else None)

        def rewrite(doc: Any) -> Any:
            return self._rewrite(kind, doc, code)

        # the answer is rewritten as the app sends it: uncompressed
        inner = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        extra = [(b"content-language", code.encode()), (b"vary", b"Accept-Language")]
        await send_json_rewritten(self.app, {**scope, "headers": inner}, receive, send, rewrite, extra)

    def _rewrite(self, kind: str, doc: Any, code: str) -> Any:
        if not isinstance(doc, dict):
            return doc
        if kind in ("landing", "conformance"):
            classes = list(doc.get("conformsTo") or [])
            if API_LANGUAGE_CONFORMANCE not in classes:
                doc["conformsTo"] = [*classes, API_LANGUAGE_CONFORMANCE]
        if kind == "landing" and doc.get("type") == "Catalog":
            return localised({**doc, TRANSLATIONS: self.landing}, code)
        if kind == "collection" and doc.get("type") == "Collection":
            return localised(doc, code)
        if kind == "collections" and isinstance(doc.get("collections"), list):
            doc["collections"] = [localised(c, code) if isinstance(c, dict) else c for c in doc["collections"]]
        return doc


def norwegian_landing(title: str) -> dict[str, dict[str, str]]:
    """The API landing page's bokmål ``title`` and ``description`` (for :class:`Localise`)."""
    return {
        "nb": {
            "title": title,
            "description": "Landøkologiske produkter fra sporbar og opphavet deres",
        }
    }
