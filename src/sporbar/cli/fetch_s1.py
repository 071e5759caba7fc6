"""``sporbar fetch s1``: fetch one searched Sentinel-1 GRD product into raw/ and record its raw item."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    output_item_option,
    overwrite_option,
    run_context,
)


@click.command("s1")
@config_option
@click.option(
    "--source",
    "source",
    type=click.Choice(["demo", "dhus", "stac_api", "local"]),
    default=None,
    help="Where from (default: sources.sentinel1.source of the config).",
)
@click.option(
    "--source-dir",
    required=False,
    type=click.Path(file_okay=False, path_type=Path),
    help="The demo source folder (written by `sporbar demo generate`); demo source only.",
)
@click.option(
    "--search",
    "search_json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Search result of `sporbar search s1` (default: <root>/raw/sentinel-1-grd/search.json).",
)
@click.option("--scene", required=True, help="Sentinel-1 product name, without .SAFE.")
@output_item_option
@overwrite_option
@click.pass_context
def fetch_s1(
    ctx: click.Context,
    config_path: Path,
    source: str | None,
    source_dir: Path | None,
    search_json: Path | None,
    scene: str,
    output: Path,
    overwrite: bool,
) -> None:
    """Fetch SCENE (listed by `sporbar search s1`) beside the output item and write the raw STAC item.

    Credentials come from env vars or ~/.netrc, never from the config.

    \b
      $ sporbar search s1 -c config/myarea.yaml -o results/raw/sentinel-1-grd/search.json
      $ sporbar fetch s1 -c config/myarea.yaml --source dhus \\
          --scene S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8 \\
          -o results/raw/sentinel-1-grd/S1A_IW_GRDH_1SDV_20210809T173953_..._6FF8/item.json
    """
    from sporbar.fetch.registry import source as configured_source
    from sporbar.workflow import plan

    cfg = load_config(config_path)
    src = configured_source(cfg, "sentinel1", source)
    listing = src.listing(search_json=search_json or plan.path(cfg, "s1_search"), source_dir=source_dir)
    item = src.fetch(run_context(ctx, cfg), cfg, listing.entry(scene), output, query=listing.query,
                     overwrite=overwrite)
    p = item["properties"]
    click.echo(f"{output}: {item['id']} ({len(item['assets'])} assets, {p.get('sar:instrument_mode')} "
               f"{'+'.join(p.get('sar:polarizations', []))})")
