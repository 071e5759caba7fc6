"""``sporbar approve``: the data owner approves collections of the static catalog for publication."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("approve")
@config_option
@click.argument("collections", nargs=-1)
@click.option("--all", "all_collections", is_flag=True, default=False, help="Every collection in the catalog.")
@click.option("--by", "by", required=True, help="Who approves: the data owner's name (recorded).")
@click.option("--note", default="", help="Why, or what was checked (recorded with the approval).")
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The static catalog reviewed (default: the run's results/catalog/catalog.json).",
)
def approve(
    config_path: Path,
    collections: tuple[str, ...],
    all_collections: bool,
    by: str,
    note: str,
    catalog: Path | None,
) -> None:
    """Approve COLLECTIONS of the static catalog for publication, as they are now.

    Records who approved, when, and which items (a digest of each) in
    <root>/approvals/<collection>.json, and shows the approval on the collection in the
    static catalog. `publish --to pgstac` publishes only collections approved for their
    current items: a re-run that changes an item needs a new approval.

    \b
      $ sporbar approve land-ecology-maps --by "Kari Nordmann" -c config/config.yaml \\
          --note "checked against field plots 2024"
      $ sporbar approve --all --by "Kari Nordmann" -c config/config.yaml
    """
    from sporbar.stac.approval import approve as record_approval
    from sporbar.stac.approval import catalog_items
    from sporbar.workflow import plan

    cfg = load_config(config_path)
    cat = catalog or plan.path(cfg, "catalog")
    if not collections and not all_collections:
        raise click.UsageError("name at least one COLLECTION, or give --all")
    wanted = sorted(catalog_items(cat)) if all_collections else list(collections)
    for a in record_approval(cat, wanted, by=by, root=cfg.root, note=note):
        click.echo(f"{a.collection}: approved by {a.by} at {a.at} ({len(a.items)} item(s))")
