"""``sporbar publish``: build the static STAC catalog of a run."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("publish")
@config_option
@click.argument("positional", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--item",
    "items",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="An item.json to publish (repeatable); its ancestors are added too.",
)
@click.option(
    "--items-from",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A text file with one item.json path per line.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The root catalog.json; its folder is replaced as a whole.",
)
def publish(
    config_path: Path,
    positional: tuple[Path, ...],
    items: tuple[Path, ...],
    items_from: Path | None,
    output: Path,
) -> None:
    """Copy the items (arguments, --item, --items-from) and their ancestors into a static catalog.

    Asset hrefs point back at the data where it lies; nothing is moved.

    \b
      $ sporbar publish -c config/config.yaml -o results/catalog/catalog.json \\
          --item results/maps/land-ecology/E268800N7029760/item.json
    """
    from sporbar.stac.catalog import build_catalog

    paths = [*positional, *items]
    if items_from:
        lines = items_from.read_text(encoding="utf-8").splitlines()
        paths += [Path(s.strip()) for s in lines if s.strip() and not s.lstrip().startswith("#")]
    if not paths:
        raise click.UsageError("give at least one --item or --items-from")
    summary = build_catalog(paths, output, cfg=load_config(config_path))
    for line in summary.lines():
        click.echo(line)
