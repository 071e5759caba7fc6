"""``sporbar export-metadata``: ISO 19139 (Norwegian profile) and DCAT-AP-NO from a catalog."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import load_config, optional_config_option


@click.command("export-metadata")
@click.argument("catalog", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (iso19139/ and dcat/ are written below it).",
)
@click.option(
    "--collection",
    "collections",
    multiple=True,
    default=("land-ecology-maps",),
    show_default=True,
    help="Collection to write ISO 19139 records for (product record + one per item); repeatable.",
)
@click.option(
    "--base-url",
    default=None,
    help="URL the catalog folder is served from; links become absolute below it (default: relative).",
)
@click.option(
    "--contact-email",
    default=None,
    help="E-mail of the metadata contact (Geonorge requires one); overrides metadata.contact_email of -c.",
)
@optional_config_option
def export_metadata(
    catalog: Path,
    outdir: Path,
    collections: tuple[str, ...],
    base_url: str | None,
    contact_email: str | None,
    config_path: Path | None,
) -> None:
    """Write metadata of the published CATALOG (a catalog.json from `sporbar publish`).

    ISO 19115/19139 XML following the Norwegian profile (SOSI Del 1 / Geonorge): one
    product (series) record per collection and one tile record per item, with
    parentIdentifier and a lineage of LI_ProcessStep / LI_Source built from the items'
    provenance; and a DCAT-AP-NO description (Turtle) of the open collections. Restricted
    collections are listed there without links to their data, or left out, as the config's
    metadata.dcat.restricted says (list or omit; without -c: list); closed ones never are.
    The metadata contact's e-mail is --contact-email, else the config's metadata.contact_email;
    without either the records are written without one, with a warning.

    \b
      $ sporbar export-metadata results/catalog/catalog.json -o results/metadata
      results/metadata/iso19139/land-ecology-maps.xml
      ...
      results/metadata/dcat/catalog.ttl
    """
    from sporbar.metadata.dcat import restricted_choice
    from sporbar.metadata.export import contact_email as configured_email
    from sporbar.metadata.export import export_metadata as run

    cfg = load_config(config_path) if config_path is not None else None
    summary = run(
        catalog,
        outdir,
        collections=collections,
        base_url=base_url,
        email=contact_email or configured_email(cfg),
        dcat_restricted=restricted_choice(cfg),
    )
    for line in summary.lines():
        click.echo(line)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
