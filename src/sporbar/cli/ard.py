"""``sporbar ard``: cloud-masked cube and per-period composites of one grid tile."""

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


@click.command("ard")
@config_option
@tile_option
@output_item_option
@overwrite_option
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def ard(
    ctx: click.Context,
    config_path: Path,
    tile: str,
    scenes: tuple[Path, ...],
    output: Path,
    overwrite: bool,
) -> None:
    """Reproject the SCENES (raw Sentinel-2 item.json files) onto TILE, mask clouds (SCL), write the cube (Zarr) and
    per-period median composites with NDVI/NDMI and clear counts (COG), then the item.

    \b
      $ sporbar ard -c config/config.yaml --tile E268800N7029760 \\
          -o results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          results/raw/sentinel-2-l2a/*/item.json
    """
    from sporbar.ard.run import make_ard

    item = make_ard(
        load_config(config_path),
        tile,
        list(scenes),
        output,
        overwrite=overwrite,
        rule=rule_name(ctx),
    )
    click.echo(
        f"{output}: {item['id']} ({len(scenes)} scene(s), "
        f"assets {', '.join(sorted(item['assets']))})"
    )
