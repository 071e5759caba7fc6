"""``sporbar lidar``: raw LAZ items -> DTM, DSM, CHM and density COGs on a grid tile."""

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


@click.command("lidar")
@config_option
@tile_or_block_options
@overwrite_option
@click.argument("laz", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def lidar(
    ctx: click.Context,
    config_path: Path,
    tile: str | None,
    laz: tuple[Path, ...],
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    overwrite: bool,
) -> None:
    """Grid the points of the LAZ items (raw/lidar/<lidar_tile>/item.json) onto a tile.

    With --block, LAZ are the lidar fetch's job manifests (jobs/fetch_lidar/<block>.json); each
    tile of the block takes the delivered tiles that overlap it.

    Writes DTM, DSM, CHM and point density (COG float32, NaN nodata) and the item.

    \b
      $ sporbar lidar -c config/config.yaml --tile E268800N7029760 \\
          -o results/lidar/products/E268800N7029760/item.json \\
          results/raw/lidar/lidar_268000_7029000/item.json \\
          results/raw/lidar/lidar_269000_7029000/item.json
    """
    from sporbar.lidar.run import run_lidar

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)

    def work(t: str, out: Path, laz_items: list[Path]) -> None:
        d = run_lidar(cfg, t, laz_items, out, ctx=run, overwrite=overwrite or block is not None)
        click.echo(f"{out}: {d['properties']['sporbar:point_count']} points gridded")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow import plan
        from sporbar.workflow.blocks import expand_items, run_tile_block

        fetched = {p.resolve() for p in expand_items(laz)}
        jobs = plan.Plan(cfg)

        def tile_work(t: str, out: Path) -> None:
            items = [plan.path(cfg, "raw_lidar", lidar_tile=lt) for lt in jobs.lidar_tiles_for(t)]
            missing = [str(p) for p in items if p.resolve() not in fetched]
            if missing:
                raise click.UsageError(f"tile {t}: lidar item(s) {', '.join(missing[:3])} are in none of the "
                                       f"manifests {', '.join(map(str, laz))}")
            work(t, out, items)

        run_tile_block(cfg, stage="lidar", item="lidar_products", block=b, manifest=m, inputs=laz, work=tile_work)

    tile_or_block(cfg, tile, output, block, manifest, work=lambda t, out: work(t, out, list(laz)),
                  block_work=block_work)
