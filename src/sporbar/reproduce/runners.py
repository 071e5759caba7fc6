"""Recorded command -> the library function that re-runs it (no CLI, no subprocess).

Each sub-command records its parameters in its own shape (``processing:expression``, see the
``ctx.record(...)`` calls of the stages). A runner here reads them back, maps the recorded
paths into the re-run folder (:class:`~sporbar.reproduce.steps.PathMap`) and calls the same
library function the sub-command calls, with the run context of the re-run. When a stage's
signature changes, its runner here is the one line to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.reproduce.steps import PathMap, RecordedStep
from sporbar.stac.record import RunContext


@dataclass(frozen=True)
class Rerun:
    """Everything a runner needs besides the recorded parameters.

    Attributes:
        paths: maps recorded paths into the re-run folder.
        cfg: the config of the re-run (the recorded one, ``root`` moved).
        output: the item to write (same place below the re-run root as the original).
        ctx: provenance and Snakemake rule of the re-run (the recorded rule).
    """

    paths: PathMap
    cfg: Config
    output: Path
    ctx: RunContext

    def path(self, recorded: str) -> Path:
        """A recorded input path, mapped into the re-run folder."""
        return Path(self.paths.to_target(recorded))


class RecordedParameters(dict[str, Any]):
    """The recorded parameters of a step; a missing one is an :class:`InputDataError`."""

    def __init__(self, command: str, parameters: Mapping[str, Any]) -> None:
        """Hold ``parameters`` of ``command`` (named in the error for a missing one)."""
        super().__init__(parameters)
        self.command = command

    def __missing__(self, key: str) -> Any:
        """Raise the error that names the command and the parameter."""
        raise InputDataError(
            f"sporbar {self.command}: the item does not record parameter {key!r}, needed to re-run it"
        )


Runner = Callable[[RecordedParameters, Rerun], None]


def _fetch_demo(mission: str, unit: str, p: RecordedParameters, r: Rerun) -> None:
    from sporbar.fetch.registry import source

    src = source(r.cfg, mission, "demo")  # items that record a source_dir came from the demo archive
    listing = src.listing(source_dir=r.path(p["source_dir"]))
    src.fetch(r.ctx, r.cfg, listing.entry(p[unit]), r.output, query=listing.query, overwrite=True)


def _fetch_s2(p: RecordedParameters, r: Rerun) -> None:
    _fetch_demo("sentinel2", "scene", p, r)


def _fetch_s1(p: RecordedParameters, r: Rerun) -> None:
    _fetch_demo("sentinel1", "scene", p, r)


def _fetch_lidar(p: RecordedParameters, r: Rerun) -> None:
    _fetch_demo("lidar", "lidar_tile", p, r)


def _fetch_labels(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.fetch.labels import fetch_labels

    # the CLI takes the label file from the config when it names one; the item records which was used
    path = r.path(p["path"]) if p.get("path") else None
    source_dir = r.path(p["source_dir"]) if path is None else None
    fetch_labels(r.ctx, r.cfg, r.output, source_dir=source_dir, path=path, overwrite=True)


def _lidar(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.lidar.run import run_lidar

    run_lidar(r.cfg, p["tile"], [r.path(x) for x in p["laz"]], r.output, ctx=r.ctx, overwrite=True)


def _ard(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.ard.run import make_ard
    from sporbar.parallel import dask_client

    with dask_client(r.cfg):  # as `sporbar ard` opens it, at the edge
        make_ard(r.cfg, p["tile"], [r.path(x) for x in p["scenes"]], r.output, ctx=r.ctx, overwrite=True,
                 lidar_item=r.path(p["lidar"]) if p.get("lidar") else None)


def _s1_ard(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.s1ard.run import run_s1_ard

    dem = r.path(p["dem"]) if p["dem"] else None
    run_s1_ard(r.cfg, p["tile"], [r.path(x) for x in p["scenes"]], r.output, dem_item=dem, ctx=r.ctx,
               overwrite=True)


def _samples(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.training.run import run_samples

    run_samples(
        r.cfg,
        labels_item=r.path(p["labels"]),
        ard_items=[r.path(x) for x in p["ard"]],
        lidar_items=[r.path(x) for x in p["lidar"]],
        s1_items=[r.path(x) for x in p.get("s1", [])],
        series_dir=r.output.parent.parent,
        ctx=r.ctx,
        as_version=r.output.parent.name,  # <series>/<version>/item.json: the version being reproduced
    )


def _train(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.ml.run_train import run_train

    model = p["model"]["id"] if isinstance(p["model"], dict) else p["model"]
    run_train(r.cfg, model_id=model, samples_item=r.path(p["samples"]), series_dir=r.output.parent.parent,
              ctx=r.ctx, as_version=r.output.parent.name)  # the version being reproduced, whatever the code


def _predict(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.ml.run_predict import run_predict
    from sporbar.parallel import dask_client

    with dask_client(r.cfg):  # as `sporbar predict` opens it, at the edge
        run_predict(
            r.cfg,
            tile=p["tile"],
            model_item_path=r.path(p["model"]),
            ard_item=r.path(p["ard"]),
            lidar_item=r.path(p["lidar"]),
            s1_item=r.path(p["s1"]) if p.get("s1") else None,
            output=r.output,
            ctx=r.ctx,
            overwrite=True,
        )


def _validation_sample(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.accuracy.run import run_validation_sample

    run_validation_sample(r.cfg, map_items=[r.path(x) for x in p["maps"]], output=r.output, ctx=r.ctx, overwrite=True)


def _assess(p: RecordedParameters, r: Rerun) -> None:
    from sporbar.accuracy.run import run_assess

    maps = [r.path(x) for x in p["maps"]]
    sample = r.path(p["sample"]) if p.get("sample") else None
    if p["reference"] == "demo":  # the demo's synthetic truth labelled the sample item
        from sporbar.demo.truth import demo_truth

        run_assess(r.cfg, map_items=maps, output=r.output, ctx=r.ctx, sample_item=sample,
                   labeller=demo_truth(r.cfg), overwrite=True)
    else:
        run_assess(r.cfg, map_items=maps, output=r.output, ctx=r.ctx, reference=r.path(p["reference"]),
                   sample_item=sample, overwrite=True)


#: recorded command (without the leading ``sporbar``) -> its runner
RUNNERS: Mapping[str, Runner] = {
    "fetch s2": _fetch_s2,
    "fetch s1": _fetch_s1,
    "fetch lidar": _fetch_lidar,
    "fetch labels": _fetch_labels,
    "lidar": _lidar,
    "ard": _ard,
    "s1-ard": _s1_ard,
    "samples": _samples,
    "train": _train,
    "predict": _predict,
    "validation-sample": _validation_sample,
    "assess": _assess,
}


def describe_call(step: RecordedStep) -> str:
    """The call a re-run makes, for the report: ``sporbar <command>`` and its recorded parameters."""
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(step.parameters.items()))
    return f"sporbar {step.command} ({params})" + (f" [rule {step.rule}]" if step.rule else "")


def run_recorded(step: RecordedStep, rerun: Rerun) -> None:
    """Re-run ``step`` through its library function.

    Args:
        step: the step the item records.
        rerun: where, with which config and in which context to run it.

    Raises:
        InputDataError: the command is not one ``reproduce`` knows how to re-run, or a
            parameter it needs was not recorded.
    """
    runner = RUNNERS.get(step.command)
    if runner is None:
        raise InputDataError(
            f"sporbar {step.command}: reproduce does not know how to re-run this command "
            f"(known: {', '.join(sorted(RUNNERS))})"
        )
    runner(RecordedParameters(step.command, step.parameters), rerun)
