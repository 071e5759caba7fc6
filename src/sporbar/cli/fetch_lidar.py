"""``sporbar fetch lidar``: delivered LAZ tiles -> ``raw/lidar/<lidar_tile>/item.json``.

One tile (``--lidar-tile`` to ``-o``), or every delivered tile a job block owns (``--block``
with ``--manifest``; see sporbar.workflow.blocks).
"""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    block_options,
    config_option,
    load_config,
    optional_output_option,
    overwrite_option,
    run_context,
    tile_or_block,
)


@click.command("lidar")
@config_option
@click.option(
    "--source",
    "source",
    type=click.Choice(["demo", "stac_api", "urls", "local"]),
    default=None,
    help="Where from (default: sources.lidar.source of the config).",
)
@click.option(
    "--source-dir",
    required=False,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The demo source folder (from `sporbar demo generate`); demo source only.",
)
@click.option(
    "--search",
    "search_json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Search result of `sporbar search lidar` (default: <root>/raw/lidar/search.json).",
)
@click.option("--lidar-tile", default=None, help="Delivered lidar tile id, lidar_<x0>_<y0>.")
@optional_output_option
@block_options
@overwrite_option
@click.pass_context
def fetch_lidar(
    ctx: click.Context,
    config_path: Path,
    source: str | None,
    source_dir: Path | None,
    search_json: Path | None,
    lidar_tile: str | None,
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    overwrite: bool,
) -> None:
    """Copy a LAZ tile into the item folder, check its CRS, record a lidar-raw item.

    \b
      $ sporbar fetch lidar -c config/config.yaml --source-dir results/demo-source \\
          --lidar-tile lidar_268000_7029000 -o results/raw/lidar/lidar_268000_7029000/item.json
      $ sporbar fetch lidar -c config/config.yaml --source-dir results/demo-source \\
          --block E268800N7029760 --manifest results/jobs/fetch_lidar/E268800N7029760.json
    """
    from sporbar.fetch.registry import source as configured_source
    from sporbar.workflow import plan

    cfg = load_config(config_path)
    run = run_context(ctx, cfg)
    src = configured_source(cfg, "lidar", source)
    listing = src.listing(search_json=search_json or plan.path(cfg, "lidar_search"), source_dir=source_dir)

    def work(lt: str, out: Path) -> None:
        d = src.fetch(run, cfg, listing.entry(lt), out, query=listing.query, overwrite=overwrite or block is not None)
        click.echo(f"{out}: {d['properties']['pc:count']} points")

    def block_work(b: str, m: Path) -> None:
        from sporbar.workflow.blocks import run_block

        units = [(lt, plan.path(cfg, "raw_lidar", lidar_tile=lt)) for lt in plan.Plan(cfg).block_lidar_tiles(b)]
        run_block(block=b, stage="fetch_lidar", stage_hash=plan.stage_hash(cfg, "fetch_lidar"), manifest=m,
                  units=units, inputs=[p for p in (listing.path,) if p.is_file()], work=work)

    tile_or_block(cfg, lidar_tile, output, block, manifest, work=work, block_work=block_work)
