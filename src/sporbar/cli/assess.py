"""``sporbar assess``: a labelled validation sample + the map -> area-adjusted accuracy and areas."""

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


@click.command("assess")
@config_option
@output_item_option
@overwrite_option
@all_tiles_maps_option
@click.option("--reference", "reference", required=True,
              help="The sample GeoPackage with its 'reference' column filled in, or 'demo' (the demo's "
              "synthetic truth labels the --sample item).")
@click.option("--sample", "sample_item", type=_item, default=None,
              help="The validation sample item (accuracy/<product>/sample/item.json); needed with "
              "--reference demo, recorded as an input otherwise.")
@click.argument("maps", nargs=-1, type=_item)
@click.pass_context
def assess(
    ctx: click.Context,
    config_path: Path,
    output: Path,
    overwrite: bool,
    all_tiles: bool,
    reference: str,
    sample_item: Path | None,
    maps: tuple[Path, ...],
) -> None:
    """Estimate the map's accuracy and class areas from its labelled validation sample.

    Olofsson et al. (2014): the error matrix in estimated area proportions, user's, producer's
    and overall accuracy, and the area of each class in hectares, each with a 95 % confidence
    interval. Every point must have a reference label that is a class name of classes[], lie on
    the map and on a classified pixel of the class it was drawn from; otherwise nothing is
    written. Writes accuracy.json and sample.gpkg (the labelled sample) beside the item.

    \b
      # interpreters filled in 'reference' of the sample `sporbar validation-sample` wrote:
      $ sporbar assess -c config/config.yaml --all-tiles --reference interpreted.gpkg \\
          --sample results/accuracy/land-ecology/sample/item.json \\
          -o results/accuracy/land-ecology/assessment/item.json
      # the demo: reference labels from the synthetic landscape
      $ sporbar assess -c config/config.yaml --all-tiles --reference demo \\
          --sample results/accuracy/land-ecology/sample/item.json \\
          -o results/accuracy/land-ecology/assessment/item.json
    """
    from sporbar.accuracy.run import run_assess

    cfg = load_config(config_path)
    items = map_items(cfg, maps, all_tiles)
    run = run_context(ctx, cfg)
    if reference == "demo":
        from sporbar.demo.truth import demo_truth

        if sample_item is None:
            raise click.UsageError("--reference demo labels the --sample item: give --sample")
        d = run_assess(cfg, map_items=items, output=output, ctx=run, sample_item=sample_item,
                       labeller=demo_truth(cfg), overwrite=overwrite)
    else:
        d = run_assess(cfg, map_items=items, output=output, ctx=run, reference=Path(reference),
                       sample_item=sample_item, overwrite=overwrite)
    acc = d["properties"]["sporbar:accuracy"]
    o = acc["overall_accuracy"]
    click.echo(f"{output}: overall accuracy {o['estimate']:.3f} +- {o['ci95']:.3f} (95 % CI), "
               f"{acc['sample_size']} points")
    for name, c in acc["classes"].items():
        a = c["area_ha"]
        click.echo(f"  {name}: {a['estimate']:.1f} +- {a['ci95']:.1f} ha (mapped {c['mapped_area_ha']:.1f} ha)")
