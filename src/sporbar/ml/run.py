"""``sporbar train`` and ``sporbar predict`` as one library call each."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pystac

from sporbar.config import Config
from sporbar.errors import ConfigError, InputDataError
from sporbar.io import check_writable, write_json_atomic
from sporbar.ml.cv import cross_validate
from sporbar.ml.io import load_model, save_model
from sporbar.ml.item import METRICS_FILE, map_item, model_item
from sporbar.ml.predict import CONFIDENCE_NODATA, predict_stack, predict_stack_on
from sporbar.ml.train import FittedModel, fit
from sporbar.parallel import dask_client
from sporbar.raster import write_cog
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, asset_path, read_item, record_item
from sporbar.training.features import feature_names, feature_stack
from sporbar.training.run import bbox_polygon, period_range, tiles_bbox_wgs84

log = logging.getLogger(__name__)


def _model_spec(cfg: Config, model_id: str) -> dict[str, Any]:
    for m in cfg.data["models"]:
        if m["id"] == model_id:
            return dict(m)
    raise ConfigError(
        f"{cfg.source}: model {model_id!r} is not in models[].id "
        f"({', '.join(m['id'] for m in cfg.data['models'])})"
    )


def read_samples(path: Path, names: list[str]) -> gpd.GeoDataFrame:
    """Read the samples table and check it has every feature column.

    Raises:
        InputDataError: a feature, ``class_value`` or ``fold`` column is missing.
    """
    df = gpd.read_parquet(path)
    missing = [c for c in [*names, "class_value", "fold"] if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{path}: columns {missing} missing (has {', '.join(map(str, df.columns))}); "
            "rerun `sporbar samples` with this config"
        )
    return df


def run_train(
    cfg: Config,
    *,
    model_id: str,
    samples_item: Path,
    output: Path,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Blocked CV, then fit on all samples; write weights, metrics and the model item."""
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    spec = _model_spec(cfg, model_id)
    training = read_item(Path(samples_item))
    names = feature_names(cfg)
    df = read_samples(asset_path(Path(samples_item), training, "samples"), names)
    x = df[names].to_numpy(np.float32)
    y = df["class_value"].to_numpy(np.int64)
    folds = df["fold"].to_numpy(np.int64)
    classes = [c for c in cfg.data["classes"] if int(c["value"]) in set(y.tolist())]
    values = [int(c["value"]) for c in sorted(classes, key=lambda c: c["value"])]
    class_names = [c["name"] for c in sorted(classes, key=lambda c: c["value"])]
    seed, threads = int(cfg.data["training"]["seed"]), int(cfg.data["threads"])
    kw: dict[str, Any] = dict(feature_names=names, class_values=values, seed=seed, threads=threads)
    metrics = cross_validate(spec, x, y, folds, class_names=class_names, **kw)
    log.info(
        "train %s: CV accuracy %.3f (baseline %.3f), kappa %.3f",
        model_id,
        metrics["overall_accuracy"],
        metrics["baseline_accuracy"],
        metrics["kappa"],
    )
    model = fit(spec, x, y, **kw)
    folder = output.parent
    weights, _ = save_model(model, folder)
    write_json_atomic(folder / METRICS_FILE, metrics)
    item = model_item(
        model_id,
        model,
        classes=cfg.data["classes"],
        metrics=metrics,
        training=training,
        model_href=f"./{weights.name}",
    )
    step = Step(
        lineage=f"{spec['kind']} trained on all samples after spatially blocked "
        f"{len(np.unique(folds))}-fold cross-validation.",
        command="train",
        parameters={"model": spec, "samples": str(samples_item), "seed": seed, "threads": threads},
        rule=rule,
    )
    return record_item(
        item,
        output,
        inputs=[Path(samples_item)],
        step=step,
        provenance=Provenance.current(config_hash=cfg.hash),
    )


def load_model_item(cfg: Config, model_item_path: Path) -> tuple[FittedModel, Path]:
    """Load the model of a model item and check its features against the config.

    Raises:
        InputDataError: the model's feature names differ from ``feature_names(cfg)``.
    """
    item = read_item(Path(model_item_path))
    path = asset_path(Path(model_item_path), item, "model")
    model = load_model(path)
    check_features(model, feature_names(cfg), path)
    return model, path


def check_features(model: FittedModel, expected: list[str], path: Path) -> None:
    """Raise if the model's features are not exactly ``expected`` (same names, same order).

    Raises:
        InputDataError: naming the model file and the differing names.
    """
    if model.feature_names == expected:
        return
    only_model = [n for n in model.feature_names if n not in expected]
    only_cfg = [n for n in expected if n not in model.feature_names]
    detail = (
        f"model-only {only_model}, config-only {only_cfg}"
        if only_model or only_cfg
        else "same names in another order"
    )
    raise InputDataError(
        f"{path}: model features differ from the config's feature_names ({detail}); "
        "retrain the model with this config"
    )


def colormap(cfg: Config) -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table from ``classes[].color`` (0 = transparent no data)."""
    cmap = {0: (0, 0, 0, 0)}
    for c in cfg.data["classes"]:
        h = c["color"].lstrip("#")
        cmap[int(c["value"])] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    return cmap


def run_predict(
    cfg: Config,
    *,
    tile: str,
    model_item_path: Path,
    ard_item: Path,
    lidar_item: Path,
    output: Path,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Predict one tile; write ``classes.tif``, ``confidence.tif`` and the map item."""
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    model, _ = load_model_item(cfg, model_item_path)
    geobox = cfg.grid.geobox(tile)
    stack = feature_stack(cfg, tile, ard_item, lidar_item)
    with dask_client(cfg) as client:  # SPORBAR_DASK_CLUSTER=slurm: the blocks run on Slurm workers
        classes, conf = predict_stack(model, stack) if client is None else predict_stack_on(client, model, stack)
    folder = output.parent
    write_cog(
        folder / "classes.tif",
        classes,
        geobox,
        nodata=0,
        band_names=["class"],
        colormap=colormap(cfg),
    )
    write_cog(
        folder / "confidence.tif", conf, geobox, nodata=CONFIDENCE_NODATA, band_names=["confidence"]
    )
    product = cfg.data["map"]["product"]
    start, end = period_range(cfg)
    bbox = tiles_bbox_wgs84(cfg, [tile])
    item: pystac.Item = map_item(
        product,
        tile,
        geobox=geobox,
        classes=cfg.data["classes"],
        start=start,
        end=end,
        bbox_wgs84=bbox,
        geometry=bbox_polygon(bbox),
    )
    write_thumbnail(folder / "classes.tif", folder / "thumbnail.png", kind="classes")
    add_thumbnail(item, folder, "thumbnail.png", title="Classes in legend colours")
    step = Step(
        lineage="Per-pixel classification of the tile's Sentinel-2 and lidar features; "
        "confidence is the highest class probability.",
        command="predict",
        parameters={
            "tile": tile,
            "model": str(model_item_path),
            "ard": str(ard_item),
            "lidar": str(lidar_item),
        },
        rule=rule,
    )
    return record_item(
        item,
        output,
        inputs=[Path(model_item_path), Path(ard_item), Path(lidar_item)],
        step=step,
        provenance=Provenance.current(config_hash=cfg.hash),
    )
