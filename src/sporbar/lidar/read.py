"""Read the points of LAZ/LAS files clipped to a grid bbox, in chunks, in the grid CRS.

Point clouds are far larger than memory on a production tile (20 km at 5 pts/m2 is
two billion points), so points are only ever read as chunks of at most
:data:`CHUNK_POINTS` and handed on; nothing here concatenates a whole file.

A file in another projected CRS than the grid (Norwegian deliveries come in UTM 32, 33
and 35) has its x/y transformed with pyproj, one vectorised call per chunk, after a cut to
the grid bbox brought into the file's CRS; z is converted to metres (see :mod:`sporbar.las`).

Only the dimensions the stage uses are decompressed (:data:`NEEDED`: LAZ 1.4 point formats
6-10 store them in separate layers, and lazrs skips the others). A COPC file is not read
whole: its octree is queried for the tile's bbox (laspy's ``CopcReader``), window by window.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import laspy
import numpy as np
import pyproj

from sporbar.errors import InputDataError
from sporbar.las import READ_ERRORS, LidarCrs, bounds_in, header_bounds, is_copc, lidar_crs, read_header
from sporbar.lidar import kernels
from sporbar.lidar.classes import PointClasses, Role
from sporbar.lidar.ground import GROUND_CLASS, UNCLASSIFIED, GroundFilter, classify_ground, ground_share

log = logging.getLogger(__name__)

CHUNK_POINTS = 2_000_000
# x, y, returns, z, classification and flags (withheld): what the stage reads
_D = laspy.DecompressionSelection
NEEDED = _D.XY_RETURNS_CHANNEL | _D.Z | _D.CLASSIFICATION | _D.FLAGS


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


@dataclass(frozen=True)
class GroundClassified:
    """A file classified by the ground filter: its ground-class share before and after."""

    path: Path
    share_before: float
    share_after: float


@dataclass(frozen=True)
class GroundPlan:
    """When and how files without a ground class are classified (see :mod:`sporbar.lidar.ground`).

    Attributes:
        classes: the class roles (ground codes; noise and withheld points are not filtered).
        params: the CSF parameters (``min_ground_share`` 0: never).
        done: filled with a record per file classified.
    """

    classes: PointClasses
    params: GroundFilter
    done: list[GroundClassified]


def iter_points(
    paths: Sequence[Path],
    bbox: tuple[float, float, float, float],
    *,
    grid_crs: pyproj.CRS | str,
    stated_epsg: int | None = None,
    chunk_size: int = CHUNK_POINTS,
    ground: GroundPlan | None = None,
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
        ground: classify the ground of files with (almost) no ground class; None: never.

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
            if ground is not None and ground.params.min_ground_share > 0:
                share = ground_share(p, ground.classes.ground)
                if share < ground.params.min_ground_share:
                    log.warning("lidar: %s has a ground-class share of %.4f (below lidar.ground_filter."
                                "min_ground_share %g): its ground is classified by CSF, recorded in the item "
                                "(sporbar:ground_classification)", p, share, ground.params.min_ground_share)
                    yield from _ground_classified(p, h, bbox, to_grid, crs.z_to_metres, ground, share, chunk_size)
                    continue
            for chunk in _chunks(p, h, (fx0, fy0, fx1, fy1), chunk_size):
                pts = _chunk_points(chunk, (fx0, fy0, fx1, fy1), bbox, to_grid, crs.z_to_metres)
                if pts is not None:
                    yield pts
        except InputDataError:
            raise  # already names the file and the problem (a broken COPC hierarchy)
        except READ_ERRORS as err:
            raise InputDataError(
                f"{p}: cannot read points (truncated or corrupt?): {err}; "
                "fetch it again (`sporbar fetch lidar --overwrite`)"
            ) from err


def _ground_classified(
    path: Path,
    header: laspy.LasHeader,
    bbox: tuple[float, float, float, float],
    to_grid: pyproj.Transformer | None,
    z_to_metres: float,
    ground: GroundPlan,
    share: float,
    chunk_size: int,
) -> Iterator[Points]:
    """The points of a whole file, classified by CSF, then those inside ``bbox`` in chunks.

    Noise, withheld and unknown-class points keep their class and are not filtered; the
    others become ground (:data:`GROUND_CLASS`) or, if they were ground, unclassified.
    """
    everywhere = (-math.inf, -math.inf, math.inf, math.inf)
    parts = []
    with laspy.open(str(path), decompression_selection=NEEDED) as reader:
        for chunk in reader.chunk_iterator(chunk_size):
            pts = _chunk_points(chunk, everywhere, everywhere, to_grid, z_to_metres)
            if pts is not None:
                parts.append(pts)
    if not parts:
        return
    pts = Points(**{f.name: np.concatenate([getattr(q, f.name) for q in parts]) for f in fields(Points)})
    del parts
    roles = ground.classes.roles()[pts.classification]
    usable = np.isin(roles, (Role.GROUND, Role.VEGETATION, Role.OTHER)) & (ground.classes.keep_withheld | ~pts.withheld)
    sel = np.flatnonzero(usable)
    is_ground = classify_ground(pts.x[sel], pts.y[sel], pts.z[sel], ground.params)
    cls = pts.classification.copy()
    was_ground = np.isin(cls, ground.classes.ground)
    cls[sel] = np.where(is_ground, GROUND_CLASS, np.where(was_ground[sel], UNCLASSIFIED, cls[sel]))
    ground.done.append(GroundClassified(path, share, float(is_ground.sum()) / max(int(pts.x.size), 1)))
    keep = np.flatnonzero(_in_box(pts.x, pts.y, bbox))
    for i in range(0, keep.size, chunk_size):
        take = keep[i:i + chunk_size]
        yield Points(x=pts.x[take], y=pts.y[take], z=pts.z[take], classification=cls[take],
                     return_number=pts.return_number[take], withheld=pts.withheld[take])


def _chunks(
    path: Path, header: laspy.LasHeader, bbox: tuple[float, float, float, float], chunk_size: int
) -> Iterator[laspy.ScaleAwarePointRecord]:
    """Point records of ``path`` near ``bbox`` (file CRS): COPC by spatial query, else every chunk."""
    if is_copc(header):
        yield from copc_chunks(path, header, bbox, chunk_size)
        return
    with laspy.open(str(path), decompression_selection=NEEDED) as reader:
        yield from reader.chunk_iterator(chunk_size)


def copc_chunks(
    path: Path, header: laspy.LasHeader, bbox: tuple[float, float, float, float], chunk_size: int
) -> Iterator[laspy.ScaleAwarePointRecord]:
    """The points of a COPC file inside ``bbox`` (file CRS), read by octree queries.

    The part of ``bbox`` inside the file is cut into k x k windows of about ``chunk_size``
    points each (by the header's mean density), queried one by one, so memory stays bounded;
    a point on a window edge is kept in one window only (half-open, the last one closed).

    Raises:
        InputDataError: the COPC hierarchy points outside the file (names it).
    """
    hx0, hy0, hx1, hy1 = header_bounds(header)
    x0, y0, x1, y1 = max(bbox[0], hx0), max(bbox[1], hy0), min(bbox[2], hx1), min(bbox[3], hy1)
    if x1 < x0 or y1 < y0:
        return
    share = (x1 - x0) * (y1 - y0) / max((hx1 - hx0) * (hy1 - hy0), 1e-9)
    k = max(1, math.ceil(math.sqrt(header.point_count * min(share, 1.0) / chunk_size)))
    xs, ys = np.linspace(x0, x1, k + 1), np.linspace(y0, y1, k + 1)
    with laspy.CopcReader.open(str(path), decompression_selection=NEEDED) as reader:
        check_hierarchy(path, reader)
        for i in range(k):
            for j in range(k):
                lo, hi = np.array([xs[i], ys[j]]), np.array([xs[i + 1], ys[j + 1]])
                pts = reader.query(laspy.Bounds(mins=lo, maxs=hi))
                if len(pts) == 0:
                    continue
                x, y = np.asarray(pts.x), np.asarray(pts.y)
                own = ((x >= lo[0]) & ((x < hi[0]) | (i == k - 1))
                       & (y >= lo[1]) & ((y < hi[1]) | (j == k - 1)))
                yield pts if own.all() else pts[own]


def check_hierarchy(path: Path, reader: laspy.CopcReader) -> None:
    """Raise InputDataError unless every entry of the COPC root hierarchy page lies inside the file.

    A broken hierarchy otherwise reads as an empty file (laspy skips nodes it cannot place).
    """
    size = Path(path).stat().st_size
    entries = list(reader.root_page.entries.values())
    bad = [e for e in entries
           if e.point_count != 0 and not (e.offset >= 0 and e.byte_size > 0 and e.offset + e.byte_size <= size)]
    if bad or (reader.header.point_count and not entries):
        raise InputDataError(
            f"{path}: COPC hierarchy is broken ({len(bad)} of {len(entries)} root entries point outside "
            f"the {size}-byte file); fetch it again (`sporbar fetch lidar --overwrite`) or rewrite it "
            "(e.g. `pdal translate ... --writers.copc`)"
        )


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
    cls = np.asarray(chunk.classification, dtype=np.uint8)
    ret = np.asarray(chunk.return_number, dtype=np.uint8)
    held = np.asarray(chunk.withheld, dtype=bool)
    if to_grid is None:  # scaled and cut in one compiled pass
        arr = chunk.array
        x, y, z, sel = kernels.scaled_in_box(arr["X"], arr["Y"], arr["Z"], np.asarray(chunk.scales, np.float64),
                                             np.asarray(chunk.offsets, np.float64), np.array(grid_bbox, np.float64))
        if sel.size == 0:
            return None
        if sel.size < len(chunk):
            cls, ret, held = cls.take(sel), ret.take(sel), held.take(sel)
        if z_to_metres != 1.0:
            z = z * z_to_metres
        return Points(x=x, y=y, z=z, classification=cls, return_number=ret, withheld=held)
    x = np.asarray(chunk.x, dtype=np.float64)
    y = np.asarray(chunk.y, dtype=np.float64)
    z = np.asarray(chunk.z, dtype=np.float64)
    # another CRS: cut to the grid bbox in the file's CRS first, so only the points near it are transformed
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
