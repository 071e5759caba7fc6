"""``sporbar status``: done / running / failed / missing / pending per stage and per tile, during a run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config


@click.command("status")
@config_option
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Where the Snakemake head runs (its .snakemake/ folder): where you ran sbatch slurm/submit.sh.",
)
@click.option("--tiles", "per_tile", is_flag=True, help="Also one line per grid tile (ard, lidar_products, predict).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every unit's state and why).")
def status(config_path: Path, directory: Path, per_tile: bool, as_json: bool) -> None:
    """Count the units (tiles, scenes, models) of each stage by state.

    The states are done, running, failed, missing (made, then a file deleted) or pending, read
    from the outputs, Snakemake's incomplete markers in DIRECTORY/.snakemake and `squeue --me`.
    Failed units name the log or the Slurm job to look at.

    \b
      $ sporbar status -c config/myarea.yaml
      $ sporbar status -c config/myarea.yaml --tiles
    """
    from sporbar.workflow.status import format_status, run_status

    st = run_status(load_config(config_path), directory)
    if as_json:
        click.echo(json.dumps(st.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(format_status(st, tiles=per_tile))
