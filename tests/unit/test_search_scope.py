"""A search narrowed to the permitted collections through its own ``collections`` (sporbar.serve.search_scope):
what is kept, and every case left to the CQL2 access filter (None)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from sporbar.serve.search_scope import scope_body, scope_query_string, scoped_collections

OPEN = ["ard", "models"]


def test_requested_collections_are_intersected_in_their_order() -> None:
    assert scoped_collections(None, OPEN) == OPEN
    assert scoped_collections([], OPEN) == OPEN
    assert scoped_collections(["models", "maps", "ard", "models"], OPEN) == ["models", "ard"]
    assert scoped_collections(["maps"], OPEN) == []
    assert scoped_collections(None, []) == []


def test_post_body_gets_the_permitted_collections() -> None:
    body = {"filter": {"op": "=", "args": [{"property": "collection"}, "maps"]}, "limit": 3}
    scoped = json.loads(scope_body(json.dumps(body).encode(), OPEN) or b"")
    assert scoped == {**body, "collections": OPEN}
    scoped = json.loads(scope_body(json.dumps({"collections": ["maps", "ard"]}).encode(), OPEN) or b"")
    assert scoped == {"collections": ["ard"]}
    assert json.loads(scope_body(b"", OPEN) or b"") == {"collections": OPEN}


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"collections": "ard"}', b'{"collections": [1]}', b'{"collections": ["maps"]}'],
)
def test_post_bodies_the_rewrite_cannot_narrow_are_left_to_the_filter(body: bytes) -> None:
    assert scope_body(body, OPEN) is None


def test_nothing_permitted_is_left_to_the_filter() -> None:
    # collections [] or an empty GET parameter would mean "every collection" to stac-fastapi
    assert scope_body(b"{}", []) is None
    assert scope_query_string(b"limit=1", []) is None


def test_get_query_string_gets_the_permitted_collections() -> None:
    scoped = parse_qs((scope_query_string(b"collections=maps,models&limit=5&filter=a%3D1", OPEN) or b"").decode())
    assert scoped == {"collections": ["models"], "limit": ["5"], "filter": ["a=1"]}
    scoped = parse_qs((scope_query_string(b"collections=&bbox=1,2,3,4", OPEN) or b"").decode())
    assert scoped == {"collections": ["ard,models"], "bbox": ["1,2,3,4"]}


@pytest.mark.parametrize(
    ("query", "permitted"),
    [
        (b"collections=ard&collections=maps", OPEN),  # repeated: stac-auth-proxy answers 400
        (b"limit=1", ["ard", "a,b"]),  # a comma cannot be said in a GET list
        (b"collections=maps", OPEN),
        (b"collections=%ff", OPEN),
    ],
)
def test_query_strings_the_rewrite_cannot_narrow_are_left_to_the_filter(query: bytes, permitted: list[str]) -> None:
    assert scope_query_string(query, permitted) is None
