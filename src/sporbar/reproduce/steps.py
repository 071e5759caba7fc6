"""Read an item's recorded step (``processing:expression``) and find its recorded paths again.

Each sub-command records its parameters in its own shape (see the ``ctx.record(...)`` calls
of the stages). Paths in the parameters are as the step was given them (relative to the
working folder of the run, or absolute); :class:`PathMap` finds them again below the data
root and maps them into the folder where the step is re-run (:mod:`sporbar.reproduce.runners`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporbar.errors import InputDataError
from sporbar.stac.hrefs import is_inside


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
            InputDataError: no trailing part of the path exists below ``root`` (links followed).
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
            # a recorded "../.." must not lead out of the delivery
            if cand.exists() and is_inside(cand, self.root):
                return cand
        raise InputDataError(
            f"{recorded}: recorded input not found below the data root {self.root} "
            "(was it moved out of the delivery?)"
        )

    def to_target(self, recorded: str) -> str:
        """The recorded path, mapped into the re-run folder."""
        found = self.locate(recorded)
        return str(self.target / found.relative_to(self.root))


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
