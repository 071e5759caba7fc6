"""``sporbar tiles``: list the grid tiles (or job blocks) covering the configured area."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("tiles")
@config_option
@click.option("--blocks", "show_blocks", is_flag=True, default=False,
              help="Print the job blocks instead: block id, then its tiles (`job_block` in the config).")
def tiles(config_path: Path, show_blocks: bool) -> None:
    """Print one grid tile id per line for the area in the config.

    \b
      $ sporbar tiles -c config/config.yaml
      E268800N7029760
      $ sporbar tiles -c config/config.yaml --blocks    # one job per block
      E268800N7029760 E268800N7029760
    """
    cfg = load_config(config_path)
    if not show_blocks:
        for t in cfg.tiles:
            click.echo(t)
        return
    from sporbar.workflow.plan import Plan

    jobs = Plan(cfg)
    for b in jobs.blocks:
        click.echo(" ".join([b, *jobs.block_tiles(b)]))
