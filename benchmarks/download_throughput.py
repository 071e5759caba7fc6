"""Download throughput of sporbar's downloader vs curl, and checksum cost per GB.

    .venv/bin/python benchmarks/download_throughput.py [--mb 200] [--hash-gb 1]

A ~200 MB random file is served by a threaded http.server on 127.0.0.1; the same file
is fetched by ``sporbar.fetch.download.download`` (with the sha256 computed while streaming
and verified) and by ``curl -o``. Then sha256 and md5 are timed over a ~1 GB file
written once to /tmp (deleted after). Prints MB/s and the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sporbar.fetch.checksums import Checksum
from sporbar.fetch.download import Download, Policy, download


def _best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--hash-gb", type=float, default=1.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sporbar-bench-"))
    try:
        src = work / "srv"
        src.mkdir()
        data = src / "product.bin"
        h = hashlib.sha256()
        with data.open("wb") as fh:
            for _ in range(args.mb):
                b = os.urandom(1 << 20)
                h.update(b)
                fh.write(b)
        size = data.stat().st_size
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

        handler = partial(Quiet, directory=str(src))
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{srv.server_address[1]}/product.bin"
        out = work / "out"
        out.mkdir()

        def ours() -> None:
            (out / "a.bin").unlink(missing_ok=True)
            download(Download(url, out / "a.bin", size=size, checksum=Checksum("sha256", h.hexdigest())),
                     Policy(progress=False))

        def ours_nocheck() -> None:
            (out / "b.bin").unlink(missing_ok=True)
            download(Download(url, out / "b.bin", size=size), Policy(progress=False))

        def curl() -> None:
            subprocess.run(["curl", "-s", "-f", "-o", str(out / "c.bin"), url], check=True)

        mb = size / 1e6
        t_curl = _best(curl)
        t_ours = _best(ours)
        t_plain = _best(ours_nocheck)
        srv.shutdown()
        print(f"file: {mb:.0f} MB on 127.0.0.1 (http.server, threaded), best of 3")
        print(f"curl                          : {mb / t_curl:8.1f} MB/s")
        print(f"sporbar download (+sha256)    : {mb / t_ours:8.1f} MB/s  ratio vs curl {t_curl / t_ours:.2f}")
        print(f"sporbar download (size only)  : {mb / t_plain:8.1f} MB/s  ratio vs curl {t_curl / t_plain:.2f}")

        shutil.rmtree(src)
        shutil.rmtree(out)
        big = Path(tempfile.gettempdir()) / "sporbar-bench-1gb.bin"
        try:
            n = int(args.hash_gb * 1024)
            block = os.urandom(1 << 20)
            with big.open("wb") as fh:
                for i in range(n):
                    fh.write(block[i % 256 :] + block[: i % 256])
            gb = big.stat().st_size / 1e9
            for algo in ("sha256", "md5"):
                def run(algo: str = algo) -> None:
                    hh = hashlib.new(algo)
                    with big.open("rb") as fh:
                        while chunk := fh.read(1 << 20):
                            hh.update(chunk)
                t = _best(run, 2)
                print(f"{algo:6s} over {gb:.2f} GB file: {t / gb:6.2f} s per GB ({gb * 1e3 / t:7.1f} MB/s)")
        finally:
            big.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
