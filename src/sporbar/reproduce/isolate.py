"""Run one re-run in a fresh Python process, as the pipeline runs every step.

A step's bytes must not depend on what the process did before (a model pickled after
another model was loaded memoises its strings differently, a library may keep global
thread or cache settings), so each re-run gets a new interpreter (``spawn``) that calls the
library function (:func:`sporbar.reproduce.runners.run_recorded`) and nothing else. Its
output goes to a log file in the re-run folder; a failure comes back as one line.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from sporbar.errors import SporbarError
from sporbar.reproduce.steps import RecordedStep

LOG_FILENAME = "rerun.log"


@dataclass(frozen=True)
class RerunRequest:
    """What the fresh process needs to re-run one step (plain, picklable values).

    Attributes:
        step: the recorded step.
        root: the data root of the delivered item.
        target_root: the re-run root that mirrors ``root``'s layout.
        config: the re-run config file (``root`` set to ``target_root``).
        output: the item to write below ``target_root``.
        workdir: the working folder of the re-run (holds the log).
    """

    step: RecordedStep
    root: Path
    target_root: Path
    config: Path
    output: Path
    workdir: Path

    @property
    def log(self) -> Path:
        """Where the re-run's stdout and stderr go."""
        return self.workdir / LOG_FILENAME


def run_in_fresh_process(request: RerunRequest, *, timeout: float) -> str | None:
    """Re-run ``request.step`` in a new interpreter.

    Args:
        request: the step and where to run it.
        timeout: seconds the re-run may take before it is killed.

    Returns:
        None when the step finished, else one line saying why it failed.
    """
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(request, send), name=f"reproduce {request.step.command}")
    proc.start()
    send.close()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return f"re-run took longer than {timeout:g} s (killed; log {request.log})"
    message = receive.recv() if receive.poll() else None
    receive.close()
    if proc.exitcode == 0 and message == "":
        return None
    return message or f"re-run ended with exit code {proc.exitcode} (log {request.log})"


def _child(request: RerunRequest, send: Connection) -> None:
    """Body of the fresh process: run the step, send "" or the error line, exit."""
    with open(request.log, "ab") as log:  # noqa: PTH123 - the fd is what dup2 needs
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    # imported here, in the fresh process, so the parent does not import every stage
    from sporbar.config import load
    from sporbar.reproduce.mirror import SourceMirror
    from sporbar.reproduce.runners import Rerun, run_recorded
    from sporbar.stac.record import RunContext

    try:
        os.chdir(request.workdir)
        cfg = load(request.config)
        ctx = RunContext.current(config_hash=cfg.hash, rule=request.step.rule)
        paths = SourceMirror(request.root, request.target_root)
        run_recorded(request.step, Rerun(paths=paths, cfg=cfg, output=request.output, ctx=ctx))
    except Exception as err:  # noqa: BLE001 - every failure goes back to the report as one line
        kind = "" if isinstance(err, SporbarError) else f"{type(err).__name__}: "
        traceback.print_exc()  # into the log
        with contextlib.suppress(OSError):
            send.send(f"re-run failed: {kind}{err}")
        raise SystemExit(1) from None
    send.send("")
