"""``sporbar stage``: copy files between NIRD and cluster work space, verified by sha2-256."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import optional_config_option


@click.command("stage")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@optional_config_option
@click.option(
    "--direction",
    type=click.Choice(["in", "out"]),
    default=None,
    help="With -c: 'in' copies staging.inputs from NIRD to work_root; 'out' copies staging.outputs to NIRD.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a JSON manifest of every file (path, checksum, size, copied/kept) here.",
)
@click.option(
    "--require",
    "required",
    type=click.Path(path_type=Path),
    default=None,
    help="Fail at once unless this folder exists (the NIRD project folder; not mounted on compute nodes).",
)
@click.option(
    "--check",
    is_flag=True,
    help="With -c: only check that staging.nird_root is visible on this node; exit 0 if it is "
    "(or staging is off), 3 if not. slurm/submit.sh uses it to stop a head job on a compute "
    "node before stage_out.",
)
def stage(
    paths: tuple[Path, ...],
    config_path: Path | None,
    direction: str | None,
    manifest: Path | None,
    required: Path | None,
    check: bool,
) -> None:
    """Copy SRC to DST, or each of several SRCs into the folder DST.

    With -c CONFIG and --direction, sources and destination come from the config's
    `staging` section instead ('in': staging.inputs to work_root; 'out': outputs to NIRD).

    Each file is copied to a temporary, checked against the source's sha2-256 and
    renamed into place; files already at the destination with the same checksum are
    kept, so running the same command again after a kill copies only what is missing.

    \b
      $ sporbar stage /nird/datapeak/NSxxxxK/labels/trondelag.gpkg /cluster/work/projects/nnxxxxk/labels/trondelag.gpkg
      $ sporbar stage results/catalog results/maps /nird/datapeak/NSxxxxK/sporbar/trondelag --manifest stage.json
      $ sporbar stage -c config/myarea.yaml --direction in      # staging.inputs: NIRD -> work_root
      $ sporbar stage -c config/myarea.yaml --check             # is NIRD mounted here?
    """
    from sporbar.errors import ConfigError
    from sporbar.workflow import staging

    if config_path is not None:
        from sporbar.config import load

        if paths or (direction is None and not check):
            raise click.UsageError("with -c give --direction in|out (or --check) and no paths")
        cfg = load(config_path)
        s = staging.settings(cfg)
        if check:
            if not s["enabled"]:
                click.echo(f"{config_path}: staging is off; nothing to check")
                return
            try:
                staging.require_dir(staging.nird_area(cfg).parent)
            except staging.StagingError as err:
                click.echo(f"Error: {err}", err=True)
                raise click.exceptions.Exit(3) from None
            click.echo(f"{s['nird_root']}: visible here")
            return
        if direction == "in":
            pairs = staging.stage_in_pairs(cfg)
            if not pairs:
                raise ConfigError(f"{config_path}: key staging/inputs: nothing to stage in")
            staging.require_dir(s["nird_root"])
            m = staging.Manifest(destination=str(s["work_root"]))
            work = Path(s["work_root"])
            for src, dst in pairs:
                staging.stage(src, dst, manifest=m, prefix=dst.relative_to(work).as_posix())
        else:
            dest = staging.nird_area(cfg)
            staging.require_dir(required or s["nird_root"])
            m = staging.stage_many(staging.stage_out_sources(cfg), dest)
    else:
        if len(paths) < 2:
            raise click.UsageError("give SRC DST, or SRC... DSTDIR, or -c CONFIG --direction in|out")
        if required is not None:
            staging.require_dir(required)
        *sources, dst = paths
        m = staging.stage(sources[0], dst) if len(sources) == 1 else staging.stage_many(sources, dst)
    if manifest is not None:
        m.write(manifest)
    click.echo(
        f"staged to {m.destination}: {len(m.files)} file(s), {m.copied} copied "
        f"({m.bytes_copied} bytes), {m.kept} already in place"
    )
