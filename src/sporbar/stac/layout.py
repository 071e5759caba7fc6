"""Which collection an item belongs to, from where a run wrote it.

Stage items carry no ``collection`` field (the core schema would then require a collection
link, which only the catalog has), so the catalog, the lineage and the run summary tell an
item's collection from its path. The paths are the workflow's business: the caller builds an
:class:`ItemLayout` from the workflow's path patterns (``ItemLayout.from_patterns(plan.PATTERNS)``)
and hands it down, so nothing in ``sporbar.stac`` imports the workflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sporbar.errors import CatalogError
from sporbar.stac import extensions as ext

# Name of a workflow path pattern (``plan.PATTERNS``) -> the collection of the items written there.
PATTERN_COLLECTIONS: Final[Mapping[str, str]] = {
    "raw_s2": ext.COLLECTION_S2_RAW,
    "raw_s1": ext.COLLECTION_S1_RAW,
    "raw_lidar": ext.COLLECTION_LIDAR_RAW,
    "raw_labels": ext.COLLECTION_LABELS_RAW,
    "ard": ext.COLLECTION_ARD,
    "s1_ard": ext.COLLECTION_S1_ARD,
    "lidar_products": ext.COLLECTION_LIDAR_PRODUCTS,
    "training": ext.COLLECTION_TRAINING,
    "model": ext.COLLECTION_MODELS,
    "map": ext.COLLECTION_MAPS,
    "validation_sample": ext.COLLECTION_ACCURACY,
    "accuracy": ext.COLLECTION_ACCURACY,
}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching the end of a path written by ``pattern`` (each wildcard: one folder)."""
    parts = re.split(r"\{[^}]+\}", pattern)
    return re.compile("(?:^|/)" + "[^/]+".join(re.escape(p) for p in parts) + "$")


@dataclass(frozen=True)
class ItemLayout:
    """Collection id -> the path patterns (below the run root) its items are written to.

    Attributes:
        patterns: e.g. ``{"sentinel-2-ard": ("ard/sentinel-2-l2a/{tile}/item.json",)}``; a
            collection may hold the items of several steps (``map-accuracy``).
    """

    patterns: Mapping[str, tuple[str, ...]]
    _regexes: list[tuple[str, re.Pattern[str]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile each collection's path pattern to a regex once (the layout is frozen)."""
        regexes = [(cid, _pattern_regex(p)) for cid, ps in self.patterns.items() for p in ps]
        object.__setattr__(self, "_regexes", regexes)

    @classmethod
    def from_patterns(cls, patterns: Mapping[str, str]) -> ItemLayout:
        """The layout of the workflow's path patterns (pattern name -> pattern, ``plan.PATTERNS``).

        Raises:
            CatalogError: a pattern of :data:`PATTERN_COLLECTIONS` is not among ``patterns``.
        """
        missing = sorted(set(PATTERN_COLLECTIONS) - set(patterns))
        if missing:
            raise CatalogError(f"path patterns {', '.join(missing)} missing; cannot tell collections apart")
        out: dict[str, tuple[str, ...]] = {}
        for name, cid in PATTERN_COLLECTIONS.items():
            out[cid] = (*out.get(cid, ()), patterns[name])
        return cls(out)

    def collection_of(self, item_path: Path) -> str | None:
        """The collection whose pattern ``item_path`` ends with, or None."""
        posix = Path(item_path).as_posix()
        for cid, rx in self._regexes:
            if rx.search(posix):
                return cid
        return None

    def infer_collection(self, item: Mapping[str, Any], item_path: Path) -> str:
        """The item's ``collection`` field, or the collection its path shows.

        Raises:
            CatalogError: neither gives one of the known collections.
        """
        cid = item.get("collection") or self.collection_of(item_path)
        if cid not in ext.COLLECTIONS:
            raise CatalogError(
                f"{item_path}: item {item.get('id')!r} has no known collection ({cid!r}); expected a "
                f"path like {', '.join(sorted(p for ps in self.patterns.values() for p in ps))} below the root, "
                f"or a 'collection' field naming one of {', '.join(ext.COLLECTIONS)}"
            )
        return str(cid)
