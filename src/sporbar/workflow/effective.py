"""The effective config of a Snakemake run, written where every step can read it."""

from __future__ import annotations

from pathlib import Path

import yaml

from sporbar.config import Config
from sporbar.io import write_bytes_atomic

EFFECTIVE_CONFIG = "config.yaml"


def write_effective_config(cfg: Config) -> str:
    """Write the validated config (file + overrides + defaults) to ``<root>/config.yaml``.

    The file is rewritten only when its content changes, so its timestamp never
    makes Snakemake redo finished work. Returns its path.
    """
    path = Path(cfg.root) / EFFECTIVE_CONFIG
    text = (
        "# Effective config of the last run (written by the Snakefile; edit config/ instead).\n"
        + yaml.safe_dump(cfg.data, sort_keys=True, allow_unicode=True)
    ).encode("utf-8")
    if not path.exists() or path.read_bytes() != text:
        write_bytes_atomic(path, text)
    return str(path)
