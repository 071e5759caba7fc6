"""``sporbar fetch s2``: copy one Sentinel-2 L2A product into raw/ and record its raw item."""

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


@click.command("s2")
@config_option
@click.option(
    "--source",
    "source",
    type=click.Choice(["demo", "dhus", "stac_api", "local"]),
    default=None,
    help="Where from (default: sources.sentinel2.source of the config).",
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
    help="Search result of `sporbar search s2` (default: <root>/raw/sentinel-2-l2a/search.json).",
)
@click.option("--scene", required=True, help="SAFE product name, without .SAFE.")
@output_item_option
@overwrite_option
@click.pass_context
def fetch_s2(
    ctx: click.Context,
    config_path: Path,
    source: str | None,
    source_dir: Path | None,
    search_json: Path | None,
    scene: str,
    output: Path,
    overwrite: bool,
) -> None:
    """Copy SCENE's SAFE folder beside the output item and write the raw STAC item.

    \b
      $ sporbar fetch s2 -c config/config.yaml --source-dir results/demo-source \\
          --scene S2A_MSIL2A_20240528T104031_N0510_R094_T32VNR_20240528T130000 \\
          -o results/raw/sentinel-2-l2a/S2A_MSIL2A_20240528T1040..._20240528T130000/item.json

    Real sources fetch a scene listed by `sporbar search s2` (credentials from env vars
    or ~/.netrc, never from the config):

    \b
      $ sporbar fetch s2 -c config/myarea.yaml --source dhus --scene S2B_MSIL2A_... \\
          -o results/raw/sentinel-2-l2a/S2B_MSIL2A_.../item.json
    """
    from sporbar.fetch.registry import source as configured_source
    from sporbar.workflow import plan

    cfg = load_config(config_path)
    src = configured_source(cfg, "sentinel2", source)
    listing = src.listing(search_json=search_json or plan.path(cfg, "s2_search"), source_dir=source_dir)
    item = src.fetch(run_context(ctx, cfg), cfg, listing.entry(scene), output, query=listing.query,
                     overwrite=overwrite)
    cloud = item["properties"].get("eo:cloud_cover")  # absent on Sentinel-1 (radar) items
    click.echo(
        f"{output}: {item['id']} ({len(item['assets'])} assets"
        + (f", cloud {cloud:.1f}%)" if cloud is not None else ")")
    )
