"""Options shared by several sub-commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

# Every command module imports this one, and `sporbar --help` imports every command module:
# the config (odc-geo, pyproj, dask), pystac and Dask are imported when a command runs.
if TYPE_CHECKING:
    from sporbar.config import Config
    from sporbar.stac.record import RunContext

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pipeline config YAML (validated against the config schema).",
)
optional_config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Pipeline config YAML (default: see the command's help).",
)
output_item_option = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path of the output STAC item (item.json); data files are written beside it.",
)
version_manifest_option = click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write this job manifest, listing the version item made or kept (the workflow tracks it).",
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace outputs that already exist."
)
tile_option = click.option(
    "-t", "--tile", required=True, help="Grid tile id, E<x>N<y> in metres (see `sporbar tiles`)."
)


def load_config(config_path: Path) -> Config:
    """Load and validate a config given on the command line.

    Raises:
        ConfigError: the file is missing, not YAML, or not valid against the schema.
    """
    from sporbar.config import load

    return load(config_path)


def rule_name(ctx: click.Context) -> str | None:
    """The Snakemake rule name passed with the global --rule option, if any."""
    obj: dict[str, Any] = ctx.find_root().obj or {}
    return obj.get("rule")


def run_context(ctx: click.Context, cfg: Config) -> RunContext:
    """The run context of this command: provenance (with the config hash) and the Snakemake rule."""
    from sporbar.stac.record import RunContext

    return RunContext.current(config_hash=cfg.hash, rule=rule_name(ctx))


optional_output_option = click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With one unit (not --block): path of the output STAC item (item.json); data files go beside it.",
)


def block_options(f: Any) -> Any:
    """``--block`` and ``--manifest``: do every unit of a job block, each to its standard path."""
    f = click.option(
        "--manifest",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="With --block: the job manifest to write (lists the items; see sporbar.workflow.blocks).",
    )(f)
    return click.option(
        "--block",
        default=None,
        help="Do every unit of this job block (`job_block` in the config; see `sporbar tiles --blocks`), each "
        "to its standard path below root, instead of one unit to -o. A re-run resumes.",
    )(f)


def tile_or_block_options(f: Any) -> Any:
    """``--tile``/``-o`` for one tile, or ``--block``/``--manifest`` for a job block of tiles."""
    f = block_options(optional_output_option(f))
    return click.option("-t", "--tile", default=None, help="Grid tile id, E<x>N<y> in metres (see `sporbar tiles`).")(f)


def check_tile_or_block(tile: str | None, output: Path | None, block: str | None, manifest: Path | None) -> None:
    """Exactly one of (--tile and -o) or (--block and --manifest).

    Raises:
        click.UsageError: naming the options that are missing or exclude each other.
    """
    if block is None and manifest is None:
        if tile is None or output is None:
            raise click.UsageError("give --tile and -o (one tile), or --block and --manifest (a job block)")
    elif tile is not None or output is not None:
        raise click.UsageError("--block/--manifest and --tile/-o exclude each other")
    elif block is None or manifest is None:
        raise click.UsageError("--block and --manifest go together")


def tile_or_block(
    cfg: Config,
    tile: str | None,
    output: Path | None,
    block: str | None,
    manifest: Path | None,
    *,
    work: Callable[[str, Path], Any],
    block_work: Callable[[str, Path], Any],
    dask: bool = False,
) -> None:
    """Do one unit, ``work(tile, output)``, or a job block, ``block_work(block, manifest)``.

    Args:
        cfg: the loaded config (for the Dask scheduler).
        tile: the unit's id (a grid tile, or a delivered lidar tile for ``fetch lidar``).
        output: the unit's item path.
        block: the job block id.
        manifest: the job manifest to write.
        work: makes one unit's item.
        block_work: makes every unit of a block and the manifest.
        dask: open :func:`sporbar.parallel.dask_client` around the work, once for every
            unit (on Slurm: one set of worker jobs for the whole block).

    Raises:
        click.UsageError: not exactly one of (--tile and -o) or (--block and --manifest),
            checked before any work starts.
    """
    check_tile_or_block(tile, output, block, manifest)
    with _scheduler(cfg, dask):
        if block is None:
            assert tile is not None and output is not None  # check_tile_or_block guarantees these
            work(tile, output)
        else:
            assert manifest is not None  # check_tile_or_block guarantees it
            block_work(block, manifest)


def _scheduler(cfg: Config, dask: bool) -> AbstractContextManager[Any]:
    if not dask:
        return nullcontext()
    from sporbar.parallel import dask_client

    return dask_client(cfg)


all_tiles_maps_option = click.option(
    "--all-tiles", is_flag=True, default=False,
    help="Take the map items of every tile of the config's area and map.product (their standard paths), "
    "instead of MAPS.",
)


def map_items(cfg: Config, maps: tuple[Path, ...], all_tiles: bool) -> list[Path]:
    """The map items of MAPS (items or job manifests) or, with ``--all-tiles``, of every tile.

    Raises:
        click.UsageError: both or neither given.
    """
    from sporbar.workflow import plan
    from sporbar.workflow.blocks import expand_items

    if all_tiles == bool(maps):
        raise click.UsageError("give MAPS or --all-tiles (one of them)")
    return plan.map_items(cfg) if all_tiles else list(expand_items(maps))
