"""``sporbar predict``: a model + one tile's features -> class map and confidence."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    overwrite_option,
    run_context,
    tile_or_block,
    tile_or_block_options,
)

_item = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("predict")
@config_option
@tile_or_block_options
@click.option(
    "--model",
    "model_item",
    required=True,
    type=_item,
    help="Model item (models/<model>/<version>/item.json), or the train job manifest listing it.",
)
@click.option("--ard", "ard", required=True, type=_item,
              help="ARD item of the tile (with --block: the ARD job manifest of the block).")
@click.option("--lidar", "lidar", required=True, type=_item,
              help="Lidar products item of the tile (with --block: its job manifest).")
@click.option("--s1", "s1", default=None, type=_item,
              help="Sentinel-1 ARD item of the tile (with --block: its job manifest); with sources.sentinel1 on.")
@overwrite_option
@click.pass_context
def predict(
    ctx: click.Context,
    config_path: Path,
    tile: str | None,
    model_item: Path,
    ard: Path,
    lidar: Path,
    s1: Path | None,
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    overwrite: bool,
) -> None:
    """Classify every pixel of a tile; write classes.tif, confidence.tif, margin.tif and the map item.

    \b
      $ sporbar predict -c config/config.yaml --tile E268800N7029760 \\
          --model results/jobs/train/rf.json \\
          --ard results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          --lidar results/lidar/products/E268800N7029760/item.json \\
          -o results/maps/land-ecology/E268800N7029760/item.json
    """
    from sporbar.ml.run_predict import run_predict
    from sporbar.workflow.blocks import expand_items

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)
    model_manifest = model_item
    # maps are derived_from the model version itself, never a manifest that a retraining rewrites
    [model_item] = expand_items([model_item])

    def work(t: str, out: Path, ard_item: Path, lidar_item: Path, s1_item: Path | None) -> None:
        run_predict(cfg, tile=t, model_item_path=model_item, ard_item=ard_item, lidar_item=lidar_item,
                    s1_item=s1_item, output=out, ctx=run, overwrite=overwrite or block is not None)
        click.echo(f"{out}: classes.tif, confidence.tif, margin.tif")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow import plan
        from sporbar.workflow.blocks import manifest_items, run_tile_block

        made = {p.resolve() for p in (*manifest_items(ard), *manifest_items(lidar),
                                      *(manifest_items(s1) if s1 else []))}

        def tile_work(t: str, out: Path) -> None:
            a, li = plan.path(cfg, "ard", tile=t), plan.path(cfg, "lidar_products", tile=t)
            s = plan.path(cfg, "s1_ard", tile=t) if s1 else None
            for p, listed_in in ((a, ard), (li, lidar), (s, s1)):
                if p is not None and p.resolve() not in made:
                    raise click.UsageError(f"tile {t}: {p} is not listed in the manifest {listed_in}")
            work(t, out, a, li, s)

        inputs = [model_manifest, ard, lidar, *([s1] if s1 else [])]
        run_tile_block(cfg, stage="predict", item="map", block=b, manifest=m, inputs=inputs,
                       work=tile_work, product=cfg.data["map"]["product"])

    tile_or_block(cfg, tile, output, block, manifest, work=lambda t, out: work(t, out, ard, lidar, s1),
                  block_work=block_work, dask=True)
