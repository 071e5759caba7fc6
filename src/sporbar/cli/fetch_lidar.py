"""``sporbar fetch lidar``: one delivered LAZ tile -> ``raw/lidar/<lidar_tile>/item.json``."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    output_item_option,
    overwrite_option,
    rule_name,
)


@click.command("lidar")
@config_option
@click.option(
    "--source-dir",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The demo source folder (from `sporbar demo generate`).",
)
@click.option("--lidar-tile", required=True, help="Delivered lidar tile id, lidar_<x0>_<y0>.")
@output_item_option
@overwrite_option
@click.pass_context
def fetch_lidar(
    ctx: click.Context,
    config_path: Path,
    source_dir: Path,
    lidar_tile: str,
    output: Path,
    overwrite: bool,
) -> None:
    """Copy a LAZ tile into the item folder, check its CRS, record a lidar-raw item.

    \b
      $ sporbar fetch lidar -c config/config.yaml --source-dir results/demo-source \\
          --lidar-tile lidar_268000_7029000 -o results/raw/lidar/lidar_268000_7029000/item.json
    """
    from sporbar.fetch.demo_lidar import fetch_lidar as run

    d = run(
        load_config(config_path),
        source_dir,
        lidar_tile,
        output,
        overwrite=overwrite,
        rule=rule_name(ctx),
    )
    click.echo(f"{output}: {d['properties']['pc:count']} points")
