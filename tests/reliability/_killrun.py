"""Run the pipeline the way `make run` does, watch its jobs start, and kill -9 it mid-run.

The command is read from the Makefile's ``run`` recipe (not copied), so the harness tests what a
user types. It runs in a work folder that looks like the repository to Snakemake: links to the
Snakefile, rules/, workflow/ and config/ (Snakemake keeps its locks and incomplete-job markers in
the folder it runs in, ``.snakemake/``, so each harness has its own).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import BIN, REPO

WORKFLOW_FILES = ("Snakefile", "rules", "workflow", "config")
JOB_START = re.compile(r"^(?:local)?rule (\w+):$")
JOB_END = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)")


def make_run_command(makefile: Path, config: Path, cores: int) -> list[str]:
    """The ``snakemake ...`` command line of the Makefile's ``run`` recipe, variables filled in.

    Args:
        makefile: the Makefile.
        config: the config file, for ``$(CONFIG)``.
        cores: for ``$(CORES)``.

    Returns:
        The command as an argument list, ``snakemake`` first.

    Raises:
        AssertionError: the ``run`` recipe has no single ``snakemake`` command.
    """
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile.read_text(), re.MULTILINE)
    assert recipe, f"{makefile}: no run target"
    commands = [line for line in recipe.group(1).splitlines() if re.match(r"\s*snakemake\s", line)]
    assert len(commands) == 1, f"{makefile}: run recipe should hold one snakemake command: {commands}"
    line = re.sub(r"\s*(&&|;)?\s*\\?\s*$", "", commands[0].strip())
    line = line.replace("$(CORES)", str(cores)).replace("$(CONFIG)", str(config))
    assert "$(" not in line, f"{makefile}: unexpected make variable in {line!r}"
    return shlex.split(line)


def make_workdir(work: Path) -> Path:
    """Link the workflow files of this repository into ``work`` (Snakemake's working folder)."""
    work.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(REPO / name)
    return work


@dataclass
class Run:
    """One pipeline run: its output lines and the time (s from start) each job started/ended."""

    returncode: int | None = None
    lines: list[str] = field(default_factory=list)
    starts: list[tuple[float, str]] = field(default_factory=list)
    ends: list[tuple[float, str]] = field(default_factory=list)
    killed_at: float | None = None
    running_at_kill: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def running(self) -> list[str]:
        """The rules started and not yet finished (several jobs of a rule count apart)."""
        left = [rule for _, rule in self.starts]
        for _, rule in self.ends:
            left.remove(rule)
        return left

    def durations(self) -> dict[str, list[float]]:
        """{rule: [seconds of its k-th job]} matched in start order (good enough on 2 cores)."""
        starts: dict[str, list[float]] = {}
        for t, rule in self.starts:
            starts.setdefault(rule, []).append(t)
        out: dict[str, list[float]] = {}
        for t, rule in self.ends:
            begun = starts[rule].pop(0)
            out.setdefault(rule, []).append(t - begun)
        return out


@dataclass(frozen=True)
class KillPoint:
    """Kill -9 the run ``delay`` s after the ``nth`` job of ``rule`` starts, or at ``at`` s."""

    label: str
    rule: str | None = None
    nth: int = 1
    delay: float = 0.0
    at: float | None = None


def run_pipeline(cmd: list[str], cwd: Path, kill: KillPoint | None = None,
                 timeout: float = 900) -> Run:
    """Run ``cmd`` (the snakemake of this venv) in its own process group; kill it at ``kill``.

    The kill is SIGKILL to the whole process group: Snakemake and every job it started, as
    when a node dies or an OOM killer or `kill -9 -PGID` strikes.

    Returns:
        The run; ``returncode`` is -9 when it was killed.

    Raises:
        AssertionError: the kill point was never reached, or processes survived the kill.
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    argv = [str(BIN / cmd[0]), *cmd[1:]]
    run = Run()
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    fire = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            now = time.monotonic() - start
            run.lines.append(line)
            if m := JOB_START.match(line):
                run.starts.append((now, m.group(1)))
                if kill and kill.rule == m.group(1) and \
                        sum(r == kill.rule for _, r in run.starts) == kill.nth:
                    threading.Timer(kill.delay, fire.set).start()
            elif m := JOB_END.match(line):
                run.ends.append((now, m.group(1)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if kill and kill.at is not None:
        threading.Timer(kill.at, fire.set).start()
    deadline = start + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if fire.wait(0.05):
            run.killed_at = time.monotonic() - start
            run.running_at_kill = run.running()
            os.killpg(proc.pid, signal.SIGKILL)
            break
    if proc.poll() is None and run.killed_at is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"{' '.join(cmd)} ran past {timeout} s:\n" + "\n".join(run.lines[-40:]))
    run.returncode = proc.wait()
    reader.join(timeout=10)
    if kill:
        assert run.killed_at is not None, f"kill point {kill} never reached: the run ended first"
        _assert_group_gone(proc.pid)
    return run


def _assert_group_gone(pgid: int) -> None:
    """Every process of the killed group has ended (none keeps writing to the outputs)."""
    for _ in range(100):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes of group {pgid} survived SIGKILL")
