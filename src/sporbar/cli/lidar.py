"""``sporbar lidar``: raw LAZ items -> DTM, DSM, CHM and density COGs on a grid tile."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    output_item_option,
    overwrite_option,
    rule_name,
    tile_option,
)


@click.command("lidar")
@config_option
@tile_option
@output_item_option
@overwrite_option
@click.argument("laz", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def lidar(
    ctx: click.Context,
    config_path: Path,
    tile: str,
    laz: tuple[Path, ...],
    output: Path,
    overwrite: bool,
) -> None:
    """Grid the points of the LAZ items (raw/lidar/<lidar_tile>/item.json) onto a tile.

    Writes DTM, DSM, CHM and point density (COG float32, NaN nodata) and the item.

    \b
      $ sporbar lidar -c config/config.yaml --tile E268800N7029760 \\
          -o results/lidar/products/E268800N7029760/item.json \\
          results/raw/lidar/lidar_268000_7029000/item.json \\
          results/raw/lidar/lidar_269000_7029000/item.json
    """
    from sporbar.lidar.run import run_lidar

    d = run_lidar(
        load_config(config_path), tile, list(laz), output, overwrite=overwrite, rule=rule_name(ctx)
    )
    click.echo(f"{output}: {d['properties']['sporbar:point_count']} points gridded")
