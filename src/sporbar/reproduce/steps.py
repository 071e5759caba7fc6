"""Turn an item's recorded step (``processing:expression``) back into a ``sporbar`` command line.

Each sub-command records its parameters in its own shape (see the ``Step(...)`` calls in the
library). Paths in the parameters are as the step was given them (relative to the working
folder of the run, or absolute); :class:`PathMap` finds them again below the data root and
maps them into the folder where the step is re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporbar.errors import InputDataError


@dataclass(frozen=True)
class PathMap:
    """Maps a recorded path to its place in the re-run folder.

    Attributes:
        root: the data root the item lives in (holds the run's effective config).
        target: the re-run root that mirrors ``root``'s layout.
    """

    root: Path
    target: Path

    def locate(self, recorded: str) -> Path:
        """Where ``recorded`` (a path as the step got it) is below ``root`` now.

        The longest trailing part of the recorded path that exists below ``root`` wins, so
        a delivery moved to another folder (or another machine) is still found.

        Raises:
            InputDataError: no trailing part of the path exists below ``root``.
        """
        p = Path(recorded)
        if p.is_absolute():
            try:
                rel = p.relative_to(self.root)
                if (self.root / rel).exists():
                    return self.root / rel
            except ValueError:
                pass
        parts = p.parts[1:] if p.is_absolute() else p.parts
        for i in range(len(parts)):
            cand = self.root.joinpath(*parts[i:])
            if cand.exists():
                return cand
        raise InputDataError(
            f"{recorded}: recorded input not found below the data root {self.root} "
            "(was it moved out of the delivery?)"
        )

    def to_target(self, recorded: str) -> str:
        """The recorded path, mapped into the re-run folder."""
        found = self.locate(recorded)
        return str(self.target / found.relative_to(self.root))


ArgvBuilder = Callable[[dict[str, Any], PathMap, str, str], list[str]]


def _fetch_s2(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    return ["fetch", "s2", "-c", config, "--source-dir", m.to_target(p["source_dir"]),
            "--scene", p["scene"], "-o", out, "--overwrite"]


def _fetch_lidar(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    return ["fetch", "lidar", "-c", config, "--source-dir", m.to_target(p["source_dir"]),
            "--lidar-tile", p["lidar_tile"], "-o", out, "--overwrite"]


def _fetch_labels(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    argv = ["fetch", "labels", "-c", config]
    if p.get("path"):
        argv += ["--path", m.to_target(p["path"])]
    elif p.get("source_dir"):
        argv += ["--source-dir", m.to_target(p["source_dir"])]
    return [*argv, "-o", out, "--overwrite"]


def _lidar(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    return ["lidar", "-c", config, "--tile", p["tile"], "-o", out, "--overwrite",
            *(m.to_target(x) for x in p["laz"])]


def _ard(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    return ["ard", "-c", config, "--tile", p["tile"], "-o", out, "--overwrite",
            *(m.to_target(x) for x in p["scenes"])]


def _samples(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    inputs = [p["labels"], *p["ard"], *p["lidar"]]
    return ["samples", "-c", config, "-o", out, "--overwrite", *(m.to_target(x) for x in inputs)]


def _train(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    model = p["model"]["id"] if isinstance(p["model"], dict) else p["model"]
    return ["train", "-c", config, "--model", model, "--samples", m.to_target(p["samples"]),
            "-o", out, "--overwrite"]


def _predict(p: dict[str, Any], m: PathMap, config: str, out: str) -> list[str]:
    return ["predict", "-c", config, "--tile", p["tile"], "--model", m.to_target(p["model"]),
            "--ard", m.to_target(p["ard"]), "--lidar", m.to_target(p["lidar"]),
            "-o", out, "--overwrite"]


#: recorded command (without the leading ``sporbar``) -> argv builder
BUILDERS: dict[str, ArgvBuilder] = {
    "fetch s2": _fetch_s2,
    "fetch lidar": _fetch_lidar,
    "fetch labels": _fetch_labels,
    "lidar": _lidar,
    "ard": _ard,
    "samples": _samples,
    "train": _train,
    "predict": _predict,
}


@dataclass(frozen=True)
class RecordedStep:
    """The step an item records: ``processing:expression`` of format ``sporbar-cli``."""

    command: str
    parameters: dict[str, Any]
    rule: str | None

    @classmethod
    def from_properties(cls, item_path: Path, props: dict[str, Any]) -> RecordedStep:
        """Read the step from an item's properties.

        Raises:
            InputDataError: the item records no sporbar step.
        """
        expr = props.get("processing:expression") or {}
        body = expr.get("expression") if isinstance(expr, dict) else None
        if expr.get("format") != "sporbar-cli" or not isinstance(body, dict) or "command" not in body:
            raise InputDataError(
                f"{item_path}: no processing:expression of format 'sporbar-cli': "
                "the item does not record a sporbar step to re-run"
            )
        command = str(body["command"]).removeprefix("sporbar").strip()
        return cls(command=command, parameters=dict(body.get("parameters") or {}), rule=body.get("rule"))

    def argv(self, paths: PathMap, config: str, output: str) -> list[str]:
        """The sporbar command line (without the program name) that re-runs the step.

        Raises:
            InputDataError: the command is not one ``reproduce`` knows how to re-run, or a
                parameter it needs was not recorded.
        """
        builder = BUILDERS.get(self.command)
        if builder is None:
            raise InputDataError(
                f"sporbar {self.command}: reproduce does not know how to re-run this command "
                f"(known: {', '.join(sorted(BUILDERS))})"
            )
        try:
            argv = builder(self.parameters, paths, config, output)
        except KeyError as err:
            raise InputDataError(
                f"sporbar {self.command}: the item does not record parameter {err.args[0]!r}, "
                "needed to re-run it"
            ) from None
        return (["--rule", self.rule] if self.rule else []) + argv
