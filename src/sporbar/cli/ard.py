"""``sporbar ard``: cloud-masked cube and per-period composites of one grid tile."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    check_tile_or_block,
    config_option,
    load_config,
    overwrite_option,
    rule_name,
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
    """Reproject the SCENES (raw Sentinel-2 item.json files) onto TILE, mask clouds (SCL), write the cube (Zarr) and
    per-period median composites with NDVI/NDMI and clear counts (COG), then the item.

    \b
      $ sporbar ard -c config/config.yaml --tile E268800N7029760 \\
          -o results/ard/sentinel-2-l2a/E268800N7029760/item.json \\
          results/raw/sentinel-2-l2a/*/item.json
      $ sporbar ard -c config/config.yaml --block E268800N7029760 \\
          --manifest results/jobs/ard/E268800N7029760.json \\
          results/raw/sentinel-2-l2a/*/item.json     # every tile of a job block
    """
    from sporbar.ard.run import make_ard

    check_tile_or_block(tile, output, block, manifest)
    cfg = load_config(config_path)

    def work(t: str, out: Path) -> dict:
        item = make_ard(cfg, t, list(scenes), out, overwrite=overwrite or block is not None, rule=rule_name(ctx))
        click.echo(f"{out}: {item['id']} ({len(scenes)} scene(s), assets {', '.join(sorted(item['assets']))})")
        return item

    if block is None:
        assert tile is not None and output is not None  # check_tile_or_block guarantees these
        work(tile, output)
    else:
        assert manifest is not None  # check_tile_or_block guarantees these
        from sporbar.parallel import dask_client
        from sporbar.workflow.blocks import run_tile_block

        with dask_client(cfg):  # Dask on Slurm: one set of worker jobs for all tiles of the block
            run_tile_block(cfg, stage="ard", item="ard", block=block, manifest=manifest, inputs=scenes, work=work)
