"""What a source of raw data is: the :class:`Source` value every source module exports.

A source serves one mission (a ``sources`` section of the config: ``sentinel2``,
``sentinel1``, ``lidar``) from one kind of place (``dhus``, ``stac_api``, ``local``,
``urls``, ``demo``). It has the same shape everywhere: ``search(cfg)`` finds what it has
for the config's area and dates, and ``fetch(ctx, cfg, entry, item_path, ...)`` brings
one found scene into ``raw/`` and records its raw item. :mod:`sporbar.fetch.registry`
says which module serves which (mission, kind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sporbar.config import Config
from sporbar.errors import ConfigError
from sporbar.fetch.search import Found, Listing, read_listing
from sporbar.stac.record import RunContext


class FetchFn(Protocol):
    """Fetch one listed scene beside ``item_path`` and record its raw item; return the item as written."""

    def __call__(
        self,
        ctx: RunContext,
        cfg: Config,
        entry: dict[str, Any],
        item_path: Path,
        *,
        query: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Fetch ``entry`` (one scene of the search result ``query``) and write its item to ``item_path``."""
        ...


@dataclass(frozen=True)
class Source:
    """One source of one mission.

    Attributes:
        mission: the config section it serves (``sentinel2``, ``sentinel1``, ``lidar``).
        kind: where from (``dhus``, ``stac_api``, ``local``, ``urls``, ``demo``).
        search: finds the scenes for the config (None: the demo archive, which lists itself).
        fetch: fetches one listed scene and records its raw item.
        demo_listing: for the demo source, the listing of a demo archive folder.
    """

    mission: str
    kind: str
    search: Callable[[Config], Found] | None
    fetch: FetchFn
    demo_listing: Callable[[Path], Listing] | None = None

    def listing(self, *, search_json: Path | None = None, source_dir: Path | None = None) -> Listing:
        """What this source offers to fetch: the demo archive's index, or the search result file.

        Raises:
            ConfigError: the demo source without ``source_dir``, another without ``search_json``.
            MissingInputError: the search result (or the demo archive) is missing.
        """
        if self.demo_listing is not None:
            if source_dir is None:
                raise ConfigError(f"sources.{self.mission}.source is 'demo': give the demo source folder")
            return self.demo_listing(source_dir)
        if search_json is None:
            raise ConfigError(f"sources.{self.mission}.source is {self.kind!r}: give its search result (--search)")
        return read_listing(search_json)
