"""``sporbar fetch lidar``: one delivered LAZ tile -> ``raw/lidar/<lidar_tile>/item.json``."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    output_item_option,
    overwrite_option,
    rule_name,
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
@click.option("--lidar-tile", required=True, help="Delivered lidar tile id, lidar_<x0>_<y0>.")
@output_item_option
@overwrite_option
@click.pass_context
def fetch_lidar(
    ctx: click.Context,
    config_path: Path,
    source: str | None,
    source_dir: Path | None,
    search_json: Path | None,
    lidar_tile: str,
    output: Path,
    overwrite: bool,
) -> None:
    """Copy a LAZ tile into the item folder, check its CRS, record a lidar-raw item.

    \b
      $ sporbar fetch lidar -c config/config.yaml --source-dir results/demo-source \\
          --lidar-tile lidar_268000_7029000 -o results/raw/lidar/lidar_268000_7029000/item.json
    """
    cfg = load_config(config_path)
    kind = source or cfg.data["sources"]["lidar"]["source"]
    if kind == "demo":
        from sporbar.fetch.demo_lidar import fetch_lidar as run

        if source_dir is None:
            raise click.UsageError("--source-dir is required for the demo source")
        d = run(cfg, source_dir, lidar_tile, output, overwrite=overwrite, rule=rule_name(ctx))
    else:
        from sporbar.fetch.lidar_sources import fetch_tile
        from sporbar.fetch.search import read_search, scene_entry
        from sporbar.workflow import plan

        sj = search_json or plan.path(cfg, "lidar_search")
        d = fetch_tile(cfg, scene_entry(sj, lidar_tile), output, query=read_search(sj).get("query"),
                       overwrite=overwrite, rule=rule_name(ctx))
    click.echo(f"{output}: {d['properties']['pc:count']} points")
