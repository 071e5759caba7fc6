"""The API's language negotiation (sporbar.serve.language) and the localised documents (sporbar.stac.language)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sporbar.serve.language import API_LANGUAGE_CONFORMANCE, Localise, negotiate, norwegian_landing
from sporbar.stac import extensions as ext
from sporbar.stac.collections import template, translation
from sporbar.stac.language import ENGLISH, NORWEGIAN, TRANSLATIONS, localised


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        ("nb,en-US;q=0.8,en;q=0.2,*;q=0.1", None, "nb"),  # STAC Browser in bokmål
        ("en,en-US;q=0.8,en;q=0.2,*;q=0.1", None, "en"),  # ... in English
        ("nb-NO", None, "nb"),
        ("no;q=0.9, en;q=0.5", None, "nb"),  # Norwegian, no written standard named
        ("de-DE,de;q=0.9,nb;q=0.4,en;q=0.3", None, "nb"),
        ("en;q=0.5, nb;q=0.5", None, "en"),  # a tie: the first listed
        ("nb;q=0, en;q=0.1", None, "en"),  # q=0: not acceptable
        ("nb;q=oops", None, "en"),
        ("fr", None, "en"),  # none we have: the stored language
        ("", None, "en"),
        ("en", "nb", "nb"),  # ?language= wins over the header
        ("nb", "xx", "en"),
    ],
)
def test_negotiate(header: str, query: str | None, expected: str) -> None:
    assert negotiate(header, query) == expected


def _stored(cid: str = ext.COLLECTION_MAPS) -> dict[str, Any]:
    """A collection as `publish --to pgstac` stores it: English, with its Norwegian texts."""
    t = template(cid)
    return {
        "type": "Collection",
        "id": cid,
        "title": t["title"],
        "description": t["description"],
        "stac_extensions": [ext.PROCESSING_SCHEMA_URI],
        "language": dict(ENGLISH),
        "languages": [dict(NORWEGIAN)],
        TRANSLATIONS: {"nb": translation(cid)},
        "links": [],
    }


def test_localised_collection() -> None:
    stored = _stored()
    nb = localised(stored, "nb")
    assert (nb["title"], nb["description"]) == tuple(translation(ext.COLLECTION_MAPS).values())
    assert nb["language"] == dict(NORWEGIAN) and nb["languages"] == [dict(ENGLISH)]
    assert TRANSLATIONS not in nb
    assert nb["stac_extensions"] == [ext.PROCESSING_SCHEMA_URI, ext.LANGUAGE_SCHEMA_URI]
    en = localised(stored, "en")
    assert en["title"] == stored["title"] and en["language"] == dict(ENGLISH) and en["languages"] == [dict(NORWEGIAN)]
    assert localised(stored, "de")["title"] == stored["title"]  # a language it lacks: its own
    assert stored[TRANSLATIONS] and stored["stac_extensions"] == [ext.PROCESSING_SCHEMA_URI]  # not changed
    plain = {k: v for k, v in stored.items() if k != TRANSLATIONS}
    assert localised(plain, "nb") == plain  # nothing to translate: as it is


def _api() -> Starlette:
    """A stand-in STAC API answering as stac-fastapi does (landing, conformance, collections, items)."""

    def landing(request: Request) -> JSONResponse:
        return JSONResponse({"type": "Catalog", "id": "sporbar", "title": "sporbar", "description": "English",
                             "conformsTo": ["https://api.stacspec.org/v1.0.0/core"], "links": []})  # fmt: skip

    def collections(request: Request) -> JSONResponse:
        return JSONResponse({"collections": [_stored(), _stored(ext.COLLECTION_ARD)], "links": []})

    def collection(request: Request) -> JSONResponse:
        return JSONResponse(_stored(request.path_params["cid"]))

    def items(request: Request) -> JSONResponse:
        return JSONResponse({"type": "FeatureCollection", "features": [], "title": "kept"})

    return Starlette(
        routes=[
            Route("/api/", landing),
            Route("/api/conformance", lambda r: JSONResponse({"conformsTo": []})),
            Route("/api/collections", collections),
            Route("/api/collections/{cid}", collection),
            Route("/api/collections/{cid}/items", items),
            Route("/data/x.txt", lambda r: PlainTextResponse("not json")),
        ]
    )


def test_localise_middleware() -> None:
    client = TestClient(Localise(_api(), prefix="/api", landing=norwegian_landing("sporbar")))
    nb_header = {"Accept-Language": "nb,en;q=0.2"}
    r = client.get(f"/api/collections/{ext.COLLECTION_MAPS}", headers=nb_header)
    assert r.json()["title"] == translation(ext.COLLECTION_MAPS)["title"]
    assert r.headers["content-language"] == "nb" and r.headers["vary"] == "Accept-Language"
    assert int(r.headers["content-length"]) == len(r.content)
    listed = client.get("/api/collections", headers=nb_header).json()["collections"]
    assert [c["title"] for c in listed] == [translation(c["id"])["title"] for c in listed]
    assert all(TRANSLATIONS not in c for c in listed)
    english = client.get("/api/collections", headers={"Accept-Language": "en"}).json()["collections"]
    assert [c["title"] for c in english] == [template(c["id"])["title"] for c in english]
    landing = client.get("/api/", headers=nb_header).json()
    assert landing["description"] == norwegian_landing("sporbar")["nb"]["description"]
    assert landing["language"]["code"] == "nb" and API_LANGUAGE_CONFORMANCE in landing["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/core" in landing["conformsTo"]
    assert client.get("/api/", headers={"Accept-Language": "en"}).json()["description"] == "English"
    assert client.get("/api/conformance").json()["conformsTo"] == [API_LANGUAGE_CONFORMANCE]
    # other answers pass untouched
    items = client.get(f"/api/collections/{ext.COLLECTION_MAPS}/items", headers=nb_header)
    assert items.json()["title"] == "kept" and "content-language" not in items.headers
    assert client.get("/data/x.txt", headers=nb_header).text == "not json"
