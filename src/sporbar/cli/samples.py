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
@output_item_option
@overwrite_option
@click.argument("inputs", nargs=-1, required=True, type=_item)
@click.pass_context
def samples(
    ctx: click.Context,
    config_path: Path,
    output: Path,
    overwrite: bool,
    inputs: tuple[Path, ...],
) -> None:
    """Sample labelled pixels (stratified, seeded) with their features, blocks and folds.

    INPUTS are the labels item and the ARD and lidar products items of every tile, in
    any order (each is recognised by its assets).

    \b
      $ sporbar samples -c config/config.yaml -o results/training/demo-gauldal/item.json \\
          results/raw/labels/demo-gauldal/item.json \\
          results/ard/sentinel-2-l2a/*/item.json results/lidar/products/*/item.json
    """
    from sporbar.training.run import run_samples, split_inputs

    labels, ard, lidar = split_inputs(inputs)

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
