"""STAC Browser's sign-in: the token cookie counts as the bearer header on same-origin requests only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sporbar.serve.browser import browser_config_js
from sporbar.serve.signin import TOKEN_COOKIE, CookieCredentials, browser_auth_config


def _authorization_seen(headers: dict[str, str]) -> str | None:
    """The Authorization header the wrapped app receives for a request with ``headers``."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["auth"] = dict(scope["headers"]).get(b"authorization")

    scope = {
        "type": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(CookieCredentials(app)(scope, None, None))
    value = seen["auth"]
    return None if value is None else value.decode()


def test_the_cookie_becomes_the_bearer_header() -> None:
    cookie = f"other=1; {TOKEN_COOKIE}=Bearer%20abc.def.ghi"
    assert _authorization_seen({"cookie": cookie, "host": "h:8000"}) == "Bearer abc.def.ghi"
    # a same-origin POST names its origin
    assert _authorization_seen({"cookie": cookie, "host": "h:8000", "origin": "http://h:8000",
                                "sec-fetch-site": "same-origin"}) == "Bearer abc.def.ghi"


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://evil.example"},
        {"origin": "null"},
    ],
)
def test_the_cookie_does_not_count_on_requests_of_another_site(headers: dict[str, str]) -> None:
    cookie = f"{TOKEN_COOKIE}=Bearer%20abc"
    assert _authorization_seen({"cookie": cookie, "host": "h:8000", **headers}) is None


@pytest.mark.parametrize("value", ["undefined", "", "Bearer%20", "abc"])
def test_a_signed_out_cookie_is_no_credential(value: str) -> None:
    # not a bearer token: anonymous, not a refused token
    assert _authorization_seen({"cookie": f"{TOKEN_COOKIE}={value}", "host": "h"}) is None


def test_an_authorization_header_wins_over_the_cookie() -> None:
    headers = {"cookie": f"{TOKEN_COOKIE}=Bearer%20cookie", "authorization": "Bearer header", "host": "h"}
    assert _authorization_seen(headers) == "Bearer header"


def test_a_malformed_cookie_header_is_anonymous() -> None:
    assert _authorization_seen({"cookie": 'a="unterminated', "host": "h"}) is None


def test_browser_config_offers_sign_in_only_with_auth() -> None:
    kwargs: dict[str, Any] = {"catalog_url": "http://h/api/", "title": "t", "path_prefix": "/browser/",
                              "tiles_url": None}
    assert "authConfig" not in browser_config_js(**kwargs)
    js = browser_config_js(**kwargs, auth_config=browser_auth_config("Ask *IT*"))
    assert '"in": "header"' in js and "Ask *IT*" in js
    assert f"var name = \"{TOKEN_COOKIE}\"" in js  # the page mirrors the token into the cookie
