"""``sporbar fetch s2``: copy one Sentinel-2 L2A product into raw/ and record its raw item."""

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


@click.command("s2")
@config_option
@click.option(
    "--source-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The demo source folder (written by `sporbar demo generate`).",
)
@click.option("--scene", required=True, help="SAFE product name, without .SAFE.")
@output_item_option
@overwrite_option
@click.pass_context
def fetch_s2(
    ctx: click.Context,
    config_path: Path,
    source_dir: Path,
    scene: str,
    output: Path,
    overwrite: bool,
) -> None:
    """Copy SCENE's SAFE folder beside the output item and write the raw STAC item.

    \b
      $ sporbar fetch s2 -c config/config.yaml --source-dir results/demo-source \\
          --scene S2A_MSIL2A_20240528T104031_N0510_R094_T32VNR_20240528T130000 \\
          -o results/raw/sentinel-2-l2a/S2A_MSIL2A_20240528T1040..._20240528T130000/item.json
    """
    from sporbar.fetch.demo_s2 import fetch_scene

    item = fetch_scene(
        load_config(config_path),
        source_dir,
        scene,
        output,
        overwrite=overwrite,
        rule=rule_name(ctx),
    )
    click.echo(
        f"{output}: {item['id']} ({len(item['assets'])} assets, "
        f"cloud {item['properties']['eo:cloud_cover']:.1f}%)"
    )
