"""``sporbar fetch``: bring raw data into ``raw/`` and record a raw item for it."""

from __future__ import annotations

import importlib
from typing import cast

import click

# sub-command -> "module:attribute" under sporbar.cli
SOURCES = {
    "s2": "fetch_s2:fetch_s2",
    "s1": "fetch_s1:fetch_s1",
    "lidar": "fetch_lidar:fetch_lidar",
    "labels": "fetch_labels:fetch_labels",
}


class _LazyFetch(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SOURCES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SOURCES:
            return None
        module, attr = SOURCES[name].split(":")
        return cast(click.Command, getattr(importlib.import_module(f"sporbar.cli.{module}"), attr))


@click.group("fetch", cls=_LazyFetch)
def fetch() -> None:
    """Fetch raw data (Sentinel-2, Sentinel-1 GRD, lidar, labels) into raw/ with a STAC item each."""
