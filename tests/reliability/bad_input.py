"""Bad-input trials (issue 12): what a user or a hostile server can hand sporbar, and what it says.

Each trial prepares its own temporary copy of what it damages, runs the real ``sporbar`` command
(or ``snakemake -n`` where the preflight is what is tested) in a subprocess with credentials in
its environment, and one classifier (:func:`classify`) puts the result in a class:

- ``named error``: exit code not 0, no traceback, and the output holds every string the trial
  names (the offending file or key, and what is wrong with it);
- ``stated rule``: exit code 0 with a warning holding those strings, where the trial accepts that
  (e.g. overlapping periods, a LAZ tile with no point);
- ``traceback``: "Traceback" in stdout or stderr;
- ``silent``: exit code 0 where an error or a warning was due (or the warning lacks the strings);
- ``unnamed error``: exit code not 0 without the strings; ``hang``: past the trial's time limit;
- ``leak``: a configured secret (the password plain, URL- or form-encoded, base64 of
  ``user:password``, the bearer token...) in stdout, stderr or any file the trial left; checked
  on every trial, and it wins over every other class.

``python tests/reliability/bad_input.py [-k TEXT] [-j N]`` prints the table (per group and in
total) and exits 1 if any trial is not a named error or a stated rule;
``tests/reliability/test_bad_input.py`` runs each trial as a test. What each trial damages is built
once (:class:`Shared`, lazily) from the test helpers of tests/unit and tests/integration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
for _folder in ("reliability", "unit", "integration"):  # as conftest does, for a run without pytest
    if str(TESTS / _folder) not in sys.path:
        sys.path.append(str(TESTS / _folder))

from _bad_input_fixtures import Shared  # noqa: E402
from conftest import BIN, REPO  # noqa: E402
from test_credential_redaction import PASSWORD, TOKEN, USER, _login_encodings, _token_encodings  # noqa: E402

NAMED = "named error"
RULE = "stated rule"
TRACEBACK = "traceback"
SILENT = "silent"
LEAK = "leak"
UNNAMED = "unnamed error"
HANG = "hang"
SKIPPED = "skipped"
SETUP = "setup error"  # the trial could not be prepared: a fault of the harness, counted as a failure
PASSING = (NAMED, RULE)
# the table's columns: class -> heading
HEADS = {NAMED: "named errors", RULE: "stated rules", TRACEBACK: "tracebacks", SILENT: "silent", LEAK: "leaks",
         UNNAMED: "unnamed errors", HANG: "hangs", SETUP: "setup errors"}

# every encoding of every configured secret that must never be printed or written
SECRETS = {**_login_encodings(), **_token_encodings()}
# and any 10 characters in a row of a plain secret: a secret mangled on the way (an HTML-to-text
# conversion that turns "&x?" into "&x;?") is still a leak, and escapes the exact match
FRAGMENT = 10
SECRETS.update({f"{name} characters {i + 1}-{i + FRAGMENT}": value[i : i + FRAGMENT]
                for name, value in (("password", PASSWORD), ("token", TOKEN))
                for i in range(len(value) - FRAGMENT + 1)})
LEAK_SCAN_LIMIT = 8 * 1024 * 1024  # files larger than this (rasters, zips) are not read for secrets


class Skip(Exception):  # noqa: N818 (a signal, not an error)
    """A trial that cannot run here (e.g. no user namespaces to mount a tmpfs)."""


@dataclass
class Call:
    """The command a trial runs, and what its output must say.

    Attributes:
        argv: the command; a first element ``sporbar`` or ``snakemake`` is this venv's.
        must: strings the output must hold (file or key, and what is wrong with it).
        timeout: seconds before the trial is a ``hang``.
        cwd: where it runs (default: the trial's folder).
        env: extra environment variables.
        shell: run ``argv[0]`` through ``sh -c`` (for ``unshare`` mounts), after the others.
        after: a check run after the command; a string it returns is added to the output
            (e.g. "second writer: ..."), so it is classified with the rest.
    """

    argv: list[str]
    must: tuple[str, ...]
    timeout: float = 120
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    after: Callable[[], str] | None = None


@dataclass
class Ctx:
    """What a trial's setup gets: its own folder, the shared inputs, a place to park cleanups."""

    tmp: Path
    shared: Shared
    stack: ExitStack


@dataclass(frozen=True)
class Trial:
    """One bad input: its group, a name, how to set it up, and the class that is right for it."""

    group: str
    name: str
    setup: Callable[[Ctx], Call]
    expect: str = NAMED

    @property
    def id(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass
class Result:
    """What a trial's command did."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    leaks: list[str]

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Outcome:
    """A trial's class and why."""

    trial: Trial
    klass: str
    detail: str
    result: Result | None = None

    @property
    def ok(self) -> bool:
        return self.klass == self.trial.expect or self.klass == SKIPPED


def classify(result: Result, must: tuple[str, ...], *, rule_ok: bool) -> tuple[str, str]:
    """The class of one command's result (see the module docstring), and a one-line reason.

    Args:
        result: exit code (None: killed at its time limit), output, secrets found.
        must: strings the error or warning must hold.
        rule_ok: exit code 0 with a warning holding ``must`` is acceptable (a ``stated rule``).
    """
    if result.leaks:
        return LEAK, "secret in " + "; ".join(result.leaks)
    if "Traceback" in result.text:
        return TRACEBACK, _last_line(result.text)
    if result.returncode is None:
        return HANG, f"still running after {result.seconds:.0f} s"
    missing = [m for m in must if m not in result.text]
    if result.returncode != 0:
        if missing:
            return UNNAMED, f"exit {result.returncode}, lacks {missing}: {_last_line(result.text)}"
        return NAMED, _last_line(result.text, must[-1] if must else "")
    if rule_ok and not missing:
        return RULE, _last_line(result.text, must[-1] if must else "warning")
    return SILENT, f"exit 0, lacks {missing}" if missing else "exit 0 where an error was due"


def _last_line(text: str, containing: str = "") -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and containing.lower() in line.lower()]
    return (lines[-1] if lines else "")[:300]


def find_leaks(texts: dict[str, str], folder: Path) -> list[str]:
    """Where any encoding of a configured secret appears: in ``texts`` or a file below ``folder``."""
    found = [f"{where} ({name})" for where, text in texts.items() for name, s in SECRETS.items() if s in text]
    secrets = {name: s.encode() for name, s in SECRETS.items()}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and not f.is_symlink() and f.stat().st_size <= LEAK_SCAN_LIMIT:
            data = f.read_bytes()
            found += [f"{f} ({name})" for name, s in secrets.items() if s in data]
    return found


def trial_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a trial's command: this venv and source tree first, credentials set."""
    src = [p for p in sys.path if p.endswith("src") and Path(p, "sporbar").is_dir()]
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([*src, os.environ.get("PYTHONPATH", "")]).strip(os.pathsep),
        "HOME": str(tmp),  # no ~/.netrc of the user running the trials
        "SPORBAR_DHUS_USER": USER,
        "SPORBAR_DHUS_PASSWORD": PASSWORD,
        "SPORBAR_TEST_USER": USER,
        "SPORBAR_TEST_PASSWORD": PASSWORD,
        "SPORBAR_TEST_TOKEN": TOKEN,
        **extra,
    }


def command(argv: list[str]) -> list[str]:
    """``argv`` with ``sporbar``/``snakemake`` resolved to this venv (snakemake on this Snakefile)."""
    if argv[0] == "sporbar":
        return [str(BIN / "sporbar"), *argv[1:]]
    if argv[0] == "snakemake":
        return [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", "1", *argv[1:]]
    return argv


def run_call(call: Call, tmp: Path) -> Result:
    """Run a trial's command; kill it (its whole process group) at its time limit."""
    t0 = time.monotonic()
    proc = subprocess.Popen(command(call.argv), cwd=call.cwd or tmp, env=trial_env(tmp, call.env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=call.timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        code = None
    if call.after is not None and code is not None:
        err += call.after()
    seconds = time.monotonic() - t0
    return Result(code, out, err, seconds, find_leaks({"stdout": out, "stderr": err}, tmp))


def run_trial(trial: Trial, shared: Shared, tmp: Path) -> Outcome:
    """Set up and run one trial in ``tmp`` (its own folder) and classify what happened."""
    tmp.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            call = trial.setup(Ctx(tmp, shared, stack))
        except Skip as why:
            return Outcome(trial, SKIPPED, str(why))
        except Exception as err:  # one broken setup must not hide the other trials' results
            return Outcome(trial, SETUP, f"{type(err).__name__}: {err}"[:300])
        result = run_call(call, tmp)
    klass, detail = classify(result, call.must, rule_ok=trial.expect == RULE)
    return Outcome(trial, klass, detail, result)


def table(outcomes: list[Outcome]) -> str:
    """Per group and in total: trials run, then how many fell in each class (a Markdown table)."""
    groups = list(dict.fromkeys(o.trial.group for o in outcomes))
    heads = ["group", "trials", *HEADS.values()]
    rows = []
    for g in [*groups, "total"]:
        sel = [o for o in outcomes if g in ("total", o.trial.group) and o.klass != SKIPPED]
        rows.append([g, str(len(sel)), *(str(sum(o.klass == c for o in sel)) for c in HEADS)])
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]

    def fmt(r: list[str]) -> str:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "| " + " | ".join(cells) + " |"

    lines = [fmt(heads), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(fmt(r) for r in rows)]
    skipped = [o for o in outcomes if o.klass == SKIPPED]
    if skipped:
        lines.append("skipped (not counted): " + "; ".join(f"{o.trial.id}: {o.detail}" for o in skipped))
    return "\n".join(lines)


def all_trials() -> list[Trial]:
    """Every trial, grouped (the groups live in _bad_input_trials)."""
    from _bad_input_trials import TRIALS

    return TRIALS


def main(argv: list[str] | None = None) -> int:
    """Run the trials, print each outcome and the table; 1 if any is not a named error or stated rule."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only trials whose group/name holds this text")
    ap.add_argument("-j", type=int, default=2, help="trials run at once (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the trial folders (their path is printed)")
    args = ap.parse_args(argv)
    trials = [t for t in all_trials() if args.k in t.id]
    base = Path(tempfile.mkdtemp(prefix="sporbar-bad-input-"))
    shared = Shared(base / "shared")
    t0 = time.monotonic()
    try:
        with ThreadPoolExecutor(max(1, args.j)) as pool:
            outcomes = list(pool.map(lambda t: run_trial(t, shared, base / "trials" / t.id), trials))
    finally:
        shared.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    for o in outcomes:
        mark = "ok  " if o.ok else "FAIL"
        secs = f"{o.result.seconds:5.1f}s" if o.result else "   -  "
        print(f"{mark} {secs} {o.trial.id:<44} {o.klass:<13} {o.detail}")
    print()
    print(table(outcomes))
    print(f"\n{len(outcomes)} trials in {time.monotonic() - t0:.0f} s" + (f"; kept in {base}" if args.keep else ""))
    bad = [o for o in outcomes if o.klass not in (*PASSING, SKIPPED)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
