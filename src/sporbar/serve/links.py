"""Links to collections a request may not see, removed from the JSON it is answered with.

An open item may link a restricted one (a model ``derived_from`` its training set): the link's
href and title would name the restricted item. For a request without the full grant, every
STAC JSON response (API records, searches, lists, and ``.json`` files below ``/data/``) loses
the links whose target lies in such a collection.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_JSON_TYPES: Final = (b"application/json", b"application/geo+json", b"application/schema+json")


def names_collection(href: str, hidden: frozenset[str]) -> bool:
    """True when a path segment of ``href`` is one of the ``hidden`` collection ids."""
    path = unquote(urlsplit(href).path)
    return any(part in hidden for part in path.split("/"))


def strip_links(doc: Any, drop: Callable[[str], bool]) -> Any:
    """``doc`` with every ``links`` entry whose href ``drop`` names removed (records, features, collections)."""
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if key == "links" and isinstance(value, list):
                out[key] = [
                    strip_links(link, drop)
                    for link in value
                    if not (isinstance(link, dict) and drop(str(link.get("href", ""))))
                ]
            elif key in ("features", "collections") and isinstance(value, list):
                out[key] = [strip_links(v, drop) for v in value]
            else:
                out[key] = value
        return out
    return doc


async def send_without_links(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, drop: Callable[[str], bool]
) -> None:
    """Call ``app``; a JSON answer goes out with the links ``drop`` names removed, anything else unchanged."""
    await send_json_rewritten(app, scope, receive, send, lambda doc: strip_links(doc, drop))


async def send_json_rewritten(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    rewrite: Callable[[Any], Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Call ``app``; a JSON answer goes out as ``rewrite`` returns it, with ``headers`` added; anything else unchanged.

    The app must answer uncompressed (the caller drops ``accept-encoding`` from ``scope``).
    """
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            if content_type.split(b";")[0].strip() in _JSON_TYPES:
                start = message
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        with contextlib.suppress(ValueError):  # not JSON after all: sent as it is
            body = json.dumps(rewrite(json.loads(body))).encode()
        out = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        out += [*headers, (b"content-length", str(len(body)).encode())]
        await send({**start, "headers": out})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    await app(scope, receive, wrapped)
