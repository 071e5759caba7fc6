"""Helpers of the service tests: PostgreSQL/pgstac, `sporbar serve`, STAC Browser, Chromium.

Everything is started by the tests themselves, on loopback ports that were free, in
folders of the test session, and stopped by them (services/postgres.sh, web/build.sh).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
POSTGRES_SH = REPO / "services" / "postgres.sh"
BUILD_SH = REPO / "web" / "build.sh"
BROWSER_DIST = REPO / "web" / "stac-browser" / "dist"
BROWSER_NODE_MODULES = REPO / "web" / "stac-browser" / "node_modules"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("SPORBAR_CHROMIUM", "/usr/bin/chromium")
PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


def stac_fixtures() -> Any:
    """tests/unit/_stac_fixtures.py (the provenance chain), importable from here.

    It imports ``conftest`` meaning tests/conftest.py, which tests/integration/conftest.py
    shadows in this folder; so it is imported with the top-level conftest put in place.
    """
    if "_stac_fixtures" in sys.modules:
        return sys.modules["_stac_fixtures"]
    unit = str(REPO / "tests" / "unit")
    if unit not in sys.path:
        sys.path.insert(0, unit)
    saved = sys.modules.get("conftest")
    spec = importlib.util.spec_from_file_location("conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    top = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(top)
    sys.modules["conftest"] = top
    try:
        return importlib.import_module("_stac_fixtures")
    finally:
        if saved is not None:
            sys.modules["conftest"] = saved
        else:
            del sys.modules["conftest"]


def add_to_config(chain: Any, sections: dict[str, dict[str, Any]]) -> None:
    """Merge ``sections`` (top-level key -> keys) into the chain's config file and reload ``chain.cfg``."""
    import yaml

    from sporbar.config import load

    data = yaml.safe_load(chain.cfg_path.read_text())
    for key, values in sections.items():
        data[key] = {**(data.get(key) or {}), **values}
    chain.cfg_path.write_text(yaml.safe_dump(data, sort_keys=False))
    chain.cfg = load(chain.cfg_path)


def is_root() -> bool:
    """True when the tests may install Debian packages and start services as other users."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def require_root(what: str) -> None:
    """Skip, with the reason, when not root (apt-get and `runuser postgres` need it)."""
    if not is_root():
        pytest.skip(f"{what} needs root (apt-get install, postgres started as user postgres); run as root")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """Run ``cmd``; return its stdout; fail the test with its output when it fails."""
    proc = subprocess.run(list(cmd), env=dict(env) if env else None, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def parse_exports(text: str) -> dict[str, str]:
    """``export K=V`` lines -> {K: V}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            out[key] = value
    return out


def pg_dir() -> Path:
    """A fresh folder for a private cluster, reachable by user postgres (not below pytest's 0700 tmp)."""
    return Path(tempfile.mkdtemp(prefix="sporbar-pg-test-", dir="/tmp"))


def start_postgres(pg_dir: Path) -> dict[str, str]:
    """Start a private cluster in ``pg_dir`` (services/postgres.sh) and return its PG* vars."""
    env = {
        **os.environ,
        "SPORBAR_PG_DIR": str(pg_dir),
        "SPORBAR_PG_PORT": str(free_port()),
        "SPORBAR_PYPGSTAC": str(Path(sys.executable).parent / "pypgstac"),
    }
    exports = parse_exports(run([str(POSTGRES_SH), "start"], env=env, timeout=900))
    missing = [v for v in PG_VARS if v not in exports]
    assert not missing, f"services/postgres.sh start did not print {missing}"
    return exports


def stop_postgres(pg_dir: Path) -> None:
    """Stop and delete the cluster in ``pg_dir``."""
    subprocess.run(
        [str(POSTGRES_SH), "clean"], env={**os.environ, "SPORBAR_PG_DIR": str(pg_dir)}, capture_output=True, timeout=120
    )


def dsn(pg: Mapping[str, str]) -> str:
    """libpq DSN of the PG* variables."""
    return f"postgresql://{pg['PGUSER']}:{pg['PGPASSWORD']}@{pg['PGHOST']}:{pg['PGPORT']}/{pg['PGDATABASE']}"


class Server:
    """`sporbar serve` in a subprocess on a free loopback port."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = Path(log).open("wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sporbar.cli.serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env={**os.environ, **(env or {})},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def wait(self, path: str, timeout: float = 60) -> None:
        """Wait until GET ``path`` answers 200; fail with the server log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.base + path, timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"sporbar serve did not answer {path} in {timeout} s:\n{self.log.read_text()[-4000:]}")

    def get(self, path: str) -> bytes:
        """Body of GET ``path``."""
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.read()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log_file.close()


def build_browser() -> tuple[Path, float]:
    """Build STAC Browser with web/build.sh (skipped when up to date); (dist, seconds)."""
    if shutil.which("npm") is None:
        pytest.skip("npm not found: STAC Browser is built with npm (apt-get install npm)")
    t0 = time.perf_counter()
    run(["bash", str(BUILD_SH)], timeout=900)
    assert (BROWSER_DIST / "index.html").is_file(), f"{BUILD_SH} did not produce {BROWSER_DIST}/index.html"
    return BROWSER_DIST, time.perf_counter() - t0


def ensure_chromium() -> str:
    """Path of Debian's chromium, installing it with apt-get when missing (root only)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    require_root("installing chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=600", "chromium"]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        run(["apt-get", "update", "-qq"], env=env, timeout=600)
        run(cmd, env=env, timeout=900)
    return CHROMIUM
