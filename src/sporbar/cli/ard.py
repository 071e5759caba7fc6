"""``sporbar ard``: cloud-masked cube and per-period composites of one grid tile."""

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


@click.command("ard")
@config_option
@tile_or_block_options
@overwrite_option
@click.option("--lidar", "lidar", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Lidar products item of the tile (with --block: its job manifest): its DTM is the DEM "
                   "of the terrain correction. Without it, ard.terrain.dem.")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def ard(
    ctx: click.Context,
    config_path: Path,
    tile: str | None,
    scenes: tuple[Path, ...],
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    overwrite: bool,
    lidar: Path | None,
) -> None:
    """Build the analysis-ready data of TILE from the SCENES (raw Sentinel-2 item.json files).

    Reprojects the scenes onto TILE, corrects terrain illumination (with the DTM of --lidar or
    ard.terrain.dem) and view angle (BRDF), masks clouds (SCL), writes the cube (Zarr) and
    per-period median composites with indices and clear counts (COG), then the item.

    \b
      $ sporbar ard -c config/config.yaml --tile E268800N7029760 \\
          -o results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          --lidar results/lidar/products/E268800N7029760/item.json \\
          results/raw/sentinel-2-l2a/*/item.json
      $ sporbar ard -c config/config.yaml --block E268800N7029760 \\
          --manifest results/jobs/ard/E268800N7029760.json \\
          --lidar results/jobs/lidar_products/E268800N7029760.json \\
          results/raw/sentinel-2-l2a/*/item.json     # every tile of a job block
    """
    from sporbar.ard.run import make_ard

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)

    def work(t: str, out: Path, lidar_item: Path | None = lidar) -> None:
        item = make_ard(cfg, t, list(scenes), out, ctx=run, overwrite=overwrite or block is not None,
                        lidar_item=lidar_item)
        click.echo(f"{out}: {item['id']} ({len(scenes)} scene(s), assets {', '.join(sorted(item['assets']))})")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow import plan
        from sporbar.workflow.blocks import manifest_items, run_tile_block

        made = {p.resolve() for p in manifest_items(lidar)} if lidar is not None else set()

        def tile_work(t: str, out: Path) -> None:
            li = plan.path(cfg, "lidar_products", tile=t)
            work(t, out, li if li.resolve() in made else None)  # a tile without lidar: ard.terrain.dem

        run_tile_block(cfg, stage="ard", item="ard", block=b, manifest=m,
                       inputs=[*scenes, *([lidar] if lidar is not None else [])], work=tile_work)

    tile_or_block(cfg, tile, output, block, manifest, work=work, block_work=block_work, dask=True)
