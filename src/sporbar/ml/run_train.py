"""``sporbar train`` as one library call: samples -> blocked CV -> fitted model -> model item (a version)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from sporbar.config import Config
from sporbar.errors import InputDataError, TooFewSamplesError
from sporbar.io import write_json_atomic
from sporbar.ml.cv import cross_validate
from sporbar.ml.io import SIDECAR, save_model
from sporbar.ml.item import model_card
from sporbar.ml.models import is_temporal, model_spec
from sporbar.ml.train import fit
from sporbar.stac.items.model import METRICS_FILE, model_item
from sporbar.stac.record import RunContext, asset_path, read_input_item
from sporbar.stac.versions import intact_version, version_hash, version_path
from sporbar.training.features import model_feature_names

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


def check_class_counts(path: Path, df: gpd.GeoDataFrame, folds: int) -> None:
    """Refuse samples in which a class has fewer samples than there are folds.

    Raises:
        TooFewSamplesError: naming the samples file, the classes and their counts.
    """
    counts = df.groupby("class_name" if "class_name" in df.columns else "class_value").size()
    few = {str(k): int(n) for k, n in counts.items() if n < folds}
    if few:
        raise TooFewSamplesError(
            f"{path}: classes {few} have fewer samples than the {folds} cross-validation folds, so a fold "
            "cannot hold them; add labels of those classes, lower training.folds, or remove them from classes[]"
        )


def model_version(training_id: str, spec: dict[str, Any], *, seed: int, classes: Any, code_version: str) -> str:
    """The version of a model: hash of the training version, its ``models[]`` entry, seed, classes and code.

    Everything a fitted model and its item depend on, except ``threads`` (the same model on
    any number of cores); known before training, so an unchanged version is not trained again.
    """
    return version_hash(training_id, spec, seed, classes, code_version)


def run_train(
    cfg: Config,
    *,
    model_id: str,
    samples_item: Path,
    series_dir: Path,
    ctx: RunContext,
    as_version: str | None = None,
) -> dict[str, Any]:
    """Blocked CV, then fit on all samples; write weights, metrics and the model item (a version).

    A ``models[]`` entry with ``from`` is not trained: the published model it names is fetched,
    checked and recorded instead (:func:`sporbar.ml.reuse.reuse_model`).

    The item goes to ``<series_dir>/<version>/item.json`` (:func:`model_version`), the files
    beside it. A version whose folder already holds a complete item is kept as it is and
    nothing is trained (see ``sporbar.stac.versions``).

    Args:
        cfg: the pipeline config (``models``, ``classes``, ``training.seed``, ``threads``).
        model_id: one of ``models[].id``.
        samples_item: the training item (a version of the training set).
        series_dir: the folder of every version (``plan.series_dir(cfg, "model", model=...)``).
        ctx: who runs the step (provenance, rule).
        as_version: ``sporbar reproduce`` only: write the output as this (recorded) version, so
            that it is compared with the delivered one also when the code version differs.

    Returns:
        The item dict of the version (``properties.version`` names its folder).

    Raises:
        ConfigError: ``model_id`` is not in the config.
        InputDataError: the samples lack a feature column.
        TooFewSamplesError: a class has fewer samples than folds.
        ModelMismatchError, ChecksumMismatchError: a reused model (``from``) does not fit or is damaged.
    """
    spec = model_spec(cfg, model_id)
    if spec.get("from"):  # a published model, reused: fetched and checked, not trained
        from sporbar.ml.reuse import reuse_model

        return reuse_model(cfg, spec, series_dir=series_dir)
    training = read_input_item(Path(samples_item), ["samples"])
    seed, threads = int(cfg.data["training"]["seed"]), int(cfg.data["threads"])
    version = as_version or model_version(
        training.id, spec, seed=seed, classes=cfg.data["classes"], code_version=ctx.provenance.code_version
    )
    output = version_path(Path(series_dir), version)
    kept = intact_version(output)
    if kept is not None:
        log.info("train %s: %s is unchanged (version %s kept, not retrained)", model_id, output, version)
        return kept
    names = model_feature_names(cfg, temporal=is_temporal(spec))
    df = read_samples(asset_path(Path(samples_item), training, "samples"), names)
    x = df[names].to_numpy(np.float32)
    y = df["class_value"].to_numpy(np.int64)
    folds = df["fold"].to_numpy(np.int64)
    check_class_counts(asset_path(Path(samples_item), training, "samples"), df, len(np.unique(folds)))
    classes = [c for c in cfg.data["classes"] if int(c["value"]) in set(y.tolist())]
    values = [int(c["value"]) for c in sorted(classes, key=lambda c: c["value"])]
    class_names = [c["name"] for c in sorted(classes, key=lambda c: c["value"])]
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
        version=version,
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
