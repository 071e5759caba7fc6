"""``sporbar validation-sample`` and ``sporbar assess`` as library calls.

``run_validation_sample``: map items -> the stratified random sample (GeoPackage with an empty
``reference`` column) and its item. ``run_assess``: the sample with reference labels (an
interpreted GeoPackage, or the sample item labelled by a :data:`Labeller` such as the demo
truth) + the map items -> the estimates as JSON, the labelled sample, and the assessment item.
Everything is checked before anything is written: a bad sample leaves no output behind.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.accuracy.estimate import stratified_estimates
from sporbar.accuracy.reference import Labeller, mapped_values, read_sample, reference_indices
from sporbar.accuracy.sample import (
    LAYER,
    REFERENCE,
    class_values,
    draw_sample,
    map_tiles,
    pixel_counts,
    sample_design,
)
from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import atomic_path, check_writable, dumps_json, write_bytes_atomic
from sporbar.stac.items.accuracy import ACCURACY_FILE, SAMPLE_FILE, accuracy_item, validation_sample_item
from sporbar.stac.items.extent import period_span, tiles_bbox_wgs84
from sporbar.stac.record import RunContext, asset_path, read_input_item
from sporbar.vector import write_geopackage

log = logging.getLogger(__name__)


def _extent(cfg: Config, tiles: Sequence[str]) -> dict[str, Any]:
    start, end = period_span(cfg.data["ard"]["periods"])
    return {"bbox": tiles_bbox_wgs84(cfg.grid, list(tiles)), "start": start, "end": end}


def run_validation_sample(
    cfg: Config, *, map_items: Sequence[Path], output: Path, ctx: RunContext, overwrite: bool = False
) -> dict[str, Any]:
    """Draw the validation sample of the map; write ``sample.gpkg`` and its item.

    Args:
        cfg: the config (``accuracy``, ``classes``, grid, ``map.product``).
        map_items: the map items of every tile of the product.
        output: the item path; the GeoPackage goes beside it.
        ctx: who runs the step.
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        InputDataError: a map item is not of this product, its COG is off its grid or changed,
            or no pixel is classified.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    maps = map_tiles(cfg, map_items)
    counts = pixel_counts(cfg, maps)
    design = sample_design(cfg, counts.sum(axis=0).tolist())
    sample = draw_sample(cfg, maps, counts, design)
    write_geopackage(sample, output.parent / SAMPLE_FILE, layer=LAYER)
    log.info("validation sample: %d points (%s)", len(sample), design.rule)
    item = validation_sample_item(cfg.data["map"]["product"], design=design.to_dict(),
                                  **_extent(cfg, [m.tile for m in maps]))
    return ctx.record(
        item,
        output,
        inputs=[m.item for m in maps],
        lineage="Stratified random validation sample of the map (strata = mapped classes, points at pixel "
        "centres, seeded), after Olofsson et al. (2014); column 'reference' is left for interpreters.",
        command="validation-sample",
        parameters={"maps": [str(m.item) for m in maps]},
    )


def run_assess(
    cfg: Config,
    *,
    map_items: Sequence[Path],
    output: Path,
    ctx: RunContext,
    reference: Path | None = None,
    sample_item: Path | None = None,
    labeller: Labeller | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Estimate the map's accuracy and class areas from a labelled validation sample.

    Give either ``reference`` (a sample GeoPackage whose ``reference`` column interpreters
    filled in; ``sample_item``, if given, is recorded as an input) or ``sample_item`` with
    ``labeller`` (the validation sample item, labelled by the labeller: the demo's truth).

    Args:
        cfg: the config (classes, grid, ``map.product``).
        map_items: the map items of every tile of the product.
        output: the item path; ``accuracy.json`` and ``sample.gpkg`` go beside it.
        ctx: who runs the step.
        reference: the interpreted sample GeoPackage.
        sample_item: the validation sample item (needed with ``labeller``).
        labeller: gives the reference class name of points (with ``sample_item``).
        overwrite: replace an existing item.

    Returns:
        The item dict as written.

    Raises:
        TypeError: not exactly one of ``reference`` and ``sample_item`` + ``labeller`` (a call that
            cannot work whatever the data).
        InputDataError: points without a reference label, unknown classes, points outside the
            map or on no-data pixels, a sample from another map, or a stratum with fewer than
            two points (each names the file and the sample ids).
    """
    if (reference is None) == (labeller is None) or (labeller is not None and sample_item is None):
        raise TypeError("give reference, or sample_item with labeller")
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    maps = map_tiles(cfg, map_items)
    names = [c["name"] for c in cfg.data["classes"]]
    inputs = [m.item for m in maps]
    if sample_item is not None:
        item = read_input_item(Path(sample_item), ["sample"])
        inputs.append(Path(sample_item))
    if reference is not None:
        source = Path(reference)
        frame = read_sample(source, cfg)
        recorded = str(reference)
    else:
        assert sample_item is not None and labeller is not None
        source = asset_path(Path(sample_item), item, "sample")
        frame = read_sample(source, cfg)
        frame[REFERENCE] = labeller(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
        recorded = "demo"
    ref = reference_indices(source, frame, names)
    stratum = mapped_values(source, cfg, frame, maps)
    index = {v: i for i, v in enumerate(class_values(cfg))}
    strange = sorted({int(v) for v in stratum} - set(index))
    if strange:
        raise InputDataError(f"{source}: points fall on map values {strange}, not classes[] values; "
                             "the map was made with other classes")
    strata = np.array([index[int(v)] for v in stratum], np.int64)
    counts = np.zeros((len(names), len(names)), np.int64)
    np.add.at(counts, (strata, ref), 1)
    mapped = pixel_counts(cfg, maps).sum(axis=0)
    est = stratified_estimates(counts, mapped, classes=names, pixel_area_m2=float(cfg.grid.resolution) ** 2)
    report = est.to_dict()
    folder = output.parent
    folder.mkdir(parents=True, exist_ok=True)
    if reference is not None:
        with atomic_path(folder / SAMPLE_FILE) as tmp:  # the interpreters' file, byte for byte
            shutil.copyfile(source, tmp)
    else:
        write_geopackage(frame, folder / SAMPLE_FILE, layer=LAYER)
    write_bytes_atomic(folder / ACCURACY_FILE, dumps_json(report).encode("utf-8"))
    o = est.overall
    log.info("accuracy: overall %.3f +- %.3f (95 %% CI), %d points", o.value, o.ci95, int(counts.sum()))
    item_obj = accuracy_item(cfg.data["map"]["product"], report=report, reference=recorded,
                             **_extent(cfg, [m.tile for m in maps]))
    params: dict[str, Any] = {"maps": [str(m.item) for m in maps], "reference": recorded}
    if sample_item is not None:
        params["sample"] = str(sample_item)
    return ctx.record(
        item_obj,
        output,
        inputs=inputs,
        lineage="Area-adjusted accuracy of the map from its labelled stratified random sample (Olofsson et al. "
        "2014): error matrix in area proportions, user's, producer's and overall accuracy and class areas, "
        "each with a 95 % confidence interval.",
        command="assess",
        parameters=params,
    )


__all__ = ["run_assess", "run_validation_sample"]
