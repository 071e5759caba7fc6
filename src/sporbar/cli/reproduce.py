"""``sporbar reproduce``: re-run the step that made an item and compare the outputs bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sporbar.cli.options import optional_config_option


@click.command("reproduce")
@click.argument("item", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--all",
    "catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reproduce every item of this catalog (catalog.json) and print the share reproduced.",
)
@optional_config_option
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Where to make the temporary re-run folders (default: the system temp folder; the same "
    "file system as the data lets inputs be hard-linked instead of copied).",
)
@click.option("--keep", is_flag=True, help="Keep the re-run folders (their paths are printed).")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the reports as JSON to this file.",
)
def reproduce(
    item: Path | None,
    catalog: Path | None,
    config_path: Path | None,
    workdir: Path | None,
    keep: bool,
    json_path: Path | None,
) -> None:
    """Re-run the step recorded in ITEM and compare every asset with the delivered one.

    Inputs are found through the item's derived_from links and checked against their
    file:checksum first ("missing input" / "input changed"); the step runs in a temporary
    folder with the run's config (-c, default the run's effective config
    <root>/config/effective-<the item's config hash>.yaml); each asset is then identical, different (with what
    differs: pixels, values, sizes) or missing. A code version other than the recorded one
    is a warning. Exits 0 when everything was reproduced bit-for-bit, 1 otherwise.

    \b
      $ sporbar reproduce results/maps/land-ecology/E268800N7029760/item.json
      $ sporbar reproduce --all results/catalog/catalog.json
    """
    from sporbar.reproduce import Reproducer, reproduce_all, summary

    if (item is None) == (catalog is None):
        raise click.UsageError("give either ITEM or --all CATALOG")
    rep = Reproducer(config=config_path, workdir=workdir, keep=keep)
    if item is not None:
        reports = [rep.reproduce(item)]
        click.echo(reports[0].render())
    else:
        assert catalog is not None  # one of the two, checked above
        reports = reproduce_all(catalog, rep, on_report=lambda r: click.echo(r.render() + "\n"))
        click.echo(f"{'verdict':<16} item")
        for r in reports:
            click.echo(f"{r.verdict:<16} {r.item_id or r.item}")
        click.echo(summary(reports))
    if json_path is not None:
        json_path.write_text(json.dumps([r.to_dict() for r in reports], indent=2, sort_keys=True) + "\n")
    if not all(r.identical for r in reports):
        raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover - `python -m sporbar.cli.reproduce` before registration
    reproduce()
