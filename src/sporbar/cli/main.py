"""``sporbar``: the entry point. Sub-commands are imported only when run, so --help is fast."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, cast

import click

from sporbar.errors import OutputWriteError, SporbarError
from sporbar.redaction import install_log_filter, redact_text

# command name -> "module:attribute" (each module under sporbar.cli)
COMMANDS: dict[str, str] = {
    "check-config": "check_config:check_config",
    "tiles": "tiles:tiles",
    "demo": "demo:demo",
    "fetch": "fetch:fetch",
    "ard": "ard:ard",
    "s1-ard": "s1_ard:s1_ard",
    "cube": "cube:cube",
    "lidar": "lidar:lidar",
    "samples": "samples:samples",
    "train": "train:train",
    "predict": "predict:predict",
    "validation-sample": "validation_sample:validation_sample",
    "assess": "assess:assess",
    "publish": "publish:publish",
    "approve": "approve:approve",
    "verify": "verify:verify",
    "lineage": "lineage:lineage",
    "summary": "summary:summary",
    "status": "status:status",
    "reproduce": "reproduce:reproduce",
    "serve": "serve:serve",
    "search": "search:search",
    "export-metadata": "export_metadata:export_metadata",
    "stage": "stage:stage",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands live in their own modules, imported on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The sub-command names, sorted, without importing their modules (for ``--help``)."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The sub-command ``cmd_name``, importing its module now; None for an unknown name."""
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, attr = spec.split(":")
        return cast(click.Command, getattr(importlib.import_module(f"sporbar.cli.{module}"), attr))


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from sporbar import __version__

    click.echo(f"sporbar, version {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug); show tracebacks.")
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.option(
    "--rule",
    default=None,
    envvar="SPORBAR_RULE",
    help="Name of the Snakemake rule running this command (recorded in the item's provenance).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, rule: str | None) -> None:
    """sporbar: traceable land-ecology mapping from Sentinel and lidar data.

    Every command writes its data and then a STAC item that records where the
    data came from. Run the whole pipeline with Snakemake (`make run`), or any
    step alone:

    \b
      $ sporbar check-config config/config.yaml
      $ sporbar demo generate --config config/config.yaml -o results/demo-source
      $ sporbar verify results/catalog/catalog.json
      $ sporbar lineage results/catalog/land-ecology-maps/<item>/<item>.json
    """
    level = logging.INFO - 10 * verbose + 10 * quiet
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    install_log_filter()  # no secret reaches a log line, in any encoding
    ctx.obj = {"verbose": verbose, "rule": rule}


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; print a SporbarError as one line and exit 1 (traceback with -v).

    A write that fails for want of space or on a read-only file system (``OSError`` errno
    ENOSPC, EDQUOT or EROFS, wherever it is raised) is reported the same way, as an
    :class:`OutputWriteError` naming the path and what to do.
    """
    verbose = "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv)
    try:
        return cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except SporbarError as err:
        if verbose:
            raise
        click.echo(f"Error: {redact_text(str(err))}", err=True)
        sys.exit(1)
    except Exception as err:
        failed = OutputWriteError.of(err)
        if failed is None or verbose:
            raise
        click.echo(f"Error: {redact_text(str(failed))}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
