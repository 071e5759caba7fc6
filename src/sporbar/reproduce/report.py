"""What ``sporbar reproduce`` found for an item: the verdict, per input and per asset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The outcome of reproducing one item (plain strings in the JSON report), worst first."""

    FAILED = "failed"
    MISSING_INPUT = "missing input"
    INPUT_CHANGED = "input changed"
    CONFIG_CHANGED = "config changed"
    DIFFERENT = "different"
    IDENTICAL = "identical"
    NOT_REPRODUCIBLE = "not reproducible"


class InputStatus(StrEnum):
    """The state of one input item before the step is re-run."""

    OK = "ok"
    MISSING = "missing input"
    CHANGED = "input changed"
    OUTSIDE = "outside the delivery"


class AssetStatus(StrEnum):
    """One asset of the re-run compared with the delivered one."""

    IDENTICAL = "identical"
    DIFFERENT = "different"
    MISSING = "missing"
    EXTRA = "extra"


@dataclass
class InputCheck:
    """One input item: ok, missing or changed (with the assets that changed).

    Attributes:
        item: the input item's path and id.
        status: what was found.
        detail: which asset files are missing or changed.
    """

    item: str
    status: InputStatus
    detail: str = ""


@dataclass
class AssetResult:
    """One asset: identical, different or missing (or extra when only the re-run has it).

    Attributes:
        key: the asset key.
        status: the comparison.
        detail: what differs (pixels, values, sizes), or the checksum when identical.
    """

    key: str
    status: AssetStatus
    detail: str = ""


@dataclass
class Report:
    """The result of reproducing one item.

    Attributes:
        item: the item file given.
        item_id: its id.
        command: the recorded sub-command (``"ard"``, ``"fetch s2"``...).
        call: the library call that re-ran it, with its arguments.
        inputs: one check per ``derived_from`` input.
        assets: one comparison per asset.
        config: how the config compares with the recorded one.
        code_recorded: the code version the item records.
        code_running: the code version that re-ran it.
        warnings: differences that do not change the verdict.
        problems: why the item could not be reproduced.
        verdict: the outcome.
    """

    item: str
    item_id: str = ""
    command: str = ""
    call: str = ""
    inputs: list[InputCheck] = field(default_factory=list)
    assets: list[AssetResult] = field(default_factory=list)
    config: str = ""
    code_recorded: str = ""
    code_running: str = ""
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    verdict: Verdict = Verdict.NOT_REPRODUCIBLE

    @property
    def identical(self) -> bool:
        """True when every asset came out bit-for-bit the same from the same inputs and config."""
        return self.verdict == Verdict.IDENTICAL

    def to_dict(self) -> dict[str, Any]:
        """As JSON-serialisable data."""
        return {
            "item": self.item,
            "id": self.item_id,
            "command": self.command,
            "call": self.call,
            "verdict": str(self.verdict),
            "config": self.config,
            "code_version": {"recorded": self.code_recorded, "running": self.code_running},
            "inputs": [{"item": i.item, "status": str(i.status), "detail": i.detail} for i in self.inputs],
            "assets": [{"key": a.key, "status": str(a.status), "detail": a.detail} for a in self.assets],
            "warnings": self.warnings,
            "problems": self.problems,
        }

    def render(self) -> str:
        """A human-readable table per asset and the verdict."""
        lines = [f"item    {self.item} ({self.item_id})"]
        if self.command:
            lines.append(f"step    sporbar {self.command}")
        bad_inputs = [i for i in self.inputs if i.status != InputStatus.OK]
        lines.append(f"inputs  {len(self.inputs) - len(bad_inputs)} of {len(self.inputs)} ok")
        lines += [f"        {i.status}: {i.item}{' - ' + i.detail if i.detail else ''}" for i in bad_inputs]
        if self.config:
            lines.append(f"config  {self.config}")
        if self.code_recorded:
            same = "same" if self.code_recorded == self.code_running else "DIFFERS"
            lines.append(f"code    recorded {self.code_recorded}, running {self.code_running} ({same})")
        if self.assets:
            width = max(len(a.key) for a in self.assets)
            lines.append(f"  {'asset'.ljust(width)}  {'status':<10} detail")
            lines += [f"  {a.key.ljust(width)}  {a.status:<10} {a.detail}" for a in self.assets]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"problem: {p}" for p in self.problems]
        lines.append(f"verdict: {self.verdict.upper()}" + (" (bit-for-bit)" if self.identical else ""))
        return "\n".join(lines)


def summary(reports: Iterable[Report]) -> str:
    """The share of items reproduced bit-for-bit, and the count per verdict."""
    reports = list(reports)
    n = len(reports)
    same = sum(r.identical for r in reports)
    counts = Counter(str(r.verdict) for r in reports)
    share = 100.0 * same / n if n else 0.0
    per = ", ".join(f"{v}: {c}" for v, c in sorted(counts.items()))
    return f"reproduced bit-for-bit: {same} of {n} items ({share:.1f}%) [{per}]"
