"""``sporbar check-config``: validate a config before submitting any job."""

from __future__ import annotations

from pathlib import Path

import click


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
    from sporbar.config import load
    from sporbar.workflow.preflight import check_inputs

    cfg = load(config_path)
    for line in check_inputs(cfg):
        click.echo(f"{config_path}: OK - {line}")
    tiles = cfg.tiles
    click.echo(
        f"{config_path}: OK - area {cfg.data['area']['name']!r}, {len(tiles)} tile(s) of "
        f"{cfg.grid.tile_size} m on {cfg.grid.crs}, {len(cfg.data['classes'])} classes, "
        f"models {[m['id'] for m in cfg.data['models']]}"
    )
