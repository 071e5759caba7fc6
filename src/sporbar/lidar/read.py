"""Read the points of LAZ/LAS files clipped to a grid bbox, in chunks, in the grid CRS.

Point clouds are far larger than memory on a production tile (20 km at 5 pts/m2 is
two billion points), so points are only ever read as chunks of at most
:data:`CHUNK_POINTS` and handed on; nothing here concatenates a whole file.

A file in another projected CRS than the grid (Norwegian deliveries come in UTM 32, 33
and 35) has its x/y transformed with pyproj, one vectorised call per chunk, after a cut to
the grid bbox brought into the file's CRS; z is converted to metres (see :mod:`sporbar.las`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import laspy
import numpy as np
import pyproj

from sporbar.errors import InputDataError
from sporbar.las import READ_ERRORS, LidarCrs, bounds_in, header_bounds, lidar_crs, read_header

CHUNK_POINTS = 2_000_000


@dataclass(frozen=True)
class Points:
    """One chunk of points (scaled coordinates in metres, in the grid CRS)."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    classification: np.ndarray
    return_number: np.ndarray
    withheld: np.ndarray  # bool: the LAS withheld flag

    def __len__(self) -> int:
        """The number of points in the chunk."""
        return int(self.x.size)

    def subset(self, keep: np.ndarray) -> Points:
        """The points where ``keep`` is True."""
        sel = np.flatnonzero(keep)  # one index array, then take: faster than a boolean copy per field
        return Points(**{f.name: getattr(self, f.name).take(sel) for f in fields(self)})


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def file_crss(paths: Sequence[Path], *, stated_epsg: int | None = None) -> list[tuple[Path, laspy.LasHeader, LidarCrs]]:
    """Header and CRS of every file, all checked before any point is read.

    Raises:
        MissingInputError, InputDataError: a file is missing or unreadable.
        LidarCrsError: a file has no usable CRS (see :func:`sporbar.las.lidar_crs`).
    """
    out = []
    for p in paths:
        h = read_header(Path(p))
        out.append((Path(p), h, lidar_crs(p, h, stated_epsg=stated_epsg)))
    return out


def iter_points(
    paths: Sequence[Path],
    bbox: tuple[float, float, float, float],
    *,
    grid_crs: pyproj.CRS | str,
    stated_epsg: int | None = None,
    chunk_size: int = CHUNK_POINTS,
) -> Iterator[Points]:
    """Yield chunks of the points of ``paths`` with ``minx <= x < maxx`` and ``miny < y <= maxy``.

    ``bbox`` and the points yielded are in ``grid_crs``; z in metres. Files whose header
    bounds miss ``bbox`` are skipped without reading points. The half-open test matches grid
    cells, so a point on a tile edge belongs to one tile. Every file's CRS is checked first.

    Args:
        paths: LAS/LAZ files.
        bbox: (minx, miny, maxx, maxy) in ``grid_crs``.
        grid_crs: the CRS of the grid.
        stated_epsg: ``sources.lidar.epsg``, the CRS of files that carry none.
        chunk_size: most points read at once.

    Raises:
        MissingInputError, InputDataError: a file is missing or unreadable.
        LidarCrsError: a file has no usable CRS.
    """
    grid = pyproj.CRS.from_user_input(grid_crs)
    for p, h, crs in file_crss(paths, stated_epsg=stated_epsg):
        to_grid = crs.transformer_to(grid)
        # the bbox in the file's CRS (a little wider: a cut there must not lose edge points)
        fx0, fy0, fx1, fy1 = bounds_in(bbox, None if to_grid is None else
                                       pyproj.Transformer.from_crs(grid, crs.horizontal, always_xy=True))
        pad = 0.0 if to_grid is None else 1e-6 * max(fx1 - fx0, fy1 - fy0) + 1.0
        fx0, fy0, fx1, fy1 = fx0 - pad, fy0 - pad, fx1 + pad, fy1 + pad
        if h.point_count == 0 or not _overlaps(header_bounds(h), (fx0, fy0, fx1, fy1)):
            continue
        try:
            with laspy.open(str(p)) as reader:
                for chunk in reader.chunk_iterator(chunk_size):
                    pts = _chunk_points(chunk, (fx0, fy0, fx1, fy1), bbox, to_grid, crs.z_to_metres)
                    if pts is not None:
                        yield pts
        except READ_ERRORS as err:
            raise InputDataError(
                f"{p}: cannot read points (truncated or corrupt?): {err}; "
                "fetch it again (`sporbar fetch lidar --overwrite`)"
            ) from err


def _in_box(x: np.ndarray, y: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """The half-open grid test ``minx <= x < maxx`` and ``miny < y <= maxy``."""
    minx, miny, maxx, maxy = bbox
    inside: np.ndarray = (x >= minx) & (x < maxx) & (y > miny) & (y <= maxy)
    return inside


def _chunk_points(
    chunk: laspy.ScaleAwarePointRecord,
    file_bbox: tuple[float, float, float, float],
    grid_bbox: tuple[float, float, float, float],
    to_grid: pyproj.Transformer | None,
    z_to_metres: float,
) -> Points | None:
    """The points of a chunk inside ``grid_bbox``, in the grid CRS; None if none.

    A chunk in another CRS is first cut to ``file_bbox`` (the grid bbox in the file's CRS,
    widened) so only the points near the tile are transformed.
    """
    x = np.asarray(chunk.x, dtype=np.float64)
    y = np.asarray(chunk.y, dtype=np.float64)
    z = np.asarray(chunk.z, dtype=np.float64)
    cls = np.asarray(chunk.classification, dtype=np.uint8)
    ret = np.asarray(chunk.return_number, dtype=np.uint8)
    held = np.asarray(chunk.withheld, dtype=bool)
    if to_grid is not None:
        fx0, fy0, fx1, fy1 = file_bbox
        near = (x >= fx0) & (x <= fx1) & (y >= fy0) & (y <= fy1)
        if not near.any():
            return None
        if not near.all():
            sel = np.flatnonzero(near)
            x, y, z = x.take(sel), y.take(sel), z.take(sel)
            cls, ret, held = cls.take(sel), ret.take(sel), held.take(sel)
        x, y = (np.asarray(v, np.float64) for v in to_grid.transform(x, y))
    keep = _in_box(x, y, grid_bbox)
    if not keep.any():
        return None
    if z_to_metres != 1.0:
        z = z * z_to_metres
    pts = Points(x=x, y=y, z=z, classification=cls, return_number=ret, withheld=held)
    return pts if keep.all() else pts.subset(keep)
