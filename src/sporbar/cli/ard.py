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
) -> None:
    """Build the analysis-ready data of TILE from the SCENES (raw Sentinel-2 item.json files).

    Reprojects the scenes onto TILE, masks clouds (SCL), writes the cube (Zarr) and per-period
    median composites with NDVI/NDMI and clear counts (COG), then the item.

    \b
      $ sporbar ard -c config/config.yaml --tile E268800N7029760 \\
          -o results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          results/raw/sentinel-2-l2a/*/item.json
      $ sporbar ard -c config/config.yaml --block E268800N7029760 \\
          --manifest results/jobs/ard/E268800N7029760.json \\
          results/raw/sentinel-2-l2a/*/item.json     # every tile of a job block
    """
    from sporbar.ard.run import make_ard

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)

    def work(t: str, out: Path) -> None:
        item = make_ard(cfg, t, list(scenes), out, ctx=run, overwrite=overwrite or block is not None)
        click.echo(f"{out}: {item['id']} ({len(scenes)} scene(s), assets {', '.join(sorted(item['assets']))})")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow.blocks import run_tile_block

        run_tile_block(cfg, stage="ard", item="ard", block=b, manifest=m, inputs=scenes, work=work)

    tile_or_block(cfg, tile, output, block, manifest, work=work, block_work=block_work, dask=True)
