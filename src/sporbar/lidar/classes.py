"""What each point is used for: its ASPRS class (``lidar.point_classes``) and withheld flag (``lidar.withheld``).

Every point gets one role from a 256-entry lookup table (one indexing per chunk, no loop):
ground (DTM), vegetation (CHM), other (used in DSM, density and metrics only), or excluded
as noise, withheld or of an unknown class. Excluded points are counted so the item can say
what was left out (``sporbar:excluded_points``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from sporbar.config import schema
from sporbar.errors import ConfigError


def lidar_defaults() -> dict[str, Any]:
    """The config's ``lidar`` section as the schema's defaults fill it in (for callers without a config)."""
    props = schema()["properties"]["lidar"]["properties"]
    return {
        key: {k: v["default"] for k, v in sub["properties"].items()} if "properties" in sub else sub["default"]
        for key, sub in props.items()
    }


class Role(IntEnum):
    """The use of a point."""

    UNKNOWN = 0  # a class in no list: excluded, counted per class
    NOISE = 1  # excluded, counted
    GROUND = 2  # DTM (and every surface)
    VEGETATION = 3  # CHM (and every surface)
    OTHER = 4  # DSM, density, metrics


_LISTS = {"ground": Role.GROUND, "vegetation": Role.VEGETATION, "noise": Role.NOISE, "other": Role.OTHER}


@dataclass(frozen=True)
class PointClasses:
    """ASPRS class codes by role, and whether withheld points are used."""

    ground: tuple[int, ...]
    vegetation: tuple[int, ...]
    noise: tuple[int, ...]
    other: tuple[int, ...]
    keep_withheld: bool = False

    @classmethod
    def from_config(cls, lidar: Mapping[str, Any], *, source: str = "config") -> PointClasses:
        """From the config's ``lidar`` section (defaults filled in).

        Raises:
            ConfigError: a class code is in two lists.
        """
        lists = {k: tuple(int(v) for v in lidar["point_classes"][k]) for k in _LISTS}
        seen: dict[int, str] = {}
        for name, codes in lists.items():
            for c in codes:
                if c in seen:
                    raise ConfigError(f"{source}: lidar.point_classes: class {c} is in both {seen[c]} and {name}")
                seen[c] = name
        return cls(**lists, keep_withheld=lidar["withheld"] == "keep")

    @classmethod
    def asprs(cls) -> PointClasses:
        """The defaults of the config schema (ASPRS LAS 1.4 classes)."""
        return cls.from_config(lidar_defaults())

    def roles(self) -> np.ndarray:
        """Role of each class code 0..255 (uint8), for ``roles()[classification]``."""
        table = np.full(256, Role.UNKNOWN, np.uint8)
        for name, role in _LISTS.items():
            table[list(getattr(self, name))] = role
        return table


@dataclass
class Excluded:
    """Points left out of every product, by reason (inside the tile only)."""

    noise: int = 0
    withheld: int = 0
    unknown: dict[int, int] | None = None

    def add_unknown(self, classification: np.ndarray) -> None:
        """Count the points of unknown classes, per class."""
        codes, counts = np.unique(classification, return_counts=True)
        unknown = self.unknown if self.unknown is not None else {}
        for c, n in zip(codes.tolist(), counts.tolist(), strict=True):
            unknown[int(c)] = unknown.get(int(c), 0) + int(n)
        self.unknown = unknown

    def as_dict(self) -> dict[str, Any]:
        """``sporbar:excluded_points``: noise, withheld, and unknown classes (code as text -> count)."""
        unknown = {str(c): n for c, n in sorted((self.unknown or {}).items())}
        return {"noise": self.noise, "withheld": self.withheld, "unknown_classes": unknown}
