"""Read the points of LAZ/LAS files clipped to a bbox, in chunks.

Point clouds are far larger than memory on a production tile (20 km at 5 pts/m2 is
two billion points), so points are only ever read as chunks of at most
:data:`CHUNK_POINTS` and handed on; nothing here concatenates a whole file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np

from sporbar.errors import InputDataError
from sporbar.las import READ_ERRORS, check_crs, header_bounds, read_header

CHUNK_POINTS = 2_000_000

# ASPRS classes
GROUND, LOW_VEG, MEDIUM_VEG, HIGH_VEG, BUILDING, LOW_NOISE, WATER, HIGH_NOISE = (
    2,
    3,
    4,
    5,
    6,
    7,
    9,
    18,
)
VEGETATION = (LOW_VEG, MEDIUM_VEG, HIGH_VEG)
NOISE = (LOW_NOISE, HIGH_NOISE)


@dataclass(frozen=True)
class Points:
    """One chunk of points (scaled coordinates in metres)."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    classification: np.ndarray
    return_number: np.ndarray

    def __len__(self) -> int:
        """The number of points in the chunk."""
        return int(self.x.size)


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def iter_points(
    paths: Sequence[Path],
    bbox: tuple[float, float, float, float],
    *,
    chunk_size: int = CHUNK_POINTS,
) -> Iterator[Points]:
    """Yield chunks of the points of ``paths`` with ``minx <= x < maxx`` and ``miny < y <= maxy``.

    Files whose header bounds miss ``bbox`` are skipped without reading points. The
    half-open test matches grid cells, so a point on a tile edge belongs to one tile.
    Every file must be in EPSG:25833 (checked first, for all files).

    Raises:
        MissingInputError, InputDataError: a file is missing, unreadable or in another CRS.
    """
    headers = [(Path(p), read_header(Path(p))) for p in paths]
    for p, h in headers:
        check_crs(p, h)
    minx, miny, maxx, maxy = bbox
    for p, h in headers:
        if h.point_count == 0 or not _overlaps(header_bounds(h), bbox):
            continue
        try:
            with laspy.open(str(p)) as reader:
                for chunk in reader.chunk_iterator(chunk_size):
                    x = np.asarray(chunk.x, dtype=np.float64)
                    y = np.asarray(chunk.y, dtype=np.float64)
                    keep = (x >= minx) & (x < maxx) & (y > miny) & (y <= maxy)
                    if not keep.any():
                        continue
                    yield Points(
                        x=x[keep],
                        y=y[keep],
                        z=np.asarray(chunk.z, dtype=np.float64)[keep],
                        classification=np.asarray(chunk.classification, dtype=np.uint8)[keep],
                        return_number=np.asarray(chunk.return_number, dtype=np.uint8)[keep],
                    )
        except READ_ERRORS as err:
            raise InputDataError(
                f"{p}: cannot read points (truncated or corrupt?): {err}; "
                "fetch it again (`sporbar fetch lidar --overwrite`)"
            ) from err
