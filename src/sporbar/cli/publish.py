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
    "--all",
    "all_items",
    is_flag=True,
    default=False,
    help="Every item the config's run writes (scenes, lidar tiles, tiles, models, maps).",
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
@click.option(
    "--to",
    "to",
    type=click.Choice(["static", "pgstac"]),
    default="static",
    show_default=True,
    help="static: write the catalog (the review copy). pgstac: also upsert it into PostgreSQL/pgstac "
    "(with no items given, load the existing catalog at -o); every collection must be approved "
    "for its current items first (sporbar approve).",
)
@click.option(
    "--dsn",
    default="",
    envvar="SPORBAR_PGSTAC_DSN",
    help="pgstac connection string for --to pgstac (default: the PG* environment variables).",
)
@click.option(
    "--asset-base-url",
    default=None,
    help="For --to pgstac: URL of the results root, e.g. /data/ as `sporbar serve` serves it "
    "(default: asset hrefs become absolute file paths).",
)
def publish(
    config_path: Path,
    positional: tuple[Path, ...],
    items: tuple[Path, ...],
    items_from: Path | None,
    all_items: bool,
    output: Path,
    to: str = "static",
    dsn: str = "",
    asset_base_url: str | None = None,
) -> None:
    """Copy the items (arguments, --item, --items-from) and their ancestors into a static catalog.

    Asset hrefs point back at the data where it lies; nothing is moved.

    \b
      $ sporbar publish -c config/config.yaml -o results/catalog/catalog.json \\
          --item results/maps/land-ecology/E268800N7029760/item.json
      $ sporbar publish -c config/config.yaml -o results/catalog/catalog.json --all
      $ eval "$(services/postgres.sh start)"
      $ sporbar approve --all --by "Kari Nordmann" -c config/config.yaml   # the data owner
      $ sporbar publish --to pgstac --asset-base-url /data/ -c config/config.yaml \\
          -o results/catalog/catalog.json     # loads the existing catalog (upsert)
    """
    from sporbar.stac.catalog import build_catalog
    from sporbar.stac.layout import ItemLayout
    from sporbar.workflow import plan
    from sporbar.workflow.blocks import expand_items

    cfg = load_config(config_path)
    paths = expand_items([*positional, *items])
    if all_items:
        paths += expand_items(plan.all_outputs(cfg))  # training sets and models: the versions made
    if items_from:
        lines = items_from.read_text(encoding="utf-8").splitlines()
        paths += [Path(s.strip()) for s in lines if s.strip() and not s.lstrip().startswith("#")]
    if not paths and to != "pgstac":
        raise click.UsageError("give at least one --item, --items-from or --all")
    if paths:
        summary = build_catalog(paths, output, cfg=cfg, layout=ItemLayout.from_patterns(plan.PATTERNS))
        for line in summary.lines():
            click.echo(line)
    if to == "pgstac":
        from sporbar.stac.approval import check_approved
        from sporbar.stac.pgstac import publish_to_pgstac

        check_approved(output, cfg.root)  # the STAC API is a public target: the data owner approves first
        loaded = publish_to_pgstac(
            output, dsn, data_root=cfg.root.resolve(), asset_base_url=asset_base_url
        )
        for line in loaded.lines():
            click.echo(line)
