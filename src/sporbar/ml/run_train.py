"""``sporbar train`` as one library call: samples -> blocked CV -> fitted model -> model item."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import check_writable, write_json_atomic
from sporbar.ml.cv import cross_validate
from sporbar.ml.io import SIDECAR, save_model
from sporbar.ml.item import model_card
from sporbar.ml.models import model_spec
from sporbar.ml.train import fit
from sporbar.stac.items.model import METRICS_FILE, model_item
from sporbar.stac.record import RunContext, asset_path, read_input_item
from sporbar.training.features import feature_names

log = logging.getLogger(__name__)


def read_samples(path: Path, names: list[str]) -> gpd.GeoDataFrame:
    """Read the samples table and check it has every feature column.

    Raises:
        InputDataError: not a readable GeoParquet file (truncated, corrupt), or a feature,
            ``class_value`` or ``fold`` column is missing.
    """
    try:
        df = gpd.read_parquet(path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InputDataError(
            f"{path}: cannot read the samples (truncated or corrupt?): {type(err).__name__}: {err}; "
            "rerun `sporbar samples` with this config"
        ) from err
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
    ctx: RunContext,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Blocked CV, then fit on all samples; write weights, metrics and the model item.

    Args:
        cfg: the pipeline config (``models``, ``classes``, ``training.seed``, ``threads``).
        model_id: one of ``models[].id``.
        samples_item: the training item.
        output: where to write the model item; weights, sidecar and metrics go beside it.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        ConfigError: ``model_id`` is not in the config.
        InputDataError: the samples lack a feature column.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    spec = model_spec(cfg, model_id)
    training = read_input_item(Path(samples_item), ["samples"])
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
        model_card(model),
        classes=cfg.data["classes"],
        metrics=metrics,
        training=training,
        model_href=f"./{weights.name}",
        metadata_href=f"./{SIDECAR}",
    )
    return ctx.record(
        item,
        output,
        inputs=[Path(samples_item)],
        lineage=f"{spec['kind']} trained on all samples after spatially blocked "
        f"{len(np.unique(folds))}-fold cross-validation.",
        command="train",
        parameters={"model": spec, "samples": str(samples_item), "seed": seed, "threads": threads},
    )
