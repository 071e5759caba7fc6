"""``sporbar check-config``: validate a config before submitting any job."""

from __future__ import annotations

import math
from pathlib import Path

import click

# Jobs per tile stage above which check-config suggests a larger job_block: at ~1 ms of DAG
# build per job and four tile stages, 2,500 keeps the DAG of the whole run near 10 s.
JOBS_HINT = 2500


@click.command("check-config")
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
def check_config(config_path: Path) -> None:
    """Validate CONFIG_PATH against the config schema and print the tiles it covers.

    Run it on the login node before `sbatch`: a misspelt key, a wrong type, an
    area outside the national grid or a label file without its class column fails
    here, not after hours in the queue.

    \b
      $ sporbar check-config config/config.yaml
    """
    from sporbar.config import config_warnings, load
    from sporbar.workflow.preflight import check_inputs

    cfg = load(config_path)
    for warning in config_warnings(cfg):
        click.echo(f"warning: {warning}", err=True)
    for line in check_inputs(cfg):
        click.echo(f"{config_path}: OK - {line}")
    tiles = cfg.tiles
    click.echo(
        f"{config_path}: OK - area {cfg.data['area']['name']!r}, {len(tiles)} tile(s) of "
        f"{cfg.grid.tile_size} m on {cfg.grid.crs}, {len(cfg.data['classes'])} classes, "
        f"models {[m['id'] for m in cfg.data['models']]}"
    )
    from sporbar.workflow import plan

    k, blocks = plan.job_block(cfg), plan.Plan(cfg).blocks
    click.echo(f"{config_path}: OK - {len(blocks)} job(s) per tile stage (job_block {k}: {k}x{k} tiles per job)")
    if len(blocks) > JOBS_HINT:
        better = math.ceil(math.sqrt(len(tiles) / JOBS_HINT))
        click.echo(
            f"{config_path}: hint - {len(blocks)} jobs per tile stage make a slow Snakemake DAG and a long "
            f"Slurm queue; set job_block: {better} (about {math.ceil(len(tiles) / better**2)} jobs per stage)"
        )
