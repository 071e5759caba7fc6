"""What the service benchmarks (pgstac_publish, tiles, csw) share: `sporbar serve`, latencies, the table."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    data_root: Path, dsn: str = "", *, args: tuple[str, ...] = (), ready: str = "/api/", wait_s: float = 60
) -> Iterator[str]:
    """Start `sporbar serve` on ``data_root`` (pgstac at ``dsn``; "": PG* env; more ``args``); yield its URL
    once ``ready`` answers (waits up to ``wait_s``; then the benchmark fails on its first request)."""
    port = free_port()
    env = {**os.environ, **({"SPORBAR_PGSTAC_DSN": dsn} if dsn else {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "sporbar.cli.serve", "--port", str(port), "--data-root", str(data_root), *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(base + ready, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def report(title: str, rows: list[tuple[str, str]], json_path: Path | None) -> None:
    """Print ``title`` and the (what, result) rows as a table; also write them to ``json_path`` as JSON."""
    width = max(len(r[0]) for r in rows)
    print(title)
    print(f"{'what'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for what, res in rows:
        print(f"{what.ljust(width)}  {res}")
    if json_path:
        json_path.write_text(json.dumps(dict(rows), indent=2))


def percentiles(times_ms: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max of ``times_ms``."""
    times = sorted(times_ms)
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return statistics.median(times), p95, times[-1]


def latencies(fn: Callable[[int], object], reps: int) -> tuple[float, float, float]:
    """p50, p95 and max in ms of ``reps`` calls ``fn(rep)`` (the caller warms up first)."""
    times = []
    for rep in range(reps):
        t = time.perf_counter()
        fn(rep)
        times.append((time.perf_counter() - t) * 1000)
    return percentiles(times)
