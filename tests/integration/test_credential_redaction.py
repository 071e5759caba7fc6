# ruff: noqa: F811  (the `server` fixture is imported from _loopback; tests/unit owns `conftest`)
"""Issue 12.5: no credential leaks through errors, log files or the console, in any encoding.

A hostile or broken server answers 500 (or 200 with garbage) and echoes what it got: the
Basic-auth header (base64 of ``user:password``), the password plain and URL-encoded, and a
bearer token. `sporbar search` runs as Snakemake runs it (a subprocess, stdout and stderr to
``logs/<rule>.log``), with and without ``-vv``; no encoding of any secret may appear there,
and the server's answer is quoted short.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import yaml
from _loopback import Loopback, Route, server  # noqa: F401
from _s2_fixtures import write_tiny_config

USER = "alice"
PASSWORD = "pa55/w+rd:Zq7&x?"  # characters that URL encoding changes
TOKEN = "tok-9f8e7d6c5b4a3210"
BODY_LIMIT = 500


def _login_encodings() -> dict[str, str]:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return {
        "plain password": PASSWORD,
        "URL-encoded password": quote(PASSWORD, safe=""),
        "form-encoded password": quote_plus(PASSWORD),
        "base64 user:password": basic,
        "base64 user:password without padding": basic.rstrip("="),
        "base64 password": base64.b64encode(PASSWORD.encode()).decode().rstrip("="),
    }


def _token_encodings() -> dict[str, str]:
    return {
        "bearer token": TOKEN,
        "URL-encoded token": quote(TOKEN, safe=""),
        "base64 token": base64.b64encode(TOKEN.encode()).decode().rstrip("="),
    }


def _echo(code: int, content_type: str, secrets: dict[str, str]):
    """A handler answering ``code`` with a long page that echoes the request's Authorization header
    and ``secrets`` (as a server that logged them might)."""

    def handler(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        auth = h.headers.get("Authorization", "")
        page = (f"<html><body><h1>Internal error</h1><p>request header Authorization: {auth}</p>"
                f"<p>debug dump: {' '.join(secrets.values())}</p><pre>{'x' * 4000}</pre></body></html>")
        return code, {"Content-Type": content_type}, page.encode()

    return handler


def _run(args: list[str], log: Path, env: dict[str, str]) -> int:
    """Run `sporbar ARGS &> LOG` as a Snakemake rule does; return the exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        return subprocess.run([sys.executable, "-m", "sporbar.cli.main", *args], stdout=fh, stderr=subprocess.STDOUT,
                              env=env, timeout=120).returncode


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "SPORBAR_DHUS_USER": USER, "SPORBAR_DHUS_PASSWORD": PASSWORD,
            "SPORBAR_TEST_TOKEN": TOKEN, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p.endswith("src"))}


def _assert_clean(text: str, where: str, secrets: dict[str, str]) -> None:
    for name, value in secrets.items():
        assert value not in text, f"{name} leaked into {where}:\n{text[-3000:]}"
    # nor 10 characters in a row of a plain secret: sentinelsat's HTML-to-text rendering of a hub's page
    # once turned the echoed "...&x?" into "...&x;?", which exact redaction missed
    for plain in (PASSWORD, TOKEN):
        for i in range(len(plain) - 9):
            assert plain[i : i + 10] not in text, f"part of a secret ({plain[i:i + 10]!r}) leaked into {where}"


def _config(tmp_path: Path, sentinel2: dict) -> Path:
    path = write_tiny_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel2"] = {"max_cloud_cover": 10, "date_range": {"start": "2024-06-01", "end": "2024-06-30"},
                                    **sentinel2}
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("code", "ctype"), [(500, "text/html"), (200, "text/html")], ids=["500", "garbage"])
@pytest.mark.parametrize("verbose", [[], ["-vv"]], ids=["quiet", "debug"])
def test_dhus_hub_failure_leaks_no_credential(server: Loopback, tmp_path: Path, code: int, ctype: str,
                                              verbose: list[str]) -> None:
    server.routes["/apihub/search"] = Route(handler=_echo(code, ctype, _login_encodings()))
    cfg = _config(tmp_path, {"source": "dhus", "dhus": {"api_url": server.url("/apihub/")}})
    log = tmp_path / "logs" / "search_s2.log"
    rc = _run([*verbose, "--rule", "search_s2", "search", "s2", "-c", str(cfg), "-o", str(tmp_path / "s.json")], log,
              _env(tmp_path))
    text = log.read_text(errors="replace")
    assert rc == 1, text
    assert server.requests_to("/apihub/search")[0].get("Authorization", "").startswith("Basic ")  # it was sent
    error = next(line for line in text.splitlines() if "DHuS search failed" in line)
    assert server.base in error
    _assert_clean(text, log.name, _login_encodings())
    assert "x" * (BODY_LIMIT + 1) not in text  # the server's page is quoted, cut short


@pytest.mark.parametrize("verbose", [[], ["-vv"]], ids=["quiet", "debug"])
def test_stac_api_failure_leaks_no_bearer_token(server: Loopback, tmp_path: Path, verbose: list[str]) -> None:
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "x", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())
    server.routes["/v1/search"] = Route(handler=_echo(500, "text/plain", _token_encodings()))
    api = {"url": server.url("/v1"), "token_env": "SPORBAR_TEST_TOKEN"}
    cfg = _config(tmp_path, {"source": "stac_api", "stac_api": api})
    log = tmp_path / "logs" / "search_s2.log"
    rc = _run([*verbose, "--rule", "search_s2", "search", "s2", "-c", str(cfg), "-o", str(tmp_path / "s.json")], log,
              _env(tmp_path))
    text = log.read_text(errors="replace")
    assert rc == 1, text
    assert server.requests_to("/v1/search")[0].get("Authorization") == f"Bearer {TOKEN}"  # it was sent
    error = next(line for line in text.splitlines() if "STAC API search failed" in line)
    assert server.base in error
    _assert_clean(text, log.name, _token_encodings())
    assert "x" * (BODY_LIMIT + 1) not in text


def test_snakemake_logs_hold_no_credential(server: Loopback, tmp_path: Path, monkeypatch) -> None:
    """The search_s2 rule failing on a leaky hub: logs/search_s2.log and .snakemake/log stay clean."""
    from conftest import run_snakemake

    server.routes["/apihub/search"] = Route(handler=_echo(500, "text/html", _login_encodings()))
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    cfg = _config(tmp_path, {"source": "dhus", "dhus": {"api_url": server.url("/apihub/")}})
    root = Path(yaml.safe_load(cfg.read_text())["root"])
    # the target first: --configfile takes every argument after it
    r = run_snakemake(str(root / "raw/sentinel-2-l2a/search.json"), "--configfile", str(cfg), cwd=tmp_path,
                      timeout=300)
    assert r.returncode != 0, r.stdout + r.stderr
    logs = sorted(tmp_path.rglob("*.log"))  # the rules' logs below root, and .snakemake/log
    assert any(p.name == "search_s2.log" for p in logs) and any(".snakemake" in p.parts for p in logs), (
        logs, r.stdout[-2000:], r.stderr[-3000:])
    assert any("DHuS search failed" in p.read_text(errors="replace") for p in logs)
    for where, text in [("console", r.stdout + r.stderr), *((p.name, p.read_text(errors="replace")) for p in logs)]:
        _assert_clean(text, where, _login_encodings())
