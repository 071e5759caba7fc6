"""The effective config a run's steps read: one file per config, never rewritten by another parse."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_snakemake, small_config, write_config

from sporbar.config import Config, effective_config_path, load, validate
from sporbar.workflow.effective import write_effective_config


def test_effective_config_is_named_by_its_hash_and_written_once(tmp_path: Path) -> None:
    cfg = Config(validate(small_config(tmp_path / "results")))
    path = Path(write_effective_config(cfg))
    assert path == effective_config_path(cfg.root, cfg.hash)
    assert load(path).hash == cfg.hash  # reading it back gives the same config
    mtime = path.stat().st_mtime_ns
    assert write_effective_config(cfg) == str(path) and path.stat().st_mtime_ns == mtime
    other = small_config(tmp_path / "results")
    other["training"]["seed"] += 1
    other_path = Path(write_effective_config(Config(validate(other))))
    assert other_path != path and load(path).hash == cfg.hash


def _step_configs(dry_run_stdout: str) -> set[str]:
    """The -c paths of the shell commands a dry run (-p) prints."""
    return set(re.findall(r"sporbar --rule \w+ .*? -c (\S+)", dry_run_stdout))


def test_dry_run_with_another_config_leaves_the_running_configs_file_alone(tmp_path: Path) -> None:
    root = tmp_path / "results"
    a = write_config(tmp_path / "a.yaml", small_config(root))
    b_data = small_config(root)
    b_data["training"]["seed"] += 1
    b = write_config(tmp_path / "b.yaml", b_data)
    r = run_snakemake("-n", "-p", "--configfile", str(a), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (step_config,) = _step_configs(r.stdout)  # every step of run A reads this one file
    assert load(step_config).hash == load(a).hash
    # a dry run with B while A runs (no lock taken) must not change what A's steps read
    r = run_snakemake("-n", "-p", "--configfile", str(b), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _step_configs(r.stdout) != {step_config}
    assert load(step_config).hash == load(a).hash
