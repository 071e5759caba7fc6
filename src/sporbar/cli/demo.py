"""``sporbar demo``: the embedded synthetic demo area."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.group("demo")
def demo() -> None:
    """The embedded demo area: synthetic data in the real delivery formats."""


@demo.command("generate")
@config_option
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the demo source into (index.json is written last).",
)
def generate(config_path: Path, out_dir: Path) -> None:
    """Generate the demo source for the config's area. Same seed, same bytes.

    Sentinel-2 L2A SAFE folders (JP2 bands, MTD_MSIL2A.xml, MTD_TL.xml, SCL with clouds and
    shadows), LAZ lidar tiles and label polygons (GeoPackage).

    \b
      $ sporbar demo generate -c config/config.yaml -o results/demo-source
    """
    from sporbar.demo.generate import generate as run

    index = run(load_config(config_path), out_dir)
    click.echo(
        f"{out_dir}: {len(index['sentinel2'])} Sentinel-2 scenes, {len(index['lidar'])} LAZ tiles, "
        f"labels {index['labels']['path']}"
    )
