"""Access levels enforced in ``sporbar serve``: stac-auth-proxy's middleware around the app.

Every request passes, outermost first:

1. stac-auth-proxy's ``RejectAmbiguousPathMiddleware`` (the checked path is the routed path);
2. token validation (a signed-in STAC Browser's token cookie counts as the bearer header,
   :mod:`sporbar.serve.signin`): stac-auth-proxy's ``EnforceAuthMiddleware`` checks a bearer token's
   signature (the issuer's JWKS, from its OpenID Connect discovery document), expiry and
   audience, and puts the claims in ``request.state.payload``; a forged, expired or malformed
   token is 401 on every path. Without ``serve.auth`` no token is valid (401 with one);
3. :class:`sporbar.serve.gate.AccessGate`: 401/403 for API records, tiles, mosaics and data
   files of collections the request may not see;
4. below ``/api``: an item search gets the permitted collections as its ``collections``
   (``sporbar.serve.search_scope``: the requested ones that are permitted, or all permitted);
   stac-auth-proxy's CQL2 filter middleware adds ``collection IN (<permitted>)`` to item lists
   and to the searches that rewrite cannot narrow, ``id IN (<permitted>)`` to the collections
   list, and checks single records against the same filter.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sporbar.errors import ConfigError
from sporbar.serve.access import AccessLevels, CollectionFilter, grant_of
from sporbar.serve.gate import PAYLOAD, AccessGate, read_body, refusal_response
from sporbar.serve.query_filter import QueryError, rewrite_body, rewrite_query_string
from sporbar.serve.search_scope import SCOPED, scope_body, scope_query_string
from sporbar.serve.signin import CookieCredentials
from sporbar.stac.layout import ItemLayout

API_ROOT: Final = "/api"
#: the scope of the demo config; the directorate's IdP names its own (``serve.auth.closed_scope``)
DEFAULT_CLOSED_SCOPE: Final = "sporbar:closed"
NO_AUTH_MESSAGE: Final = (
    "Invalid token: this server accepts no tokens (serve.auth is not configured); "
    "only open collections are served"
)


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are validated (``serve.auth`` of the config).

    Attributes:
        oidc_discovery_url: the identity provider's OpenID Connect discovery document.
        audiences: accepted ``aud`` claims (the config requires at least one; PyJWT refuses a token
            with an ``aud`` when none is given).
        closed_scope: the scope a token needs for ``closed`` collections.
        token_help: where staff get a token (CommonMark), shown in STAC Browser's sign-in
            dialog; None: a generic text.
    """

    oidc_discovery_url: str
    audiences: tuple[str, ...] = ()
    closed_scope: str = DEFAULT_CLOSED_SCOPE
    token_help: str | None = None

    @classmethod
    def from_config(cls, data: dict[str, Any], source: str = "config") -> AuthSettings | None:
        """The settings of ``data['serve']['auth']``; None when the config has none.

        Raises:
            ConfigError: the discovery URL is not an http(s) URL.
        """
        auth = (data.get("serve") or {}).get("auth")
        if not auth:
            return None
        url = str(auth.get("oidc_discovery_url", ""))
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{source}: key serve/auth/oidc_discovery_url: {url!r} is not an http(s) URL")
        return cls(
            oidc_discovery_url=url,
            audiences=tuple(str(a) for a in auth.get("audiences") or ()),
            closed_scope=str(auth.get("closed_scope") or DEFAULT_CLOSED_SCOPE),
            token_help=str(auth["token_help"]) if auth.get("token_help") else None,
        )


class _NoTokens:
    """Token check when no identity provider is configured: any Authorization header is refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # the filter middleware reads it; no token, so no payload
        if any(k.lower() == b"authorization" for k, _ in scope["headers"]):
            await refusal_response(401, NO_AUTH_MESSAGE)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _IdpErrors:
    """An identity provider that cannot be reached is 503 with a message, not a 500."""

    def __init__(self, app: ASGIApp, discovery_url: str) -> None:
        from stac_auth_proxy.middleware.EnforceAuthMiddleware import OidcFetchError

        self.app, self.discovery_url, self.fetch_error = app, discovery_url, OidcFetchError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})
        try:
            await self.app(scope, receive, send)
        except self.fetch_error as err:
            body = {
                "code": "ServiceUnavailable",
                "description": f"the identity provider ({self.discovery_url}) cannot be reached: {err}",
            }
            await JSONResponse(body, status_code=503)(scope, receive, send)


class _RestorePath:
    """Put back the path stac-auth-proxy's ``RemoveRootPathMiddleware`` shortened, keeping ``root_path``.

    Its own ``RestoreRootPathMiddleware`` sets ``root_path`` to ``/api`` for a proxied app; the API
    routes here are ``/api/...`` of the top-level app, so only the path comes back.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from stac_auth_proxy.middleware.RemoveRootPathMiddleware import _ORIGINAL

        if scope["type"] == "http" and _ORIGINAL in scope:
            _, path, raw_path = scope.pop(_ORIGINAL)
            scope["path"] = path
            if raw_path is not None:
                scope["raw_path"] = raw_path
        await self.app(scope, receive, send)


@functools.lru_cache(maxsize=256)
def _validated_filter(text: str) -> Any:
    """The parsed and validated CQL2 of ``text`` (cql2 takes tens of ms to validate; each text is checked once)."""
    from cql2 import Expr

    expr = Expr(text)
    expr.validate()
    return expr


def _cached_build_filter() -> type:
    """stac-auth-proxy's ``Cql2BuildFilterMiddleware`` with each distinct filter validated once.

    Its ``__call__`` parses and validates the filter of every request; the access filter has one
    text per grant and table of levels, and validating it cost ~50 ms a search (p50, this
    machine). The checks of the query string are the middleware's own.
    """
    from fastapi import HTTPException
    from stac_auth_proxy.middleware import Cql2BuildFilterMiddleware
    from stac_auth_proxy.utils import filters, requests
    from stac_auth_proxy.utils.middleware import bad_request
    from starlette.requests import Request

    class CachedBuildFilter(Cql2BuildFilterMiddleware):  # type: ignore[misc]  # untyped base
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            request = Request(scope)
            builder = self._get_filter(request.url.path) if scope["type"] == "http" else None
            if builder is None or request.method.upper() == "OPTIONS":
                await self.app(scope, receive, send)
                return
            query_string = scope.get("query_string", b"")
            query_params = filters.parse_query_params(query_string)
            try:
                filters.check_query_size(query_string)
                filters.check_unique_params(k for k, _ in query_params.multi_items())
            except filters.InvalidFilterRequestError as err:
                await bad_request(str(err))(scope, receive, send)
                return
            context = {
                "req": {
                    "path": request.url.path,
                    "method": request.method,
                    "query_params": dict(query_params),
                    "path_params": requests.extract_variables(request.url.path),
                    "headers": dict(request.headers),
                },
                **scope["state"],
            }
            try:
                text = await builder(context)
            except HTTPException as err:
                await JSONResponse({"detail": err.detail}, err.status_code, err.headers)(scope, receive, send)
                return
            if text is not None:  # None: the search is narrowed by its collections (search_scope)
                setattr(request.state, self.state_key, _validated_filter(text))
            await self.app(scope, receive, send)

    return CachedBuildFilter


class _ApiFilters:
    """stac-auth-proxy's CQL2 filter middleware on the paths below /api; other paths go straight on."""

    def __init__(self, app: ASGIApp, levels: AccessLevels, closed_scope: str) -> None:
        from stac_auth_proxy.middleware import (
            Cql2ApplyFilterBodyMiddleware,
            Cql2ApplyFilterQueryStringMiddleware,
            Cql2RewriteLinksFilterMiddleware,
            Cql2ValidateResponseBodyMiddleware,
            RemoveRootPathMiddleware,
        )

        self.app, self.levels, self.closed_scope = app, levels, closed_scope
        inner: ASGIApp = _RestorePath(app)
        inner = Cql2ValidateResponseBodyMiddleware(inner)
        inner = Cql2ApplyFilterBodyMiddleware(inner)
        inner = Cql2ApplyFilterQueryStringMiddleware(inner)
        inner = Cql2RewriteLinksFilterMiddleware(inner)
        inner = _cached_build_filter()(
            inner,
            items_filter=CollectionFilter(levels, "collection", closed_scope),
            collections_filter=CollectionFilter(levels, "id", closed_scope),
        )
        self.api = RemoveRootPathMiddleware(inner, root_path=API_ROOT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_ROOT or path.startswith(API_ROOT + "/")):
            await self.app(scope, receive, send)
            return
        # the filter middleware reads and rewrites JSON bodies: the API must not compress them
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        scope = {**scope, "headers": headers}
        if scope["method"] == "GET":
            scope = {**scope, "query_string": _json_filter_lang(scope.get("query_string", b""))}
        if path.rstrip("/") == API_ROOT + "/search":
            try:
                scope, receive = await _query_as_filter(scope, receive)
            except QueryError as err:
                await JSONResponse({"code": "BadRequest", "description": str(err)}, 400)(scope, receive, send)
                return
            scope, receive = await self._scoped_search(scope, receive)
        await self.api(scope, receive, send)

    async def _scoped_search(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """The search narrowed to the permitted collections and marked :data:`SCOPED`, or left as it is."""
        import anyio.to_thread

        state = scope.setdefault("state", {})
        grant = grant_of(state.get(PAYLOAD), self.closed_scope)
        if grant.full:  # every level, unknown collections included: nothing to hide
            state[SCOPED] = True
            return scope, receive
        permitted = await anyio.to_thread.run_sync(self.levels.permitted, grant)
        if scope["method"] == "GET":
            query_string = scope_query_string(scope.get("query_string", b""), permitted)
            if query_string is None:
                return scope, receive
            state[SCOPED] = True
            return {**scope, "query_string": query_string}, receive
        if scope["method"] != "POST":
            return scope, receive
        body, receive = await read_body(receive)
        new_body = scope_body(body, permitted)
        if new_body is None:
            return scope, receive
        state[SCOPED] = True
        return _with_body(scope, new_body)


def _json_filter_lang(query_string: bytes) -> bytes:
    """``filter-lang=cql2-json`` added to a GET without a filter of its own.

    The access filter then goes to the API as CQL2-JSON, which pgstac takes as it is; as CQL2 text
    (stac-auth-proxy's default for GET) the API parses it first, ~80 ms a request here.
    """
    names = {name for name, _ in parse_qsl(query_string.decode(errors="replace"), keep_blank_values=True)}
    if names & {"filter", "filter-lang"}:
        return query_string
    return query_string + (b"&" if query_string else b"") + b"filter-lang=cql2-json"


async def _query_as_filter(scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
    """The search with its ``query`` rewritten as CQL2 (``sporbar.serve.query_filter``)."""
    if scope["method"] == "GET":
        return {**scope, "query_string": rewrite_query_string(scope.get("query_string", b""))}, receive
    if scope["method"] != "POST":
        return scope, receive
    body, receive = await read_body(receive)
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        return scope, receive  # stac-auth-proxy answers a body that is not JSON
    if not isinstance(doc, dict) or "query" not in doc:
        return scope, receive
    return _with_body(scope, json.dumps(rewrite_body(doc)).encode())


def _with_body(scope: Scope, body: bytes) -> tuple[Scope, Receive]:
    """The request with ``body`` in place of its own (and its length)."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return {**scope, "headers": headers}, replay


def protect(
    app: ASGIApp,
    *,
    levels: AccessLevels,
    data_root: Path,
    auth: AuthSettings | None,
    search_collections: Callable[[str], list[str] | None] | None = None,
    api: bool = True,
    layout: ItemLayout | None = None,
) -> ASGIApp:
    """``app`` behind token validation, the access gate and (with ``api``) the API filters.

    Args:
        app: the served app (API, tiles, data, browser).
        levels: collection levels (pgstac's or the static catalog's).
        data_root: the folder served at /data/.
        auth: token settings; None accepts no token.
        search_collections: registered search id -> its collections (tiles), see AccessGate.
        api: True when ``app`` serves the STAC API below /api.
        layout: tells a step item's collection by its path (data files).

    Returns:
        The ASGI app to serve.
    """
    from stac_auth_proxy.middleware import EnforceAuthMiddleware, RejectAmbiguousPathMiddleware

    closed_scope = auth.closed_scope if auth else DEFAULT_CLOSED_SCOPE
    wrapped: ASGIApp = _ApiFilters(app, levels, closed_scope) if api else app
    wrapped = AccessGate(
        wrapped,
        levels=levels,
        data_root=data_root,
        closed_scope=closed_scope,
        search_collections=search_collections,
        layout=layout,
    )
    if auth is None:
        wrapped = _NoTokens(wrapped)
    else:
        audiences: Sequence[str] | None = list(auth.audiences) or None
        enforce = EnforceAuthMiddleware(
            wrapped,
            private_endpoints={},
            public_endpoints={},
            default_public=True,
            oidc_discovery_url=auth.oidc_discovery_url,
            allowed_jwt_audiences=audiences,
        )
        # STAC Browser's sign-in sends the token as a cookie (tiles and downloads carry no header)
        wrapped = CookieCredentials(_IdpErrors(enforce, auth.oidc_discovery_url))
    outer: ASGIApp = RejectAmbiguousPathMiddleware(wrapped)
    return outer


def pgstac_search_collections(conninfo: str) -> Callable[[str], list[str] | None]:
    """Registered search id (pgstac ``searches.hash``) -> its ``collections`` ([] if none named), None if unknown.

    Registered searches never change (the id is the hash of the search), so answers are cached.
    """
    cache: dict[str, list[str]] = {}

    def lookup(search_id: str) -> list[str] | None:
        if search_id in cache:
            return cache[search_id]
        import psycopg

        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            row = conn.execute("SELECT search FROM pgstac.searches WHERE hash = %s", (search_id,)).fetchone()
        if row is None:
            return None
        names = (row[0] or {}).get("collections") or []
        cache[search_id] = [str(n) for n in names] if isinstance(names, list) else []
        return cache[search_id]

    return lookup
