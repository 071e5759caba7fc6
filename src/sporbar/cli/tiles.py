"""``sporbar tiles``: list the grid tiles covering the configured area."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("tiles")
@config_option
def tiles(config_path: Path) -> None:
    """Print one grid tile id per line for the area in the config.

    \b
      $ sporbar tiles -c config/config.yaml
      E268800N7029760
    """
    for t in load_config(config_path).tiles:
        click.echo(t)
