"""Signing in to STAC Browser with a staff member's token.

Given once, the token opens restricted collections in the browser's pages, map tiles and data links.

STAC Browser 4 signs in with an access token (``authConfig`` ``apiKey``, :func:`browser_auth_config`)
and sends it as the ``Authorization`` header of its own requests. Map tiles and asset downloads
are requested by the page itself and never carry that header, so ``/browser/config.js``
(:mod:`sporbar.serve.browser`) mirrors the token into a session cookie, :data:`TOKEN_COOKIE`
(SameSite Strict), and :class:`CookieCredentials` turns that cookie back into the header the
token check reads: a signed-in page is checked exactly as an API client with the same token
(signature, expiry, audience, scopes).

The cookie counts only on same-origin requests: a request another site makes the browser send
(``Sec-Fetch-Site`` ``cross-site``/``same-site``, or an ``Origin`` that is not this server) is
served as anonymous, so a page elsewhere cannot use a signed-in session.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any, Final
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

#: the cookie STAC Browser writes the token to (its value: ``Bearer <token>``)
TOKEN_COOKIE: Final = "sporbar_token"
_BEARER: Final = "Bearer "

#: shown in the sign-in dialog when the config gives no ``serve.auth.token_help``
DEFAULT_TOKEN_HELP: Final = (
    "Lim inn tilgangsnøkkelen (access token) du har fått fra direktoratets innloggingstjeneste. "
    "Den gir tilgang til begrensede samlinger så lenge nettleservinduet er åpent.\n\n"
    "Paste the access token issued by the directorate's identity provider. It opens restricted "
    "collections for as long as this browser window is open."
)


def browser_auth_config(token_help: str | None = None) -> dict[str, Any]:
    """STAC Browser's ``authConfig``: sign in with a bearer token.

    Args:
        token_help: where staff get a token (CommonMark), shown in the sign-in dialog;
            None: :data:`DEFAULT_TOKEN_HELP`.

    Returns:
        The option as STAC Browser reads it.
    """
    return {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "formatter": "Bearer",
        "description": token_help or DEFAULT_TOKEN_HELP,
    }


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def _same_origin(scope: Scope) -> bool:
    """False for a request another site had the browser send (then its cookies must not count)."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return False
    origin = _header(scope, b"origin")
    if origin is None or origin == b"null":
        return origin is None
    hosts = {_header(scope, b"host"), _header(scope, b"x-forwarded-host")} - {None}
    return origin.split(b"://", 1)[-1] in hosts


def cookie_token(scope: Scope) -> str | None:
    """The ``Bearer ...`` value of :data:`TOKEN_COOKIE`, when the request may use it.

    Any value that is not a bearer token is no credential (the request is anonymous), never a
    refused token.
    """
    raw = _header(scope, b"cookie")
    if raw is None or not _same_origin(scope):
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(TOKEN_COOKIE)
    if morsel is None:
        return None
    value = unquote(morsel.value)
    return value if value.startswith(_BEARER) and len(value) > len(_BEARER) else None


class CookieCredentials:
    """Let a same-origin request without an ``Authorization`` header sign in with the cookie."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(  # noqa: D102 - the ASGI interface
self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _header(scope, b"authorization") is None:
            token = cookie_token(scope)
            if token is not None:
                scope = dict(scope)
                scope["headers"] = [*scope["headers"], (b"authorization", token.encode("latin-1"))]
        await self.app(scope, receive, send)
