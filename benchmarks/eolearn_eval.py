"""TempCNN vs random forest on real, cloudy Sentinel-2 time series (eo-learn TestEOPatch, Slovenia).

    .venv/bin/python benchmarks/eolearn_eval.py [--patch ../shared/realdata/eolearn-testpatch/TestEOPatch]
        [--block-size 250] [--folds 4] [--seed 7] [--threads 2] [--per-class 1000] [--steps month]

Data: 68 Sentinel-2 L1C dates (2015-07-11..2017-12-22) of NDVI on 101 x 100 px at 10 m
(EPSG:32633), the s2cloudless cloud mask ``CLM`` and ``IS_DATA`` (clear = not cloud and data),
the land-use raster ``LULC`` (1 cultivated, 2 forest, 3 grassland, 4 shrubland, 8 artificial;
0 = none, left out) and the ``DEM`` (the static input, in the place of the lidar features).
Up to ``--per-class`` labelled pixels per class are sampled (seeded, as ``training.samples_per_class``
in ``sporbar samples``); their blocks (``--block-size`` m, on the UTM coordinates) and folds come
from ``sporbar.training.blocks``, the same for both models.

* ``tempcnn`` reads the time series plus the DEM, as the package's ``tempcnn`` kind: with
  ``--steps month`` (default) per month the median of its clear dates (``ts_<YYYY-MM>_NDVI``,
  as ``training.timeseries`` makes them from the ARD cube; NaN = no clear date, masked), with
  ``--steps date`` every date as a step (NaN where cloudy).
* ``random_forest`` reads what the package gives a forest: per-year percentiles (10, 50, 90)
  of the clear NDVI observations and their count (as the ARD ``season`` features) plus the DEM.

Both are trained and scored with ``sporbar.ml.cv.cross_validate`` (the training API that
``sporbar train`` runs): the table shows overall accuracy, Cohen's kappa and macro F1 over the
held-out folds, and the no-information rate. No number is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import warnings
from pathlib import Path

import numpy as np

from sporbar.bands import series_names
from sporbar.ml.cv import cross_validate
from sporbar.training.blocks import assign_folds, block_ids

REPO = Path(__file__).resolve().parents[1]
PATCH = REPO.parent / "shared" / "realdata" / "eolearn-testpatch" / "TestEOPatch"
CLASSES = {1: "cultivated", 2: "forest", 3: "grassland", 4: "shrubland", 8: "artificial"}
MODELS = {
    "tempcnn": {"id": "tempcnn", "kind": "tempcnn", "epochs": 40, "learning_rate": 0.003, "patience": 5,
                "filters": 32, "hidden": 64, "device": "cpu"},
    "random_forest": {"id": "rf", "kind": "random_forest", "n_estimators": 200},
}


def _load(path: Path) -> np.ndarray:
    """An eo-learn feature array (``.npy``, or ``.npy.gz`` as stored here)."""
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        with gzip.open(gz) as f:
            return np.load(f)  # type: ignore[no-any-return]
    return np.load(path)  # type: ignore[no-any-return]


def load_patch(patch: Path) -> dict[str, np.ndarray]:
    """NDVI (t, y, x) with NaN where not clear, dates, labels, DEM and pixel-centre coordinates."""
    ndvi = _load(patch / "data" / "NDVI.npy")[..., 0].astype(np.float32)
    clear = (_load(patch / "mask" / "CLM.npy")[..., 0] == 0) & (_load(patch / "mask" / "IS_DATA.npy")[..., 0] > 0)
    ndvi[~clear] = np.nan
    dates = [t[:10] for t in json.loads((patch / "timestamps.json").read_text())]
    bbox = json.loads((patch / "bbox.geojson").read_text())["coordinates"][0]
    x0, y1 = min(p[0] for p in bbox), max(p[1] for p in bbox)
    h, w = ndvi.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w]
    return {
        "ndvi": ndvi,
        "dates": np.array(dates),
        "labels": _load(patch / "mask_timeless" / "LULC.npy")[..., 0].astype(np.int64),
        "dem": _load(patch / "data_timeless" / "DEM.npy")[..., 0].astype(np.float32),
        "x": x0 + (xx + 0.5) * 10.0,
        "y": y1 - (yy + 0.5) * 10.0,
    }


def temporal_features(
    p: dict[str, np.ndarray], rows: np.ndarray, cols: np.ndarray, steps: str
) -> tuple[np.ndarray, list[str]]:
    """DEM, then the NDVI time series (NaN = no clear view), as the tempcnn kind reads them."""
    series = p["ndvi"][:, rows, cols]
    labels = list(p["dates"])
    if steps == "month":
        months = np.array([d[:7] for d in labels])
        labels = sorted(set(months))
        with warnings.catch_warnings():  # a month with no clear date: NaN, as meant
            warnings.simplefilter("ignore", RuntimeWarning)
            series = np.stack([np.nanmedian(series[months == m], axis=0) for m in labels])
    names = ["dtm", *series_names(labels, ["NDVI"])]
    return np.concatenate([p["dem"][rows, cols][:, None], series.T], axis=1), names


def forest_features(p: dict[str, np.ndarray], rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per year, NDVI percentiles 10/50/90 of the clear dates and their count; then the DEM."""
    series = p["ndvi"][:, rows, cols]
    years = np.array([d[:4] for d in p["dates"]])
    cols_out, names = [], []
    for year in sorted(set(years)):
        sub = series[years == year]
        cols_out += list(np.nanpercentile(sub, [10, 50, 90], axis=0)) + [np.isfinite(sub).sum(axis=0)]
        names += [f"{year}_NDVI_p{q}" for q in (10, 50, 90)] + [f"{year}_clear_count"]
    cols_out.append(p["dem"][rows, cols])
    return np.stack(cols_out, axis=1).astype(np.float32), [*names, "dtm"]


def main() -> None:
    """Print OA, kappa and macro F1 of both models on the same blocked folds."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patch", type=Path, default=PATCH)
    ap.add_argument("--block-size", type=float, default=250.0)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--per-class", type=int, default=1000)
    ap.add_argument("--steps", choices=["month", "date"], default="month")
    args = ap.parse_args()
    p = load_patch(args.patch)
    rows, cols = np.nonzero(p["labels"])
    rng = np.random.default_rng(args.seed)
    keep = np.sort(np.concatenate([
        rng.choice(idx, size=min(idx.size, args.per_class), replace=False)
        for idx in (np.flatnonzero(p["labels"][rows, cols] == v) for v in sorted(CLASSES))
    ]))
    rows, cols = rows[keep], cols[keep]
    y = p["labels"][rows, cols]
    blocks = block_ids(p["x"][rows, cols], p["y"][rows, cols], args.block_size)
    fold_of = assign_folds(blocks, args.folds, rng)
    folds = np.array([fold_of[b] for b in blocks])
    values = sorted(int(v) for v in np.unique(y))
    print(f"{args.patch}: {len(p['dates'])} dates, {y.size} sampled labelled pixels, steps: {args.steps}, "
          f"{np.isnan(p['ndvi'][:, rows, cols]).mean():.0%} of observations cloudy; "
          f"{len(fold_of)} blocks of {args.block_size:.0f} m in {args.folds} folds")
    print("class counts: " + ", ".join(f"{CLASSES[v]} {int((y == v).sum())}" for v in values))
    print()
    print("| model | features | overall accuracy | kappa | macro F1 | baseline | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, spec in MODELS.items():
        x, names = temporal_features(p, rows, cols, args.steps) if name == "tempcnn" else forest_features(p, rows, cols)
        t0 = time.perf_counter()
        m = cross_validate(spec, x, y, folds, feature_names=names, class_values=values,
                           class_names=[CLASSES[v] for v in values], seed=args.seed, threads=args.threads)
        print(f"| {name} | {len(names)} | {m['overall_accuracy']:.3f} | {m['kappa']:.3f} | {m['macro_f1']:.3f} "
              f"| {m['baseline_accuracy']:.3f} | {time.perf_counter() - t0:.0f} |")
        print("|  | per-class F1 | " + ", ".join(f"{k} {v:.2f}" for k, v in m["per_class_f1"].items()) + " |||||")


if __name__ == "__main__":
    main()
