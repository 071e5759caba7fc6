"""``sporbar predict``: a model + one tile's features -> class map and confidence."""

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

_item = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("predict")
@config_option
@tile_option
@click.option(
    "--model",
    "model_item",
    required=True,
    type=_item,
    help="Model item (models/<model>/item.json).",
)
@click.option("--ard", "ard", required=True, type=_item, help="ARD item of the tile.")
@click.option(
    "--lidar", "lidar", required=True, type=_item, help="Lidar products item of the tile."
)
@output_item_option
@overwrite_option
@click.pass_context
def predict(
    ctx: click.Context,
    config_path: Path,
    tile: str,
    model_item: Path,
    ard: Path,
    lidar: Path,
    output: Path,
    overwrite: bool,
) -> None:
    """Classify every pixel of a tile; write classes.tif, confidence.tif and the map item.

    \b
      $ sporbar predict -c config/config.yaml --tile E268800N7029760 \\
          --model results/models/rf/item.json \\
          --ard results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          --lidar results/lidar/products/E268800N7029760/item.json \\
          -o results/maps/land-ecology/E268800N7029760/item.json
    """
    from sporbar.ml.run import run_predict

    run_predict(
        load_config(config_path),
        tile=tile,
        model_item_path=model_item,
        ard_item=ard,
        lidar_item=lidar,
        output=output,
        overwrite=overwrite,
        rule=rule_name(ctx),
    )
    click.echo(f"{output}: classes.tif, confidence.tif")
