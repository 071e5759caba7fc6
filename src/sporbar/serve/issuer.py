"""A small OpenID Connect issuer on loopback, for the tests and the demo only.

It serves a real discovery document (``/.well-known/openid-configuration``) and JWKS
(``/jwks.json``) for an RSA key generated at start, and signs RS256 access tokens with it, so
``sporbar serve`` validates them exactly as it validates the directorate's identity
provider's tokens (stac-auth-proxy fetches the same two documents there). It has no users,
no login page and no token endpoint: tokens are minted in-process (:meth:`LoopbackIssuer.token`)
or printed by ``python -m sporbar.serve.issuer``. Never point a production config at it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final

from sporbar.errors import ConfigError

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
JWKS_PATH: Final = "/jwks.json"
DEFAULT_AUDIENCE: Final = "sporbar"


def generate_key() -> Any:
    """A fresh 2048-bit RSA private key (cryptography)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_token(
    key: Any,
    *,
    issuer: str,
    kid: str,
    subject: str = "staff",
    audience: str = DEFAULT_AUDIENCE,
    scopes: Sequence[str] = (),
    lifetime_s: float = 3600.0,
    issued_at: float | None = None,
) -> str:
    """An RS256 JWT access token signed by ``key``.

    Args:
        key: RSA private key.
        issuer: the ``iss`` claim (the issuer's base URL).
        kid: key id in the header (the JWKS entry that verifies it).
        subject: the ``sub`` claim.
        audience: the ``aud`` claim.
        scopes: space-joined into the ``scope`` claim.
        lifetime_s: seconds until ``exp``; negative for a token that has already expired.
        issued_at: ``iat`` (default now).

    Returns:
        The compact JWT.
    """
    import jwt

    now = time.time() if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": int(now),
        "nbf": int(min(now, now + lifetime_s)),
        "exp": int(now + lifetime_s),
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class LoopbackIssuer:
    """The discovery document and JWKS of a generated key, served on 127.0.0.1 (a thread).

    Use as a context manager; ``discovery_url`` is what ``serve.auth.oidc_discovery_url`` is set to.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        """Generate the key; ``port`` 0 picks a free port."""
        import socket

        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = int(s.getsockname()[1])
        self.host, self.port = host, port
        self.base = f"http://{host}:{port}"
        self.key = generate_key()
        self.kid = uuid.uuid4().hex[:16]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def discovery_url(self) -> str:
        """URL of the OpenID Connect discovery document."""
        return self.base + DISCOVERY_PATH

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set: the public half of the key."""
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def discovery(self) -> dict[str, Any]:
        """The discovery document (the fields a resource server reads)."""
        return {
            "issuer": self.base,
            "jwks_uri": self.base + JWKS_PATH,
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "authorization_endpoint": self.base + "/authorize",
            "token_endpoint": self.base + "/token",
        }

    def token(self, **kwargs: Any) -> str:
        """A token signed by this issuer (keyword arguments of :func:`sign_token`)."""
        return sign_token(self.key, issuer=self.base, kid=self.kid, **kwargs)

    def app(self) -> Any:
        """The Starlette app serving the two documents."""
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        return Starlette(
            routes=[
                Route(DISCOVERY_PATH, lambda r: JSONResponse(self.discovery())),
                Route(JWKS_PATH, lambda r: JSONResponse(self.jwks())),
            ]
        )

    def start(self) -> LoopbackIssuer:
        """Serve in a daemon thread until :meth:`stop`.

        Raises:
            ConfigError: the port did not answer within 10 s.
        """
        import urllib.request

        import uvicorn

        config = uvicorn.Config(self.app(), host=self.host, port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="loopback-issuer", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.discovery_url, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise ConfigError(f"{self.discovery_url}: the loopback issuer did not start")

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackIssuer:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sporbar.serve.issuer [--port N] [--scope S]``: serve and print a staff token (demo)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--scope", action="append", default=[], help="scope claim of the printed token")
    parser.add_argument("--hours", type=float, default=8.0, help="lifetime of the printed token")
    args = parser.parse_args(argv)
    issuer = LoopbackIssuer(port=args.port).start()
    print(f"serve.auth.oidc_discovery_url: {issuer.discovery_url}", flush=True)
    print(f"token: {issuer.token(scopes=args.scope, lifetime_s=args.hours * 3600)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        issuer.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
