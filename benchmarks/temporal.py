"""TempCNN training throughput (samples/s) on the CPU, and on the GPU when torch sees one, and memory for 1 M samples.

    .venv/bin/python benchmarks/temporal.py [--rows 50000] [--steps 12] [--bands 4] [--static 15]
        [--epochs 2] [--threads 2] [--memory-rows 20000 80000]

Data: seeded random rows shaped as the package's tempcnn input (``--static`` lidar features,
then ``--steps`` x ``--bands`` time-series features with 25 % of the steps masked as NaN),
7 classes. Training is ``sporbar.ml.train.fit`` (seeded; early stopping off so every run
does ``--epochs`` epochs):

* CPU: the default CPU batch (256, one thread below 4096 rows a batch) and batch 8192 with
  ``--threads`` threads;
* CUDA (when ``torch.cuda.is_available()``): the default CUDA batch (8192, bf16 autocast), and 256.

samples/s = rows x epochs / wall time of the fit (normalisation and encoding included).
Memory: peak RSS of a fresh process fitting ``--memory-rows`` rows (CPU, one epoch), a line
through them extrapolated to 1 M rows, next to the estimate from the array sizes; on CUDA also
``torch.cuda.max_memory_allocated`` for 1 M rows. No number is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

from sporbar.bands import series_names


def synthetic(
    rows: int, steps: int, bands: int, static: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of static + time-series features (25 % of steps NaN) and class values 1..7."""
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 8, rows)
    ts = rng.normal(size=(rows, steps, bands)).astype(np.float32)
    ts[:, steps // 2, 0] += y
    ts[rng.random((rows, steps)) < 0.25] = np.nan
    x = np.concatenate([rng.normal(size=(rows, static)).astype(np.float32), ts.reshape(rows, -1)], axis=1)
    names = [f"s{i}" for i in range(static)] + series_names([f"2024-{m:02d}" for m in range(1, steps + 1)],
                                                            [f"B{b}" for b in range(bands)])
    return x, y, names


def spec(device: str, epochs: int, batch: int | None) -> dict[str, Any]:
    """The benchmark's models[] entry (the demo's network size, early stopping off)."""
    s: dict[str, Any] = {"id": "bench", "kind": "tempcnn", "epochs": epochs, "patience": 0, "filters": 32,
                         "hidden": 64, "learning_rate": 0.003, "device": device}
    return s | ({"batch_size": batch} if batch else {})


def throughput(args: argparse.Namespace, device: str, batch: int | None) -> tuple[float, float]:
    """Training samples per second of one fit: per wall-clock second, and per second of this process's CPU time."""
    from sporbar.ml.train import fit

    x, y, names = synthetic(args.rows, args.steps, args.bands, args.static)
    t0, c0 = time.perf_counter(), time.process_time()
    fit(spec(device, args.epochs, batch), x, y, feature_names=names, class_values=list(range(1, 8)), seed=1,
        threads=args.threads)
    n = args.rows * args.epochs
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def peak_rss_mb(args: argparse.Namespace, rows: int) -> float:
    """Peak RSS (MB) of a fresh process that fits ``rows`` rows for one epoch on the CPU."""
    code = (
        "import resource, sys, json; sys.path.insert(0, 'benchmarks'); import temporal as t; "
        "from sporbar.ml.train import fit; "
        f"x, y, n = t.synthetic({rows}, {args.steps}, {args.bands}, {args.static}); "
        f"fit(t.spec('cpu', 1, 8192), x, y, feature_names=n, class_values=list(range(1, 8)), seed=1, threads=1); "
        "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Print samples/s per device and batch, and memory per 1 M samples."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--bands", type=int, default=4)
    ap.add_argument("--static", type=int, default=15)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-rows", type=int, nargs=2, default=[20_000, 80_000])
    args = ap.parse_args()
    import torch

    width = args.static + args.steps * args.bands
    print(f"tempcnn: {args.rows} rows x {width} features ({args.steps} steps x {args.bands} bands + "
          f"{args.static} static), {args.epochs} epochs, torch {torch.__version__}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| device | batch | samples/s (wall) | samples per CPU-second |")
    print("|---|---|---|---|")
    cpu = {b: throughput(args, "cpu", b) for b in (None, 8192)}
    for b, (v, c) in cpu.items():
        print(f"| cpu | {b or '256 (default, 1 thread)'} | {v:,.0f} | {c:,.0f} |")
    if torch.cuda.is_available():
        gpu = {b: throughput(args, "cuda", b) for b in (None, 256)}
        for b, (v, c) in gpu.items():
            print(f"| cuda ({torch.cuda.get_device_name()}) | {b or '8192 (default, bf16)'} | {v:,.0f} | {c:,.0f} |")
        print(f"GPU / CPU (default batches, wall): {gpu[None][0] / cpu[None][0]:.1f}x")
    else:
        print("no CUDA device: GPU throughput not measured")
    (r1, r2) = args.memory_rows
    m1, m2 = peak_rss_mb(args, r1), peak_rss_mb(args, r2)
    per_row = (m2 - m1) / (r2 - r1)
    # raw rows, normalised copy, encoded series (bands + mask channel) and static, as float32
    estimate = 1e6 * 4 * (2 * width + (args.bands + 1) * args.steps + args.static) / 2**20
    print(f"memory (CPU, peak RSS): {m1:.0f} MB at {r1} rows, {m2:.0f} MB at {r2} rows -> "
          f"{m1 + per_row * (1e6 - r1):,.0f} MB at 1 M rows (arrays alone, estimated: {estimate:,.0f} MB)")
    if torch.cuda.is_available():
        from sporbar.ml.train import fit

        x, y, names = synthetic(1_000_000, args.steps, args.bands, args.static)
        torch.cuda.reset_peak_memory_stats()
        fit(spec("cuda", 1, None), x, y, feature_names=names, class_values=list(range(1, 8)), seed=1, threads=1)
        print(f"memory (CUDA, 1 M rows, measured): {torch.cuda.max_memory_allocated() / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
