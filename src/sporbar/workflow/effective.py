"""The effective config of a Snakemake run, written where every step can read it."""

from __future__ import annotations

import yaml

from sporbar.config import Config, effective_config_path
from sporbar.io import write_bytes_atomic


def write_effective_config(cfg: Config) -> str:
    """Write the validated config (file + overrides + defaults) to ``<root>/config/effective-<hash>.yaml``.

    The name is the config's hash, so a parse with another config (even ``snakemake -n``
    while a run is going) writes another file and never changes the one the run's steps
    read. A file already there is kept as it is (same name, same content), so its timestamp
    never makes Snakemake redo finished work. Returns its path.
    """
    path = effective_config_path(cfg.root, cfg.hash)
    if not path.exists():
        text = (
            "# Effective config of the runs whose items record sporbar:config_hash "
            f"{cfg.hash}\n# (written by the Snakefile; edit config/ instead).\n"
            + yaml.safe_dump(cfg.data, sort_keys=True, allow_unicode=True)
        ).encode("utf-8")
        write_bytes_atomic(path, text)
    return str(path)
