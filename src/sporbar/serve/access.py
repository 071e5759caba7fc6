"""Who may see which collection: access levels, grants and the CQL2 filters that apply them.

A collection's level is its ``sporbar:access`` (``open``, ``restricted``, ``closed``): the
collection template's value, or ``catalog.access`` of the config when it names the collection
(``sporbar.stac.collections``), written into the published collection. The server reads the
levels back from what it serves (pgstac's collections, or the static catalog's
``collection.json`` files), at most every :data:`REFRESH_S` seconds. A collection without a
level, or one the server does not know, counts as ``closed``.

A request without a token sees ``open`` collections; a valid token adds ``restricted``; a
valid token carrying the configured closed scope adds ``closed``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sporbar.serve.search_scope import SCOPED
from sporbar.stac.collections import ACCESS, Access

#: seconds a loaded table of levels is used before it is read again
REFRESH_S: Final = 10.0
#: what an anonymous client is told (no collection id: the answer must not confirm one exists)
SIGN_IN_MESSAGE: Final = (
    "Authentication required: this resource is not open data. Staff send "
    "'Authorization: Bearer <access token>' from the directorate's identity provider (README: Access levels)."
)


@dataclass(frozen=True)
class Grant:
    """The access levels one request may see.

    Attributes:
        levels: the levels granted.
        signed_in: True when the request carried a valid token.
        closed_scope: the scope a token needs for ``closed`` collections (for the message).
    """

    levels: frozenset[Access]
    signed_in: bool = False
    closed_scope: str = ""

    @property
    def full(self) -> bool:
        """True when every level is granted (nothing needs hiding)."""
        return self.levels == frozenset(Access)

    def refusal(self, level: Access) -> tuple[int, str] | None:
        """None when ``level`` is granted, else (HTTP status, message): 401 without a token, 403 with one."""
        if level in self.levels:
            return None
        if not self.signed_in:
            return 401, SIGN_IN_MESSAGE
        return 403, (
            f"Forbidden: this resource is {level.value}; your token lacks the scope "
            f"{self.closed_scope!r} that {Access.CLOSED.value} collections need"
        )


def grant_of(payload: Mapping[str, Any] | None, closed_scope: str) -> Grant:
    """The grant of a validated token's claims (``payload``), or of no token (None)."""
    if payload is None:
        return Grant(frozenset({Access.OPEN}), closed_scope=closed_scope)
    scopes = set(str(payload.get("scope", "")).split())
    levels = {Access.OPEN, Access.RESTRICTED}
    if closed_scope and closed_scope in scopes:
        levels.add(Access.CLOSED)
    return Grant(frozenset(levels), signed_in=True, closed_scope=closed_scope)


def level_of(value: Any) -> Access:
    """The level of a ``sporbar:access`` value; anything else (missing, misspelt) is ``closed``."""
    try:
        return Access(str(value))
    except ValueError:
        return Access.CLOSED


class AccessLevels:
    """Collection id -> level, read by ``load`` and read again after :data:`REFRESH_S` seconds."""

    def __init__(self, load: Callable[[], Mapping[str, Any]], refresh_s: float = REFRESH_S) -> None:
        """Read with ``load`` (id -> ``sporbar:access`` value) when first asked."""
        self._load = load
        self._refresh_s = refresh_s
        self._levels: dict[str, Access] = {}
        self._loaded_at = -float("inf")
        self._lock = threading.Lock()

    def table(self) -> dict[str, Access]:
        """The current table (reloaded when older than the refresh interval)."""
        with self._lock:
            if time.monotonic() - self._loaded_at > self._refresh_s:
                self._levels = {str(k): level_of(v) for k, v in self._load().items()}
                self._loaded_at = time.monotonic()
            return self._levels

    def level(self, collection_id: str) -> Access:
        """The level of ``collection_id``; unknown ids are ``closed``."""
        return self.table().get(collection_id, Access.CLOSED)

    def permitted(self, grant: Grant) -> list[str]:
        """Sorted ids of the collections ``grant`` may see."""
        return sorted(cid for cid, level in self.table().items() if level in grant.levels)


def pgstac_levels(conninfo: str) -> Callable[[], dict[str, Any]]:
    """A loader of the levels of pgstac's collections (``content->>'sporbar:access'``)."""

    def load() -> dict[str, Any]:
        import psycopg

        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            rows = conn.execute("SELECT id, content->>%s FROM pgstac.collections", (ACCESS,)).fetchall()
        return {str(cid): value for cid, value in rows}

    return load


def static_levels(catalog_json: Path) -> Callable[[], dict[str, Any]]:
    """A loader of the levels of the ``collection.json`` files beside a static ``catalog.json``."""

    def load() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path in sorted(catalog_json.parent.glob("*/collection.json")):
            try:
                coll = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # unreadable: not listed, so closed
            if isinstance(coll, dict) and isinstance(coll.get("id"), str):
                out[coll["id"]] = coll.get(ACCESS)
        return out

    return load


def _quoted(ids: Iterable[str]) -> str:
    return ", ".join("'" + cid.replace("'", "''") + "'" for cid in ids)


class CollectionFilter:
    """stac-auth-proxy filter factory: the CQL2 text that keeps what the request may see.

    ``property`` is ``collection`` for items (search, item lists) and ``id`` for collections.
    The context holds ``payload``, the claims that stac-auth-proxy validated (None without a token).
    """

    def __init__(self, levels: AccessLevels, prop: str, closed_scope: str) -> None:
        """Filter on ``prop`` by the collections of ``levels``."""
        self.levels, self.prop, self.closed_scope = levels, prop, closed_scope

    async def __call__(self, context: dict[str, Any]) -> str | None:
        """CQL2 text ``<prop> IN (...)``, ``<prop> IS NULL`` (nothing permitted) or None (no filter).

        None for a search that ``sporbar.serve.search_scope`` narrowed by its collections. Not the
        CQL2 literal ``false``: pgstac 0.10 turns it into ``NOT 'false'``, an SQL error (HTTP 500)
        for anyone who may see no collection, e.g. before anything open is published.
        """
        import anyio.to_thread

        if context.get(SCOPED) is True:
            return None
        grant = grant_of(context.get("payload"), self.closed_scope)
        ids = await anyio.to_thread.run_sync(self.levels.permitted, grant)
        return f"{self.prop} IN ({_quoted(ids)})" if ids else f"{self.prop} IS NULL"
