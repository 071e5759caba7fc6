"""Options shared by several sub-commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sporbar.config import Config, load

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pipeline config YAML (validated against the config schema).",
)
optional_config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Pipeline config YAML (default: see the command's help).",
)
output_item_option = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path of the output STAC item (item.json); data files are written beside it.",
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace outputs that already exist."
)
tile_option = click.option(
    "-t", "--tile", required=True, help="Grid tile id, E<x>N<y> in metres (see `sporbar tiles`)."
)


def load_config(config_path: Path) -> Config:
    """Load and validate a config given on the command line."""
    return load(config_path)


def rule_name(ctx: click.Context) -> str | None:
    """The Snakemake rule name passed with the global --rule option, if any."""
    obj: dict[str, Any] = ctx.find_root().obj or {}
    return obj.get("rule")
