"""`sporbar serve` on a free loopback port for the benchmarks that time it (pgstac_publish, tiles)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(data_root: Path, dsn: str = "") -> Iterator[str]:
    """Start `sporbar serve` on ``data_root`` (pgstac at ``dsn``; "": PG* env); yield its URL once the API answers."""
    port = free_port()
    env = {**os.environ, **({"SPORBAR_PGSTAC_DSN": dsn} if dsn else {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "sporbar.cli.serve", "--port", str(port), "--data-root", str(data_root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
