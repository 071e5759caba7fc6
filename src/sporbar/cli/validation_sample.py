"""``sporbar validation-sample``: the map -> a stratified random sample for interpreters."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    all_tiles_maps_option,
    config_option,
    load_config,
    map_items,
    output_item_option,
    overwrite_option,
    run_context,
)

_item = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("validation-sample")
@config_option
@output_item_option
@overwrite_option
@all_tiles_maps_option
@click.argument("maps", nargs=-1, type=_item)
@click.pass_context
def validation_sample(
    ctx: click.Context, config_path: Path, output: Path, overwrite: bool, all_tiles: bool, maps: tuple[Path, ...]
) -> None:
    """Draw the validation sample of a class map: stratified random points, one per chosen pixel.

    The strata are the mapped classes (Olofsson et al. 2014). Points per class: accuracy.per_class,
    or the Cochran total for accuracy.target_standard_error of the overall accuracy shared out
    by mapped area with at least accuracy.min_per_class. Points sit at pixel centres; the same map
    and accuracy.seed give the same points. MAPS are the map items (or predict job manifests) of
    every tile; --all-tiles takes them from the config.

    Writes sample.gpkg beside the item (layer 'sample': sample_id, tile, row, col, x, y,
    map_value, map_class and an empty 'reference' column). Interpreters fill 'reference' with
    class names of classes[]; `sporbar assess --reference FILE` then reads it back.

    \b
      $ sporbar validation-sample -c config/config.yaml --all-tiles \\
          -o results/accuracy/land-ecology/sample/item.json
      $ sporbar validation-sample -c config/config.yaml -o sample/item.json \\
          results/maps/land-ecology/*/item.json
    """
    from sporbar.accuracy.run import run_validation_sample

    cfg = load_config(config_path)
    d = run_validation_sample(cfg, map_items=map_items(cfg, maps, all_tiles), output=output,
                              ctx=run_context(ctx, cfg), overwrite=overwrite)
    design = d["properties"]["sporbar:sample_design"]
    sizes = ", ".join(f"{s['class']} {s['sample_size']}" for s in design["strata"])
    click.echo(f"{output}: {design['sample_size']} points ({sizes}); fill column 'reference' of "
               f"{Path(output).parent / 'sample.gpkg'}")
