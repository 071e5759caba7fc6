"""``sporbar summary``: one screen about a finished run."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("summary")
@config_option
@click.option("--started", type=int, default=None, help="Unix time the run started (for wall time).")
def summary(config_path: Path, started: int | None) -> None:
    """Print where the catalog is, the tiles, items written and model accuracy.

    \b
      $ sporbar summary -c config/config.yaml
    """
    from sporbar.workflow.summary import run_summary

    click.echo(run_summary(load_config(config_path), started=started))
