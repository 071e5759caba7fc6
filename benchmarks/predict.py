"""`sporbar predict` as a whole command vs bare `predict_proba` on the same features; `sporbar --help`.

    .venv/bin/python benchmarks/predict.py [--repeat 3] [--pixels 1024] [--model rf]

Builds one tile of ``--pixels`` x ``--pixels`` 10 m pixels (1024: the 10 240 m tile of the issue)
with the synthetic ARD and lidar stand-ins of the ML tests (tests/unit/_ml_fixtures.py: real
COGs and items), trains the demo config's model on it (``sporbar train``), then times in
alternating repeats:

* the whole command: ``sporbar predict --tile ...`` in a fresh process (imports, reading the
  features, prediction, writing classes/confidence COGs, thumbnail and item);
* the floor: the fitted scikit-learn estimator's own ``predict_proba`` (with the ``n_jobs`` it was
  fitted with) on every pixel with finite features, the features already in memory (read once
  with ``sporbar.training.features.feature_stack``);
* the same in a fresh process (python, import scikit-learn, ``joblib.load``, the rows from .npy):
  the floor of any command that applies a forest;

and prints the medians of wall and CPU time (user + system, all threads: the steadier number on a
shared machine) and their ratios (goal: within 1.2x), then the median wall time of
``sporbar --help`` and the import time of the predict command's modules. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "unit"))
HEAVY = ("torch", "sklearn.metrics", "distributed", "zarr")


def build(work: Path, pixels: int, model_id: str) -> tuple[Path, list[str]]:
    """A trained model and the inputs of one tile; returns (config path, predict argv)."""
    from _ml_fixtures import make_area, write_samples

    from sporbar.ml.run_train import run_train
    from sporbar.stac.record import RunContext

    demo = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    size = pixels * 10
    x0, y0 = (268_800 // size + 1) * size, (7_029_760 // size) * size  # a grid-aligned tile near the demo area
    tile = f"E{x0}N{y0}"
    area = make_area(work, tiles=(tile,), area={"name": "bench", "bbox": [x0, y0, x0 + size, y0 + size]},
                     grid={**demo["grid"], "tile_size": size}, threads=demo["threads"],
                     models=[m for m in demo["models"] if m["id"] == model_id])  # a tempcnn also needs series
    series = area.cfg.root / "models" / model_id
    run_train(area.cfg, model_id=model_id, samples_item=write_samples(area), series_dir=series,
              ctx=RunContext.current(config_hash=area.cfg.hash))
    (model,) = series.glob("*/item.json")  # the one version just trained
    argv = ["predict", "-c", str(area.cfg_path), "--tile", tile, "--model", str(model),
            "--ard", str(area.ard[tile]), "--lidar", str(area.lidar[tile]),
            "-o", str(work / "maps" / tile / "item.json"), "--overwrite"]
    return area.cfg_path, argv


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_process(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh process; CPU is user + system of all its threads."""
    c0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0, _children_cpu() - c0


def whole_command(argv: list[str]) -> tuple[float, float]:
    return timed_process([str(BIN / "sporbar"), "-q", *argv])


def floor_setup(cfg_path: Path, argv: list[str]):  # noqa: ANN201 - a closure
    """The features in memory and the loaded model; returns a function timing predict_proba."""
    import numpy as np

    from sporbar.config import load
    from sporbar.ml.run_predict import load_model_item
    from sporbar.training.features import feature_stack

    cfg = load(cfg_path)
    tile = argv[argv.index("--tile") + 1]
    model, _ = load_model_item(cfg, Path(argv[argv.index("--model") + 1]))
    stack = feature_stack(cfg, tile, Path(argv[argv.index("--ard") + 1]), Path(argv[argv.index("--lidar") + 1]))
    rows = stack.reshape(stack.shape[0], -1).T
    rows = np.ascontiguousarray(rows[np.isfinite(rows).all(axis=1)])
    npy = cfg_path.parent / "rows.npy"
    np.save(npy, rows)
    weights = Path(argv[argv.index("--model") + 1]).parent / "model.joblib"
    script = f"import joblib, numpy; joblib.load({str(weights)!r}).predict_proba(numpy.load({str(npy)!r}))"

    def run() -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        model.estimator.predict_proba(rows)  # scikit-learn's own, as the estimator was fitted (n_jobs)
        return time.perf_counter() - t0, time.process_time() - c0

    def run_process() -> tuple[float, float]:
        return timed_process([sys.executable, "-c", script])

    return run, run_process, rows.shape


def command_seconds(*args: str, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([*args], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pixels", type=int, default=1024)
    ap.add_argument("--model", default="rf")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sporbar-bench-predict-") as tmp:
        t0 = time.perf_counter()
        cfg, argv = build(Path(tmp), args.pixels, args.model)
        print(f"setup (inputs + `train {args.model}`): {time.perf_counter() - t0:.1f} s")
        floor, floor_process, shape = floor_setup(cfg, argv)
        whole, bare, bare_process = [], [], []
        for _ in range(args.repeat):
            whole.append(whole_command(argv))
            bare.append(floor())
            bare_process.append(floor_process())
        print(f"tile {args.pixels} x {args.pixels} px, {shape[0]} pixels with data x {shape[1]} features, "
              f"model {args.model}; medians of {args.repeat}, alternating; CPU = user + system, all threads")
        for i, what in enumerate(("wall", "CPU")):
            w, b, bp = (statistics.median(t[i] for t in runs) for runs in (whole, bare, bare_process))
            print(f"  {what}: sporbar predict, whole command : {w:6.2f} s   "
                  f"({', '.join(f'{t[i]:.2f}' for t in whole)})")
            print(f"  {what}: bare predict_proba (in memory) : {b:6.2f} s   "
                  f"({', '.join(f'{t[i]:.2f}' for t in bare)})")
            print(f"  {what}: bare, fresh process            : {bp:6.2f} s   "
                  f"({', '.join(f'{t[i]:.2f}' for t in bare_process)})"
                  "  (python, import scikit-learn, joblib.load, features from .npy, predict_proba)")
            print(f"  {what}: ratio whole / bare (in memory) : {w / b:6.2f}x  (goal <= 1.2)")
            print(f"  {what}: ratio whole / bare process     : {w / bp:6.2f}x")
        print(f"  load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    py = command_seconds(sys.executable, "-c", "pass")
    imports = command_seconds(sys.executable, "-c", "import sporbar.cli.predict, sporbar.ml.run_predict")
    heavy = subprocess.run([sys.executable, "-c", f"import sys, sporbar.ml.run_predict; print(*[m for m in {HEAVY!r} "
                            "if m in sys.modules])"], check=True, capture_output=True, text=True).stdout.split()
    print(f"`sporbar --help`                 : {command_seconds(str(BIN / 'sporbar'), '--help'):6.2f} s "
          f"(python alone {py:.2f} s)")
    print(f"imports of `sporbar predict`     : {imports - py:6.2f} s; of {', '.join(HEAVY)} it loads "
          f"{', '.join(heavy) or 'none'}")

if __name__ == "__main__":
    main()
