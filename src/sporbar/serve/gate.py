"""The access check of the paths that name a collection: API records, tiles, mosaics and data files.

stac-auth-proxy hides what a request may not see from lists and searches (``sporbar.serve.auth``);
a path that names one collection is answered here before it reaches the app: 401 without a
token, 403 with a token whose grant lacks the level (``sporbar.serve.access``). The decision
is made from the path alone, so it is the same whether or not the named item exists, and the
answer names no collection::

    /api/collections/{collection}[/...]                   the collection's level
    /tiles/collections/{collection}/items/{item}/...      the collection's level
    /tiles/mosaics/{collection}[/...]                     the collection's level
    /tiles/searches/register (POST)                       every collection of the body; none named: all levels
    /tiles/searches/{search}/...                          every collection of the registered search
    /tiles/searches/list                                  a token (it lists every registered search)
    /tiles/files/...?url=/data/<file>                     as /data/<file> (tiles over the files, --static)
    /data/<file>                                          the collection of the nearest item.json or
                                                          collection.json above the file; a catalog.json
                                                          without one is answered with the child links
                                                          the request may see; any other file: a token
    /metadata/iso19139/{record}.xml                       a token unless the record states open access

Without the full grant, JSON answers that pass lose their links into hidden collections
(``sporbar.serve.links``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sporbar.serve.access import AccessLevels, Grant, grant_of
from sporbar.serve.links import names_collection, send_without_links
from sporbar.stac.collections import Access
from sporbar.stac.language import norwegian_path
from sporbar.stac.layout import ItemLayout

#: the scope key where the token's claims are (stac-auth-proxy's EnforceAuthMiddleware sets ``state.payload``)
PAYLOAD: Final = "payload"
ITEM_FILE: Final = "item.json"
COLLECTION_FILE: Final = "collection.json"
CATALOG_FILE: Final = "catalog.json"
#: the static catalog's Norwegian version (sporbar.stac.language), listed as filtered as the English one
CATALOG_FILES: Final = (CATALOG_FILE, norwegian_path(Path(CATALOG_FILE)).name)
#: tiles drawn from a file below /data/ named by the ``url`` query parameter (sporbar.serve.file_tiles)
FILE_TILES: Final = "/tiles/files/"

_API_COLLECTION = re.compile(r"^/api/collections/([^/]+)(/.*)?$")
_TILES_COLLECTION = re.compile(r"^/tiles/(?:collections|mosaics)/([^/]+)(/.*)?$")
_TILES_SEARCH = re.compile(r"^/tiles/searches/([^/]+)(/.*)?$")
_ISO_RECORD = re.compile(r"^/metadata/iso19139/([A-Za-z0-9][A-Za-z0-9._-]*)\.xml$")


def refusal_response(status: int, message: str) -> JSONResponse:
    """The JSON error body of a refused request (STAC API error form)."""
    code = {401: "Unauthorized", 403: "Forbidden", 404: "NotFoundError"}.get(status, "BadRequest")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return JSONResponse({"code": code, "description": message}, status_code=status, headers=headers)


def ids_refusal(grant: Grant, levels: AccessLevels, collection_ids: Sequence[str]) -> tuple[int, str] | None:
    """The refusal for a search over ``collection_ids``; a search naming none covers every level."""
    if not collection_ids:
        return None if grant.full else grant.refusal(Access.CLOSED)
    for cid in collection_ids:
        refused = grant.refusal(levels.level(str(cid)))
        if refused:
            return refused
    return None


class DataOwners:
    """Which collection a file below the data root belongs to: the nearest ``item.json`` or ``collection.json``.

    A step's ``item.json`` has no ``collection`` field (``sporbar publish`` sets it on the catalog
    copy); its collection is the one whose path pattern the item's path matches (``layout``).
    """

    def __init__(self, root: Path, layout: ItemLayout | None = None) -> None:
        """Files below ``root`` (the folder served at /data/); ``layout`` tells an item's collection by its path."""
        self.root = root.resolve()
        self.layout = layout
        self._owners: dict[Path, str] = {}

    def owner(self, rel: str) -> tuple[str | None, Path | None]:
        """(collection id or None, the file below the root or None when the path climbs out of it)."""
        path = (self.root / rel.lstrip("/")).resolve()
        if not path.is_relative_to(self.root):
            return None, None
        folder = path if path.is_dir() else path.parent
        while folder.is_relative_to(self.root) and folder != self.root:
            if folder in self._owners:
                return self._owners[folder], path
            found = self._read_owner(folder, self.layout)
            if found is not None:
                self._owners[folder] = found
                return found, path
            folder = folder.parent
        return None, path

    @staticmethod
    def _read_owner(folder: Path, layout: ItemLayout | None) -> str | None:
        for name, key in ((ITEM_FILE, "collection"), (COLLECTION_FILE, "id")):
            file = folder / name
            if file.is_file():
                try:
                    doc = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    return ""  # unreadable: belongs to no known collection, so closed
                value = doc.get(key) if isinstance(doc, dict) else None
                if not value and name == ITEM_FILE and layout is not None:
                    value = layout.collection_of(file)
                return str(value) if value else ""
        return None


class AccessGate:
    """ASGI middleware answering 401/403 for paths of collections the request may not see."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        levels: AccessLevels,
        data_root: Path,
        closed_scope: str,
        search_collections: Callable[[str], list[str] | None] | None = None,
        layout: ItemLayout | None = None,
    ) -> None:
        """Check requests before ``app``.

        Args:
            app: the served app.
            levels: collection levels.
            data_root: the folder served at /data/.
            closed_scope: the scope a token needs for closed collections.
            search_collections: registered search id -> its collections ([] for none named, None when
                unknown); None when the server has no tiles.
            layout: tells a step item's collection by its path (``ItemLayout.from_patterns``).
        """
        self.app, self.levels, self.closed_scope = app, levels, closed_scope
        self.owners = DataOwners(data_root, layout)
        self.search_collections = search_collections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, answer a filtered catalog, or pass the request on."""
        import anyio.to_thread

        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        grant = grant_of(scope.get("state", {}).get(PAYLOAD), self.closed_scope)
        path: str = scope["path"]
        refused: tuple[int, str] | None = None
        if grant.full:
            pass
        elif m := _API_COLLECTION.match(path) or _TILES_COLLECTION.match(path):
            not_found = (404, f"collection {m.group(1)!r} not found")
            refused = await self._level_refusal(grant, m.group(1), unknown=not_found)
        elif path.startswith(FILE_TILES):
            refused = await self._file_tiles_refusal(scope, grant)
        elif path.startswith("/tiles/searches"):
            refused, receive = await self._search_refusal(scope, receive, grant, path)
        elif path.startswith("/data/"):
            await self._data(scope, receive, send, grant, path[len("/data/") :])
            return
        elif m := _ISO_RECORD.match(path):
            refused = await anyio.to_thread.run_sync(self._record_refusal, grant, m.group(1))
        if refused:
            await refusal_response(*refused)(scope, receive, send)
            return
        await self._pass(scope, receive, send, grant)

    async def _pass(self, scope: Scope, receive: Receive, send: Send, grant: Grant, folder: Path | None = None) -> None:
        """Call the app; without the full grant, JSON answers lose links into hidden collections."""
        if grant.full:
            await self.app(scope, receive, send)
            return
        import anyio.to_thread

        table = await anyio.to_thread.run_sync(self.levels.table)
        hidden = frozenset(cid for cid, level in table.items() if level not in grant.levels)

        def drop(href: str) -> bool:
            if names_collection(href, hidden):
                return True
            if folder is None or "://" in href or href.startswith("/"):
                return False
            target = (folder / href).resolve()
            if not target.is_relative_to(self.owners.root):
                return False
            owner, _ = self.owners.owner(target.relative_to(self.owners.root).as_posix())
            return owner is not None and grant.refusal(table.get(owner, Access.CLOSED)) is not None

        # the links are rewritten in the JSON as the app sends it: uncompressed
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        await send_without_links(self.app, {**scope, "headers": headers}, receive, send, drop)

    def _record_refusal(self, grant: Grant, record_id: str) -> tuple[int, str] | None:
        """A record that does not state open access is for staff, as in the CSW (``csw.is_open_record``)."""
        from sporbar.serve.csw import is_open_record

        record = self.owners.root / "metadata" / "iso19139" / f"{record_id}.xml"
        if not record.is_file() or is_open_record(record):
            return None  # the route answers a missing record 404
        return grant.refusal(Access.RESTRICTED)

    async def _level_refusal(
        self, grant: Grant, collection_id: str, unknown: tuple[int, str] | None = None
    ) -> tuple[int, str] | None:
        """The refusal for ``collection_id``; ``unknown`` answers an id the server does not serve (else closed)."""
        import anyio.to_thread

        table = await anyio.to_thread.run_sync(self.levels.table)
        if collection_id not in table and unknown is not None:
            return unknown
        return grant.refusal(table.get(collection_id, Access.CLOSED))

    async def _search_refusal(
        self, scope: Scope, receive: Receive, grant: Grant, path: str
    ) -> tuple[tuple[int, str] | None, Receive]:
        import anyio.to_thread

        if path.rstrip("/") == "/tiles/searches/list":
            return grant.refusal(Access.RESTRICTED), receive
        if path.rstrip("/") == "/tiles/searches/register":
            body, receive = await read_body(receive)
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                return None, receive  # titiler answers the malformed body 422
            ids = doc.get("collections") if isinstance(doc, dict) else None
            ids = ids if isinstance(ids, list) else []
            refused = await anyio.to_thread.run_sync(ids_refusal, grant, self.levels, [str(i) for i in ids])
            return refused, receive
        m = _TILES_SEARCH.match(path)
        if m is None or self.search_collections is None:
            return None, receive
        names = await anyio.to_thread.run_sync(self.search_collections, m.group(1))
        if names is None:
            return None, receive  # no such search: titiler answers 404
        return await anyio.to_thread.run_sync(ids_refusal, grant, self.levels, names), receive

    async def _file_tiles_refusal(self, scope: Scope, grant: Grant) -> tuple[int, str] | None:
        """The refusal of tiles over the files: the same as for the files below /data/ they draw."""
        from urllib.parse import parse_qs

        import anyio.to_thread

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        for url in query.get("url", []):
            if not url.startswith("/data/"):
                continue  # not a served file: the tiler answers 404 without opening it
            owner, file = await anyio.to_thread.run_sync(self.owners.owner, url[len("/data/") :])
            if file is None:
                continue
            refused = await self._level_refusal(grant, owner) if owner is not None else grant.refusal(Access.RESTRICTED)
            if refused:
                return refused
        return None

    async def _data(self, scope: Scope, receive: Receive, send: Send, grant: Grant, rel: str) -> None:
        import anyio.to_thread

        owner, file = await anyio.to_thread.run_sync(self.owners.owner, rel)
        if file is None:  # climbs out of the root: StaticFiles answers 404
            await self.app(scope, receive, send)
            return
        refused: tuple[int, str] | None
        if owner is not None:
            refused = await self._level_refusal(grant, owner)
        elif file.name in CATALOG_FILES and file.is_file():
            catalog = await anyio.to_thread.run_sync(self._visible_catalog, file, grant)
            if catalog is not None:
                await JSONResponse(catalog, headers={"Cache-Control": "no-store"})(scope, receive, send)
                return
            refused = grant.refusal(Access.RESTRICTED)
        else:  # a file of no collection (job manifests, configs, logs): staff only
            refused = grant.refusal(Access.RESTRICTED)
        if refused:
            await refusal_response(*refused)(scope, receive, send)
            return
        await self._pass(scope, receive, send, grant, folder=file.parent)

    def _visible_catalog(self, file: Path, grant: Grant) -> dict[str, Any] | None:
        """The static catalog with the child links ``grant`` may not follow removed; None if not a catalog."""
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("type") != "Catalog":
            return None
        links = []
        for link in doc.get("links") or []:
            if isinstance(link, dict) and link.get("rel") in ("child", "item"):
                href = str(link.get("href", ""))
                target = (file.parent / href).resolve() if "://" not in href else None
                owner = None
                if target is not None and target.is_relative_to(self.owners.root):
                    owner, _ = self.owners.owner(target.relative_to(self.owners.root).as_posix())
                if owner is None or grant.refusal(self.levels.level(owner)):
                    continue
            links.append(link)
        return {**doc, "links": links}


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that replays it."""
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay
