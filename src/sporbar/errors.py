"""Named exceptions. Each also inherits the builtin a caller would expect to catch."""

from __future__ import annotations


class SporbarError(Exception):
    """Root of every error sporbar raises on purpose. The CLI prints it as one line."""


class ConfigError(SporbarError, ValueError):
    """A config file is missing, is not YAML, or does not match the config schema."""


class InputDataError(SporbarError, ValueError):
    """An input file exists but its content is wrong (missing band, column, CRS...)."""


class MissingInputError(SporbarError, FileNotFoundError):
    """An input file or item that a step needs does not exist."""


class OutputExistsError(SporbarError, FileExistsError):
    """An output exists and ``--overwrite`` was not given."""


class GridError(SporbarError, ValueError):
    """A tile id or area of interest does not fit the output grid."""


class CatalogError(SporbarError, ValueError):
    """A STAC item or catalog is invalid, has broken links or wrong checksums."""


class ClusterError(SporbarError, RuntimeError):
    """Dask worker jobs on Slurm were refused, ended before connecting, or never started."""
