"""A real HTTP server on 127.0.0.1 for the download tests: files, faults, cassette replay.

``Loopback`` runs ``http.server.ThreadingHTTPServer`` in a thread. Routes map a path to
a :class:`Route`: bytes served with Range support, plus a queue of faults consumed one
per request (``("status", 429, {"Retry-After": "1"})``, ``("cut", n_bytes)`` to close
the connection after n body bytes, ``("auth", "user", "password")`` to demand Basic auth).
``replay_cassette`` serves the responses of a recorded vcrpy cassette with the recorded
host rewritten to the loopback URL.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

SHARED = Path(__file__).resolve().parents[3] / "shared"
REALDATA = SHARED / "realdata"


@dataclass
class Route:
    """What one path serves."""

    body: bytes = b""
    content_type: str = "application/octet-stream"
    ranges: bool = True
    faults: list[tuple[Any, ...]] = field(default_factory=list)
    auth: tuple[str, str] | None = None
    bearer: str | None = None
    handler: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]] | None = None


class Loopback:
    """A threaded HTTP server on 127.0.0.1; ``url(path)`` gives its address."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                outer._handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:  # client hung up
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [h for m, p, h in self.log if urlsplit(p).path == path]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        n = int(h.headers.get("Content-Length") or 0)
        h.body = h.rfile.read(n) if n else b""  # type: ignore[attr-defined]
        self.log.append((h.command, h.path, dict(h.headers)))
        route = self.routes.get(path)
        if route is None:
            return self._send(h, 404, {}, b"not found")
        if route.auth is not None:
            want = "Basic " + base64.b64encode(f"{route.auth[0]}:{route.auth[1]}".encode()).decode()
            if h.headers.get("Authorization") != want:
                return self._send(h, 401, {"WWW-Authenticate": 'Basic realm="test"'}, b"unauthorized")
        if route.bearer is not None and h.headers.get("Authorization") != f"Bearer {route.bearer}":
            return self._send(h, 401, {}, b"unauthorized")
        fault = route.faults.pop(0) if route.faults else None
        if fault and fault[0] == "status":
            return self._send(h, fault[1], fault[2] if len(fault) > 2 else {}, b"fault")
        if route.handler is not None:
            code, headers, body = route.handler(h)
            return self._send(h, code, headers, body)
        body, code, headers = route.body, 200, {"Content-Type": route.content_type}
        rng = h.headers.get("Range")
        if route.ranges:
            headers["Accept-Ranges"] = "bytes"
            if rng and rng.startswith("bytes="):
                first, _, last = rng[6:].partition("-")
                start = int(first)
                end = min(int(last), len(body) - 1) if last.strip() else len(body) - 1  # "a-b" or open "a-"
                if start >= len(body):
                    return self._send(h, 416, {"Content-Range": f"bytes */{len(body)}"}, b"")
                headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                body, code = body[start : end + 1], 206
        if fault and fault[0] == "cut":  # promise the whole body, send part, hang up
            h.send_response(code)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body[: fault[1]])
            h.wfile.flush()
            h.close_connection = True
            return None
        if fault and fault[0] == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        return self._send(h, code, headers, body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, code: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(code)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def load_cassette(name: str) -> list[dict[str, Any]]:
    """The interactions of a recorded cassette in ``shared/realdata``."""
    path = REALDATA / name
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


def replay_cassette(server: Loopback, interactions: list[dict[str, Any]], recorded_base: str,
                    served_prefix: str = "") -> None:
    """Serve every recorded response at its recorded path (host rewritten to ``server``).

    Requests to the same path pick the interaction whose query parameters and body match
    best; ``recorded_base`` (e.g. ``https://earth-search.aws.element84.com/v1``) is replaced
    by the loopback URL + ``served_prefix`` in every response body.
    """
    by_path: dict[str, list[dict[str, Any]]] = {}
    rec = urlsplit(recorded_base)
    for it in interactions:
        u = urlsplit(it["request"]["uri"])
        path = served_prefix + u.path[len(rec.path):] if u.path.startswith(rec.path) else u.path
        by_path.setdefault(path, []).append(it)

    def make(cands: list[dict[str, Any]]) -> Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]:
        def handler(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            q = dict(parse_qsl(urlsplit(h.path).query))
            body = getattr(h, "body", b"").decode("utf-8", "replace")

            def score(it: dict[str, Any]) -> int:
                rq = dict(parse_qsl(urlsplit(it["request"]["uri"]).query))
                s = sum(1 for k, v in rq.items() if q.get(k) == v)
                s += 2 * (it["request"]["method"] == h.command)
                rb = it["request"].get("body") or ""
                s += 3 * (bool(rb) and isinstance(rb, str) and rb == body)
                return s

            it = max(cands, key=score)
            resp = it["response"]
            text = resp["body"]["string"]
            data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            data = data.replace(recorded_base.encode(), (server.base + served_prefix).encode())
            ctype = "application/json"
            for k, v in (resp.get("headers") or {}).items():
                if k.lower() == "content-type":
                    ctype = v[0] if isinstance(v, list) else v
            return resp["status"]["code"], {"Content-Type": ctype}, data

        return handler

    for path, cands in by_path.items():
        server.routes[path] = Route(handler=make(cands))


@pytest.fixture
def server() -> Iterator[Loopback]:
    """A fresh HTTP server on 127.0.0.1 (closed after the test). Import it into a test module.

    A fixture here rather than in a conftest.py: tests/unit imports ``conftest`` by name.
    """
    s = Loopback()
    try:
        yield s
    finally:
        s.close()
