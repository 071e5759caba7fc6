"""Which module serves each source of raw data, and the configured choice.

Every (mission, kind) pair of the config's ``sources`` section maps to the
:class:`~sporbar.fetch.source.Source` a module exports; modules are imported on first
use, so a command loads only the source it runs. The CLI asks :func:`source` for the
configured one (or the one named by ``--source``) and calls its ``search``/``fetch``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sporbar.config import Config
from sporbar.errors import ConfigError
from sporbar.fetch.source import Source

# (mission, kind) -> "module:attribute" under sporbar.fetch
SOURCES: dict[tuple[str, str], str] = {
    ("sentinel2", "demo"): "demo_s2:SOURCE",
    ("sentinel2", "dhus"): "dhus:S2_SOURCE",
    ("sentinel2", "stac_api"): "s2_stac_api:SOURCE",
    ("sentinel2", "local"): "local:S2_SOURCE",
    ("sentinel1", "demo"): "demo_s1:SOURCE",
    ("sentinel1", "dhus"): "dhus:S1_SOURCE",
    ("sentinel1", "stac_api"): "s1_stac_api:SOURCE",
    ("sentinel1", "local"): "local:S1_SOURCE",
    ("lidar", "demo"): "demo_lidar:SOURCE",
    ("lidar", "local"): "lidar_local:SOURCE",
    ("lidar", "urls"): "lidar_urls:SOURCE",
    ("lidar", "stac_api"): "lidar_stac_api:SOURCE",
}


def configured(cfg: Config, mission: str) -> str:
    """The kind of ``sources.<mission>.source`` (``none`` where the section is absent)."""
    return str((cfg.data["sources"].get(mission) or {}).get("source", "none"))


def source(cfg: Config, mission: str, kind: str | None = None) -> Source:
    """The source of ``mission``: ``kind``, else the configured one.

    Raises:
        ConfigError: no source of that kind serves the mission (names the ones that do).
    """
    kind = kind or configured(cfg, mission)
    spec = SOURCES.get((mission, kind))
    if spec is None:
        kinds = ", ".join(k for m, k in SOURCES if m == mission)
        raise ConfigError(
            f"{cfg.source}: key sources/{mission}/source is {kind!r}: set it to one of {kinds} to fetch {mission} data"
        )
    module, attr = spec.split(":")
    src: Source = getattr(importlib.import_module(f"sporbar.fetch.{module}"), attr)
    return src


def search(cfg: Config, mission: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """Search the configured source of ``mission``; return (source kind, query, scenes).

    Raises:
        ConfigError: no source is configured, or it is the demo source (which needs no search).
        NothingFoundError: nothing matches (names AOI, dates and filters).
        AuthError / DownloadError: the source refused or failed.
    """
    src = source(cfg, mission)
    if src.search is None:
        raise ConfigError(f"{cfg.source}: sources.{mission}.source is {src.kind!r}: the demo source needs no search")
    query, scenes = src.search(cfg)
    return src.kind, query, scenes
