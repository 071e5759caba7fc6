# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""Searches against hubs and STAC APIs that hang or answer garbage end in one named error, in time.

Found by tests/reliability/bad_input.py: sentinelsat stores its timeout where requests ignores it
and pystac-client has none by default, so a hub or API that stopped answering hung `sporbar search`
for ever; a landing page that is not JSON gave an orjson traceback.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from _loopback import Loopback, Route, server  # noqa: F401
from test_credential_redaction import _config, _env, _run

HANG_S = 40


def _hang(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(HANG_S)
    return 200, {"Content-Type": "application/json"}, b"{}"


def _landing(server: Loopback) -> Route:
    return Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "x", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())


FAST = {"retries": 0, "tries": 1, "backoff": 0.01, "timeout": 1}


def _search(tmp_path: Path, sentinel2: dict) -> tuple[int, str, float]:
    cfg = _config(tmp_path, sentinel2)
    log = tmp_path / "search.log"
    t0 = time.monotonic()
    rc = _run(["search", "s2", "-c", str(cfg), "-o", str(tmp_path / "s.json")], log, _env(tmp_path))
    return rc, log.read_text(errors="replace"), time.monotonic() - t0


@pytest.mark.timeout(120)
def test_dhus_search_of_a_hanging_hub_times_out(server: Loopback, tmp_path: Path) -> None:
    server.routes["/apihub/search"] = Route(handler=_hang)
    rc, text, took = _search(tmp_path, {"source": "dhus", "dhus": {"api_url": server.url("/apihub/"),
                                                                    "download": FAST}})
    assert rc == 1 and took < HANG_S / 2, (took, text)
    assert f"Error: {server.base}/apihub/: DHuS search failed: " in text and "Read timed out" in text
    assert "Traceback" not in text


@pytest.mark.timeout(120)
@pytest.mark.parametrize("where", ["landing", "search"])
def test_stac_api_search_of_a_hanging_api_times_out(server: Loopback, tmp_path: Path, where: str) -> None:
    server.routes["/v1"] = Route(handler=_hang) if where == "landing" else _landing(server)
    server.routes["/v1/search"] = Route(handler=_hang)
    rc, text, took = _search(tmp_path, {"source": "stac_api", "stac_api": {"url": server.url("/v1"),
                                                                            "download": FAST}})
    assert rc == 1 and took < HANG_S / 2, (took, text)
    assert f"Error: {server.base}/v1: STAC API search failed: " in text and "timed out" in text
    assert "Traceback" not in text


def test_stac_api_landing_page_that_is_not_json(server: Loopback, tmp_path: Path) -> None:
    server.routes["/v1"] = Route(content_type="application/json", body=b'{"type": "Catalog", "links": [')
    rc, text, _ = _search(tmp_path, {"source": "stac_api", "stac_api": {"url": server.url("/v1"), "download": FAST}})
    assert rc == 1 and "Traceback" not in text, text
    assert f"Error: {server.base}/v1: STAC API search failed: the API answered what is not STAC JSON" in text
