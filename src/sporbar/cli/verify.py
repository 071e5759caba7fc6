"""``sporbar verify``: check a catalog or an item offline (schemas, links, checksums)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("verify")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--schemas",
    "schema_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Offline schema bundle with schema_map.json (default: the packaged one).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The delivery: every local href must stay inside it (default: the run root above PATH, "
    "the folder holding the run's config.yaml; else PATH's folder).",
)
@click.option(
    "--external",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="A folder outside the delivery that hrefs may point into, e.g. the Sentinel archive a "
    "'local' source indexed in place (sources.sentinel2.local.path). Repeatable. Its files are "
    "checked like the delivery's own.",
)
@click.pass_context
def verify(
    ctx: click.Context, path: Path, schema_dir: Path | None, root: Path | None, external: tuple[Path, ...]
) -> None:
    """Verify PATH (a catalog.json, collection.json or item JSON) and all it links to.

    Every object must be valid STAC, every link must resolve inside the delivery, every
    item must record its provenance, every asset's checksum and size must match the file
    on disk, and each catalog copy must agree with the item beside its data. Exits 0 when
    all is well, 1 with one line per problem otherwise.

    \b
      $ sporbar verify results/catalog/catalog.json
      OK: 23 items, 96 assets checked

    A run whose raw items index a local archive in place points outside the delivery;
    name the archive:

    \b
      $ sporbar verify results/catalog/catalog.json --external /nird/projects/NS1234K/s2-archive
    """
    from sporbar.stac.verify import verify_catalog

    report = verify_catalog(path, root=root, external=external, schema_dir=schema_dir)
    for remote in report.remote_assets:  # named, so a URL in a delivery is never a silent pass
        click.echo(f"warning: {remote} is a URL: not checked offline (not part of the delivery)", err=True)
    if report.ok:
        click.echo(report.summary())
        return
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(report.summary(), err=True)
    ctx.exit(1)
