"""``sporbar s1-ard``: raw Sentinel-1 GRD items -> calibrated, geocoded backscatter statistics on a grid tile."""

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


@click.command("s1-ard")
@config_option
@tile_or_block_options
@overwrite_option
@click.option("--dem", "dems", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The tile's lidar products item (its DTM is the DEM); with --block, the lidar products "
                   "job manifest(s). Needed when s1_ard.dem is 'lidar'.")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def s1_ard(
    ctx: click.Context,
    config_path: Path,
    tile: str | None,
    dems: tuple[Path, ...],
    scenes: tuple[Path, ...],
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    overwrite: bool,
) -> None:
    """Calibrate and geocode the SCENES (raw Sentinel-1 GRD item.json files) onto a tile.

    Per ard.periods: temporal mean and standard deviation of VV, VH and VH/VV in dB (COG),
    then the item (which records calibration, noise removal, terrain flattening, DEM, filter).

    \b
      $ sporbar s1-ard -c config/config.yaml --tile E268800N7029760 \\
          --dem results/lidar/products/E268800N7029760/item.json \\
          -o results/ard/sentinel-1-grd/E268800N7029760/item.json results/raw/sentinel-1-grd/*/item.json
    """
    from sporbar.s1ard.run import run_s1_ard

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)
    if block is None and len(dems) > 1:
        raise click.UsageError("give one --dem (the tile's lidar products item) with --tile")

    def work(t: str, out: Path, dem: Path | None) -> None:
        d = run_s1_ard(cfg, t, list(scenes), out, dem_item=dem, ctx=run, overwrite=overwrite or block is not None)
        click.echo(f"{out}: {d['id']} (scenes per period {d['properties']['sporbar:period_scenes']})")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow import plan
        from sporbar.workflow.blocks import expand_items, run_tile_block

        listed = {p.resolve() for p in expand_items(dems)}

        def tile_work(t: str, out: Path) -> None:
            dem = plan.path(cfg, "lidar_products", tile=t) if dems else None
            if dem is not None and dem.resolve() not in listed:
                raise click.UsageError(f"tile {t}: lidar products item {dem} is in none of the --dem manifests")
            work(t, out, dem)

        run_tile_block(cfg, stage="s1_ard", item="s1_ard", block=b, manifest=m, inputs=[*scenes, *dems],
                       work=tile_work)

    tile_or_block(cfg, tile, output, block, manifest, work=lambda t, out: work(t, out, dems[0] if dems else None),
                  block_work=block_work)
