"""Every bad-input trial of bad_input.py as a test: its class must be the one the trial expects
(a named error, or a stated rule where the trial accepts one). The table itself:
``python tests/reliability/bad_input.py``.

The trials are marked ``reliability`` (`make test` runs them, `pytest -m reliability` alone) and
``e2e`` (about 3 minutes of subprocesses on 2 cores: kept out of the fast ``-m "not e2e ..."``
selection); the classifier's own tests below run everywhere.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import antimeridian
import pytest
from _bad_input_fixtures import Shared
from bad_input import (
    HANG,
    LEAK,
    NAMED,
    RULE,
    SECRETS,
    SILENT,
    SKIPPED,
    TRACEBACK,
    UNNAMED,
    Outcome,
    Result,
    Trial,
    all_trials,
    classify,
    find_leaks,
    run_trial,
    table,
)

TRIALS = all_trials()


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """The outcome of every selected trial, run two at a time (the selected tests' trials only)."""
    selected = {item.callspec.params["trial"].id for item in request.session.items
                if item.name.startswith("test_bad_input[")}
    base = tmp_path_factory.mktemp("bad-input")
    shared = Shared(base / "shared")
    trials = [t for t in TRIALS if t.id in selected]
    # warnings.catch_warnings is process-wide, not per thread: when one trial's setup leaves
    # sporbar.fetch.safe's (which ignores stactools' PendingDeprecationWarning and antimeridian's
    # FixWindingWarning while a SAFE is read), it restores filters under the other thread's setup,
    # and pytest's "error" filter turned that setup's warning into a setup error (seen once in a
    # fresh-clone run). Both threads start from filters that already ignore them, so any restore
    # keeps ignoring them.
    with warnings.catch_warnings(), ThreadPoolExecutor(2) as pool:
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", antimeridian.FixWindingWarning)
        return dict(zip([t.id for t in trials],
                        pool.map(lambda t: run_trial(t, shared, base / "trials" / t.id), trials), strict=True))


@pytest.mark.reliability
@pytest.mark.e2e
@pytest.mark.timeout(600)
@pytest.mark.parametrize("trial", TRIALS, ids=[t.id for t in TRIALS])
def test_bad_input(trial: Trial, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[trial.id]
    if outcome.klass == SKIPPED:
        pytest.skip(outcome.detail)
    r = outcome.result
    assert outcome.klass == trial.expect, (
        f"{trial.id}: {outcome.klass} ({outcome.detail}), expected {trial.expect}\n"
        f"exit {r.returncode if r else '-'}\nstdout:\n{r.stdout[-3000:] if r else ''}\n"
        f"stderr:\n{r.stderr[-3000:] if r else ''}")


def test_trials_are_many_named_and_grouped() -> None:
    ids = [t.id for t in TRIALS]
    assert len(ids) == len(set(ids)), "two trials with one name"
    assert len(TRIALS) >= 45
    groups = {t.group for t in TRIALS}
    assert {"config", "labels", "corrupt-data", "stage-inputs", "hostile-items", "hostile-servers",
            "filesystem"} <= groups, groups


def _result(code: int | None, out: str = "", err: str = "", leaks: list[str] | None = None) -> Result:
    return Result(code, out, err, 1.0, leaks or [])


@pytest.mark.parametrize(("result", "rule_ok", "klass"), [
    (_result(1, err="Error: /x/labels.gpkg: label file not found"), False, NAMED),
    (_result(1, err="Error: something failed"), False, UNNAMED),
    (_result(1, err="Traceback (most recent call last):\n  ...\nKeyError: 'scenes'"), False, TRACEBACK),
    (_result(0, out="/x/labels.gpkg: OK"), False, SILENT),
    (_result(0, err="warning: /x/labels.gpkg: label file not found"), True, RULE),
    (_result(0, err="warning: about something else"), True, SILENT),
    (_result(0, err="warning: /x/labels.gpkg: label file not found"), False, SILENT),
    (_result(None), False, HANG),
    (_result(1, err="Error: /x/labels.gpkg: label file not found", leaks=["stderr (bearer token)"]), False, LEAK),
], ids=["named", "unnamed", "traceback", "silent", "rule", "rule-without-words", "rule-not-accepted", "hang",
        "leak-wins"])
def test_classifier(result: Result, rule_ok: bool, klass: str) -> None:
    assert classify(result, ("/x/labels.gpkg", "not found"), rule_ok=rule_ok)[0] == klass


def test_leaks_are_found_in_output_and_files_in_every_encoding(tmp_path: Path) -> None:
    assert find_leaks({"stdout": "nothing here"}, tmp_path) == []
    for name, secret in SECRETS.items():
        (tmp_path / "logs").mkdir(exist_ok=True)
        (tmp_path / "logs" / "search.log").write_text(f"Authorization: Basic {secret}\n")
        assert f"{tmp_path / 'logs' / 'search.log'} ({name})" in find_leaks({}, tmp_path)
        assert f"stderr ({name})" in find_leaks({"stderr": f"x{secret}x"}, tmp_path / "logs" / "none")


def test_table_counts_per_group_and_total() -> None:
    def o(group: str, klass: str) -> Outcome:
        return Outcome(Trial(group, f"t{klass}", lambda ctx: None), klass, "")  # type: ignore[arg-type,return-value]

    text = table([o("a", NAMED), o("a", TRACEBACK), o("b", RULE), o("b", SKIPPED)])
    lines = text.splitlines()
    assert lines[0].split("|")[1:4] == [" group ", " trials ", " named errors "]
    assert [c.strip() for c in lines[-2].split("|")[1:6]] == ["total", "3", "1", "1", "1"]
    assert lines[-1].startswith("skipped (not counted): b/tskipped")
