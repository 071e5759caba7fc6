"""``sporbar samples``: label polygons + tile features -> training samples item."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config, run_context, version_manifest_option

_item = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("samples")
@config_option
@version_manifest_option
@click.option("--all-tiles", is_flag=True, default=False,
              help="Take the labels item and the ARD and lidar items of every tile of the config's area "
              "(their standard paths), instead of INPUTS.")
@click.argument("inputs", nargs=-1, type=_item)
@click.pass_context
def samples(
    ctx: click.Context,
    config_path: Path,
    manifest: Path | None,
    all_tiles: bool,
    inputs: tuple[Path, ...],
) -> None:
    """Sample labelled pixels (stratified, seeded) with their features, blocks and folds.

    INPUTS are the labels item and the ARD and lidar products (and Sentinel-1 ARD) items of every tile, in
    any order (each is recognised by its assets); job manifests stand for the items they list.
    --all-tiles takes them from the config instead (the workflow does: 10,000 paths would not
    fit on one command line). The training set is a version named by the hash of its samples:
    results/training/<area>/<version>/item.json (an unchanged one is kept, not rewritten).

    \b
      $ sporbar samples -c config/config.yaml \\
          results/raw/labels/demo-gauldal/item.json \\
          results/ard/sentinel-2-l2a/*/item.json results/lidar/products/*/item.json
      $ sporbar samples -c config/config.yaml --all-tiles --manifest results/jobs/samples/demo-gauldal.json
    """
    from sporbar.bands import s1_enabled
    from sporbar.stac.versions import version_path
    from sporbar.training.run import run_samples, split_inputs
    from sporbar.workflow import plan
    from sporbar.workflow.blocks import expand_items, write_item_manifest

    cfg = load_config(config_path)
    if all_tiles == bool(inputs):
        raise click.UsageError("give INPUTS or --all-tiles (one of them)")
    if all_tiles:
        labels = plan.path(cfg, "raw_labels", area=cfg.data["area"]["name"])
        ard = [plan.path(cfg, "ard", tile=t) for t in cfg.tiles]
        lidar = [plan.path(cfg, "lidar_products", tile=t) for t in cfg.tiles]
        s1 = [plan.path(cfg, "s1_ard", tile=t) for t in cfg.tiles] if s1_enabled(cfg.data) else []
    else:
        labels, ard, lidar, s1 = split_inputs(expand_items(inputs))
    area = cfg.data["area"]["name"]
    series = plan.series_dir(cfg, "training", area=area)
    d = run_samples(
        cfg,
        labels_item=labels,
        ard_items=list(ard),
        lidar_items=list(lidar),
        s1_items=list(s1),
        series_dir=series,
        ctx=run_context(ctx, cfg),
    )
    output = version_path(series, d["properties"]["version"])
    if manifest is not None:
        write_item_manifest(manifest, stage="samples", unit=area, item=output)
    click.echo(
        f"{output}: {d['id']}, {d['properties']['table:row_count']} samples, "
        f"classes {d['properties']['sporbar:class_counts']}"
    )
