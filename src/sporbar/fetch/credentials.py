"""Credentials of remote sources: where they come from, and the request headers that carry them.

Only the *names* of credentials live in configs and items (env vars, the ``~/.netrc``
host); values are read at request time, only ever travel in request headers, and are
registered with :mod:`sporbar.redaction` as they are read, so that no message or log
line sporbar writes can hold them in any encoding.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass

import requests

from sporbar.redaction import register_login, register_secret


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
        """(user, password) from the env vars, else from ``~/.netrc``, else None (registered as secret)."""
        found = None
        if self.user_env and self.password_env:
            user, pw = os.environ.get(self.user_env), os.environ.get(self.password_env)
            if user and pw:
                found = user, pw
        if found is None and self.netrc_host:
            try:
                entry = netrc.netrc().authenticators(self.netrc_host)
            except (FileNotFoundError, netrc.NetrcParseError, OSError):
                entry = None
            if entry and entry[0] and entry[2]:
                found = entry[0], entry[2]
        if found is not None:
            register_login(*found)
        return found

    def token(self) -> str | None:
        """The bearer token from ``token_env``, if set (registered as secret)."""
        tok = os.environ.get(self.token_env) if self.token_env else None
        register_secret(tok)
        return tok

    def headers(self) -> dict[str, str]:
        """Request headers carrying the credentials (empty when there are none)."""
        tok = self.token()
        if tok:
            return {"Authorization": f"Bearer {tok}"}
        login = self.login()
        if login:
            return {"Authorization": requests.auth._basic_auth_str(*login)}
        return {}

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
