"""Run the pipeline the way `make run` does, watch its jobs start, and kill -9 it mid-run.

The shell of the Makefile's ``run`` recipe is read from the Makefile (not copied) and run as it
is, minus the install step, so the harness tests what a user types, whatever the recipe does
before or after Snakemake. It runs in a work folder that looks like the repository to
Snakemake: links to the Snakefile, rules/, workflow/ and config/ (Snakemake keeps its locks and
incomplete-job markers in the folder it runs in, ``.snakemake/``, so each harness has its own).
"""

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


def make_run_recipe(makefile: Path, config: Path, cores: int) -> tuple[str, list[str]]:
    """The Makefile's ``run`` recipe as a bash script, and the ``snakemake`` command in it.

    Make's variables ``$(CONFIG)`` and ``$(CORES)`` are filled in and ``$$`` becomes ``$``; each
    logical recipe line runs in turn and the first that fails ends the script, as with make.
    The ``install`` prerequisite is not run: this venv is the installed one.

    Args:
        makefile: the Makefile.
        config: the config file, for ``$(CONFIG)``.
        cores: for ``$(CORES)``.

    Returns:
        (the script, the argument list of its one pipeline-running ``snakemake`` command).

    Raises:
        AssertionError: no ``run`` target, another make variable in it, or not exactly one
            ``snakemake`` command that runs the pipeline (``--unlock`` and dry runs aside).
    """
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile.read_text(), re.MULTILINE)
    assert recipe, f"{makefile}: no run target"
    text = "\n".join(line[1:] for line in recipe.group(1).splitlines())
    text = text.replace("$(CORES)", str(cores)).replace("$(CONFIG)", shlex.quote(str(config)))
    assert "$(" not in text.replace("$$(", ""), f"{makefile}: a make variable the harness can't fill in:\n{text}"
    text = text.replace("$$", "$")
    logical = re.split(r"(?<!\\)\n", text)  # make runs each line not ended by a backslash apart
    script = "set -e\n" + "\n".join(line.lstrip("@-+") for line in logical) + "\n"
    joined = text.replace("\\\n", " ")
    commands = [shlex.split(c) for c in re.findall(r"(?:^|[;&|(]\s*)(snakemake\s[^;&|\n]*)", joined, re.MULTILINE)]
    pipeline = [c for c in commands if not {"--unlock", "-n", "--dry-run"} & set(c)]
    assert len(pipeline) == 1, f"{makefile}: run recipe should run one snakemake pipeline: {commands}"
    return script, pipeline[0]


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


def run_pipeline(script: str, cwd: Path, kill: KillPoint | None = None,
                 timeout: float = 900) -> Run:
    """Run the bash ``script`` (this venv first on PATH) in its own process group; kill it at
    ``kill``.

    The kill is SIGKILL to the whole process group: Snakemake and every job it started, as
    when a node dies or an OOM killer or `kill -9 -PGID` strikes.

    Returns:
        The run; ``returncode`` is -9 when it was killed.

    Raises:
        AssertionError: the kill point was never reached, or processes survived the kill.
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    argv = ["bash", "-c", script]
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
        raise AssertionError(f"the run ran past {timeout} s:\n" + "\n".join(run.lines[-40:]))
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
