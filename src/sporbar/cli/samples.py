"""``sporbar samples``: label polygons + tile features -> training samples item."""

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

_item = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("samples")
@config_option
@click.option(
    "--labels",
    "labels",
    required=True,
    type=_item,
    help="Labels item (raw/labels/<area>/item.json).",
)
@click.option(
    "--ard",
    "ard",
    required=True,
    multiple=True,
    type=_item,
    help="ARD item of a tile (repeat per tile).",
)
@click.option(
    "--lidar",
    "lidar",
    required=True,
    multiple=True,
    type=_item,
    help="Lidar products item of a tile (repeat per tile).",
)
@output_item_option
@overwrite_option
@click.pass_context
def samples(
    ctx: click.Context,
    config_path: Path,
    labels: Path,
    ard: tuple[Path, ...],
    lidar: tuple[Path, ...],
    output: Path,
    overwrite: bool,
) -> None:
    """Sample labelled pixels (stratified, seeded) with their features, blocks and folds.

    \b
      $ sporbar samples -c config/config.yaml --labels results/raw/labels/demo-gauldal/item.json \\
          --ard results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          --lidar results/lidar/products/E268800N7029760/item.json \\
          -o results/training/demo-gauldal/item.json
    """
    from sporbar.training.run import run_samples

    d = run_samples(
        load_config(config_path),
        labels_item=labels,
        ard_items=list(ard),
        lidar_items=list(lidar),
        output=output,
        overwrite=overwrite,
        rule=rule_name(ctx),
    )
    click.echo(
        f"{output}: {d['properties']['table:row_count']} samples, "
        f"classes {d['properties']['sporbar:class_counts']}"
    )
