"""Named exceptions. Each also inherits the builtin a caller would expect to catch."""

from __future__ import annotations

import errno
import os


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


class ArrayShapeError(SporbarError, ValueError):
    """An array handed to the raster writer is not on its grid, or has another number of bands than names.

    The caller built the array wrong; the message names the output and both shapes.
    """


class ClusterError(SporbarError, RuntimeError):
    """Dask worker jobs on Slurm were refused, ended before connecting, or never started."""


class ServiceError(SporbarError, RuntimeError):
    """A service that sporbar starts (pycsw for the CSW) failed to set up or did not answer."""


class EmptyPeriodError(InputDataError):
    """An ARD period holds no scene on a tile, so the features of that period are all NaN.

    Raised by ``samples`` and ``predict`` (the model needs every period's features); the
    ARD item records the empty period in ``sporbar:period_scenes``.
    """


class ModelMismatchError(InputDataError):
    """A reused (published) model does not fit this run.

    Its MLM input spec (feature names, order, normalisation) or classes differ from the run's;
    the message lists every difference.
    """


class ChecksumMismatchError(InputDataError):
    """A fetched file differs from the ``file:checksum`` (or ``file:size``) its STAC item records."""


class TooFewSamplesError(InputDataError):
    """A class has fewer training samples than cross-validation folds, so some fold cannot hold it."""


class LidarCrsError(InputDataError):
    """A lidar file's CRS cannot be used: unreadable, absent, or not a projected CRS."""


class NoCrsError(LidarCrsError):
    """A lidar file carries no CRS record (WKT or GeoTIFF VLR) and ``sources.lidar.epsg`` states none."""


class GeographicCrsError(LidarCrsError):
    """A lidar file is in a geographic (degrees) CRS: its points cannot be gridded in metres."""


# errno of a failed write -> what the user can do about it
_WRITE_FAILURES = {
    errno.ENOSPC: "free space there, or set root (or -o) to a file system with room",
    errno.EDQUOT: "free space in the project, or ask for a larger quota",
    errno.EROFS: "set root (or -o) to a writable folder (on Slurm: the job's work space, then stage out)",
}


class OutputWriteError(SporbarError, OSError):
    """An output could not be written: no space left, quota exceeded or a read-only file system."""

    @classmethod
    def of(cls, err: BaseException, path: str | os.PathLike[str] | None = None) -> OutputWriteError | None:
        """The OutputWriteError for ``err`` (or an OSError in its cause chain), else None.

        Args:
            err: the exception a write raised.
            path: the file being written, named when the OSError does not name one.
        """
        seen: set[int] = set()
        e: BaseException | None = err
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            if isinstance(e, OutputWriteError):
                return e
            if isinstance(e, OSError) and e.errno in _WRITE_FAILURES:
                where = e.filename if e.filename is not None else path
                return cls(e.errno, f"{where}: cannot write: {os.strerror(e.errno)}; {_WRITE_FAILURES[e.errno]}")
            e = e.__cause__ or e.__context__
        return None

    def __str__(self) -> str:
        """The message alone (OSError's default prefixes ``[Errno N]``)."""
        return str(self.strerror)
