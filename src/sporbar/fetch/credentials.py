"""Credentials of remote sources, and keeping them out of every text sporbar writes.

Only the *names* of credentials live in configs and items (env vars, the ``~/.netrc``
host); values are read at request time and only ever travel in request headers. Every
URL that reaches a log line, an item or an error goes through :func:`redact`, every
server text through :func:`scrub`.
"""

from __future__ import annotations

import netrc
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

_SECRET_PARAM = re.compile(
    r"(token|sig|signature|key|password|passwd|secret|credential|auth|x-amz-|se$|st$|skoid|sktid)",
    re.IGNORECASE,
)


def redact(url: str) -> str:
    """``url`` without user:password and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, "REDACTED" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)],
        safe="/:,()*'",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Credentials:
    """Where a source's credentials come from: env var names and/or the ``~/.netrc`` host.

    Only the *names* live here (and thus in configs and items); values are read at
    request time. A bearer token wins over user/password, env vars over ``~/.netrc``.
    """

    user_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    netrc_host: str | None = None

    def login(self) -> tuple[str, str] | None:
        """(user, password) from the env vars, else from ``~/.netrc``, else None."""
        if self.user_env and self.password_env:
            user, pw = os.environ.get(self.user_env), os.environ.get(self.password_env)
            if user and pw:
                return user, pw
        if self.netrc_host:
            try:
                entry = netrc.netrc().authenticators(self.netrc_host)
            except (FileNotFoundError, netrc.NetrcParseError, OSError):
                entry = None
            if entry and entry[0] and entry[2]:
                return entry[0], entry[2]
        return None

    def token(self) -> str | None:
        """The bearer token from ``token_env``, if set."""
        return os.environ.get(self.token_env) if self.token_env else None

    def headers(self) -> dict[str, str]:
        """Request headers carrying the credentials (empty when there are none)."""
        tok = self.token()
        if tok:
            return {"Authorization": f"Bearer {tok}"}
        login = self.login()
        if login:
            return {"Authorization": requests.auth._basic_auth_str(*login)}
        return {}

    def secrets(self) -> list[str]:
        """The secret values currently set (for scrubbing text); never log these."""
        out = [s for s in (self.token(),) if s]
        login = self.login()
        if login:
            out.append(login[1])
        return out

    def describe(self) -> str:
        """Which credential to set, by name only."""
        ways = []
        if self.token_env:
            ways.append(f"the bearer token in ${self.token_env}")
        if self.user_env and self.password_env:
            ways.append(f"${self.user_env} and ${self.password_env}")
        if self.netrc_host:
            ways.append(f"a ~/.netrc entry 'machine {self.netrc_host} login ... password ...'")
        return " or ".join(ways) or "no credentials are configured for this source"


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value and every URL's userinfo/token replaced."""
    text = re.sub(r"https?://[^\s'\"<>]+", lambda m: redact(m.group(0)), text)
    for s in secrets:
        if s:
            text = text.replace(s, "REDACTED")
    return text
