"""``sporbar fetch labels``: label polygons -> ``raw/labels/<area>/item.json``."""

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


@click.command("labels")
@config_option
@click.option(
    "--source-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The demo source folder (from `sporbar demo generate`); reads labels/labels.gpkg. "
    "Not used when sources.labels.source is 'file'.",
)
@click.option(
    "--path",
    "label_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A label file (GeoPackage, Shapefile, GeoJSON); "
    "default: sources.labels.path when source is 'file'.",
)
@output_item_option
@overwrite_option
@click.pass_context
def fetch_labels(
    ctx: click.Context,
    config_path: Path,
    source_dir: Path | None,
    label_path: Path | None,
    output: Path,
    overwrite: bool,
) -> None:
    """Check label polygons, reproject them to EPSG:25833 if needed, record a labels-raw item.

    \b
      $ sporbar fetch labels -c config/config.yaml --source-dir results/demo-source \\
          -o results/raw/labels/demo-gauldal/item.json
      $ sporbar fetch labels -c my.yaml --path field_polygons.gpkg \\
          -o results/raw/labels/my-area/item.json
    """
    from sporbar.fetch.labels import fetch_labels as run

    if source_dir is not None and label_path is not None:
        raise click.UsageError("--source-dir and --path are mutually exclusive")
    cfg = load_config(config_path)
    labels = cfg.data["sources"]["labels"]
    if label_path is None and labels["source"] == "file":
        # the config names the label file; a demo --source-dir (from the workflow) is not used
        label_path, source_dir = Path(labels["path"]), None
    if source_dir is None and label_path is None:
        raise click.UsageError("give --source-dir (demo labels) or --path (a label file)")
    d = run(run_context(ctx, cfg), cfg, output, source_dir=source_dir, path=label_path, overwrite=overwrite)
    click.echo(
        f"{output}: {sum(d['properties']['sporbar:class_counts'].values())} polygons, "
        f"classes {d['properties']['sporbar:class_counts']}"
    )
