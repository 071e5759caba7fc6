"""``sporbar predict`` as one library call: a model + one tile's features -> map item."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import check_writable
from sporbar.ml.io import load_model
from sporbar.ml.models import TEMPORAL_KINDS
from sporbar.ml.predict import predict_stack, predict_stack_on
from sporbar.ml.train import FittedModel
from sporbar.parallel import active_client
from sporbar.raster import write_cog
from sporbar.stac.items.extent import period_span, tiles_bbox_wgs84
from sporbar.stac.items.map import CLASS_NODATA, CONFIDENCE_NODATA, MARGIN_NODATA, map_item
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.record import RunContext, asset_path, read_input_item
from sporbar.training.features import feature_names, feature_stack, model_feature_names

log = logging.getLogger(__name__)


def load_model_item(cfg: Config, model_item_path: Path) -> tuple[FittedModel, str]:
    """Load the model of a model item and check its features against the config; return it and the item's id.

    Raises:
        InputDataError: the model file is corrupt, or its feature names differ from the
            config's (``model_feature_names(cfg)`` of its kind).
    """
    item = read_input_item(Path(model_item_path), ["model"])
    path = asset_path(Path(model_item_path), item, "model")
    model = load_model(path)
    check_features(model, model_feature_names(cfg, temporal=model.kind in TEMPORAL_KINDS), path)
    return model, item.id


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


def _model_and_features(
    cfg: Config, tile: str, model_item_path: Path, ard_item: Path, lidar_item: Path, s1_item: Path | None
) -> tuple[FittedModel, str, np.ndarray]:
    """The model, its item's id and the tile's feature stack, loaded side by side.

    Loading a forest imports scikit-learn (about a second of Python), while reading the
    feature COGs is GDAL decoding that releases the GIL: in two threads they overlap. A model
    error is raised before a feature error, as when they ran one after the other.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sporbar-model") as pool:
        loading = pool.submit(load_model_item, cfg, model_item_path)
        try:
            stack = feature_stack(cfg, tile, ard_item, lidar_item, s1_item)
        except Exception:
            loading.result()  # raises the model's error, if it has one
            raise
        model, model_id = loading.result()
    return model, model_id, stack


def colormap(cfg: Config) -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table from ``classes[].color`` (0 = transparent no data)."""
    cmap = {CLASS_NODATA: (0, 0, 0, 0)}
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
    ctx: RunContext,
    s1_item: Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Predict one tile; write ``classes.tif``, ``confidence.tif``, ``margin.tif`` and the map item.

    The row blocks run on the Dask client of the caller's ``sporbar.parallel.dask_client``
    block (Dask on Slurm), else in this process; the maps are the same either way.

    Args:
        cfg: the pipeline config (features, classes, ``map.product``).
        tile: grid tile id.
        model_item_path: the model item.
        ard_item: the tile's ARD item.
        lidar_item: the tile's lidar products item.
        output: where to write the map item; the COGs go beside it.
        ctx: who runs the step (provenance, rule).
        s1_item: the tile's Sentinel-1 ARD item (with ``sources.sentinel1`` on).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        InputDataError: the model file is corrupt or has other features, or an ARD period
            holds no scene on the tile.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    geobox = cfg.grid.geobox(tile)
    model, model_id, stack = _model_and_features(cfg, tile, model_item_path, ard_item, lidar_item, s1_item)
    names = feature_names(cfg)
    if model.feature_names != names:  # the model reads some of the features (its kind's)
        # picked on the pixel-major axis, so the stack stays pixel-major (see feature_stack)
        stack = stack.transpose(1, 2, 0)[..., [names.index(n) for n in model.feature_names]].transpose(2, 0, 1)
    client = active_client()
    classes, conf, margin = (
        predict_stack(model, stack) if client is None else predict_stack_on(client, model, stack)
    )
    folder = output.parent
    write_cog(
        folder / "classes.tif",
        classes,
        geobox,
        nodata=CLASS_NODATA,
        band_names=["class"],
        colormap=colormap(cfg),
    )
    write_cog(
        folder / "confidence.tif", conf, geobox, nodata=CONFIDENCE_NODATA, band_names=["confidence"]
    )
    write_cog(folder / "margin.tif", margin, geobox, nodata=MARGIN_NODATA, band_names=["margin"])
    start, end = period_span(cfg.data["ard"]["periods"])
    item = map_item(
        cfg.data["map"]["product"],
        tile,
        geobox=geobox,
        classes=cfg.data["classes"],
        start=start,
        end=end,
        bbox_wgs84=tiles_bbox_wgs84(cfg.grid, [tile]),
        mapped=np.unique(classes).tolist(),
        model=model_id,
    )
    write_thumbnail(folder / "classes.tif", folder / "thumbnail.png", kind="classes")
    add_thumbnail(item, folder, "thumbnail.png", title="Classes in legend colours")
    return ctx.record(
        item,
        output,
        inputs=[Path(model_item_path), Path(ard_item), Path(lidar_item), *([Path(s1_item)] if s1_item else [])],
        lineage="Per-pixel classification of the tile's Sentinel-2 and lidar features; "
        "confidence is the highest class probability, margin the highest minus the second-highest.",
        command="predict",
        parameters={
            "tile": tile,
            "model": str(model_item_path),
            "ard": str(ard_item),
            "lidar": str(lidar_item),
            **({"s1": str(s1_item)} if s1_item else {}),
        },
    )
