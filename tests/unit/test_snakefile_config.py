"""The Snakefile reads one config, validated as `sporbar check-config` validates it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, REPO, run_snakemake, small_config, write_config

from sporbar.config import load
from sporbar.errors import ConfigError


def _workdir_with_demo_config(tmp_path: Path) -> Path:
    """A working folder like the repository's: the demo config at config/config.yaml."""
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    shutil.copy(DEMO_CONFIG, work / "config" / "config.yaml")
    return work


def test_user_config_lacking_a_key_is_refused_not_completed_from_the_demo(tmp_path: Path) -> None:
    work = _workdir_with_demo_config(tmp_path)
    cfg = small_config(tmp_path / "results")
    del cfg["area"]
    path = write_config(work / "mine.yaml", cfg)
    with pytest.raises(ConfigError) as err:
        load(path)
    r = run_snakemake("-n", "--configfile", str(path), cwd=work, timeout=300)
    assert r.returncode != 0, r.stdout[-2000:]
    assert str(err.value) in r.stderr + r.stdout  # the check-config message, naming the file and key


def test_unknown_key_gives_a_short_message_naming_it(tmp_path: Path) -> None:
    cfg = small_config(tmp_path / "results")
    cfg["grid"]["tile_sise"] = 640
    path = write_config(tmp_path / "typo.yaml", cfg)
    r = run_snakemake("-n", "--configfile", str(path), cwd=tmp_path, timeout=300)
    out = r.stderr + r.stdout
    assert r.returncode != 0
    assert "tile_sise" in out and "key grid" in out
    assert len(out.splitlines()) < 30, out[:3000]  # not the schema (2,000+ lines)


def test_without_configfile_the_demo_config_is_used(tmp_path: Path) -> None:
    work = _workdir_with_demo_config(tmp_path)
    demo = yaml.safe_load(DEMO_CONFIG.read_text())
    r = run_snakemake("-n", "--config", f"root={tmp_path / 'results'}", cwd=work, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert demo["area"]["name"] in r.stdout  # the demo area's jobs (labels, samples)


def test_make_run_resumes_after_a_kill() -> None:
    # a killed run leaves incomplete markers; a plain `make run` must redo those jobs itself.
    # The recipe is read, not run with `make -n`: make runs recipe lines that call $(MAKE) even then.
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    runs = [line for line in recipe.splitlines() if "snakemake --cores" in line]
    assert runs and all("--rerun-incomplete" in line for line in runs), recipe


def test_snakemake_lint_is_clean(tmp_path: Path) -> None:
    # `make lint` runs it; rules name every file and setting they use (no globals in shell commands)
    r = run_snakemake("--lint", "--configfile", str(write_config(tmp_path / "c.yaml", small_config(tmp_path))),
                      cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and "Congratulations" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
