"""LAS/LAZ file headers: reading one, its CRS and its bounds (no points are read).

Fetch (tile ids and CRS checks before an item is written) and lidar (which files to read,
and how to bring their points onto the grid) both need the header; it lives here, below
both, so neither stage imports the other.

A file's CRS is the one its WKT or GeoTIFF VLRs state (laspy ``parse_crs``); a file with
none is read in ``sources.lidar.epsg`` when the config states one, else refused
(:class:`~sporbar.errors.NoCrsError`). The horizontal CRS must be projected
(:class:`~sporbar.errors.GeographicCrsError` for degrees). Heights are converted to metres
by the vertical CRS's unit, or, when the file states no vertical CRS, by the horizontal
CRS's unit (a US delivery in feet has heights in feet); they are never moved between
vertical datums (the datum is recorded on the raw item).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import laspy
import lazrs
import pyproj

from sporbar.errors import GeographicCrsError, InputDataError, LidarCrsError, MissingInputError, NoCrsError

Bounds = tuple[float, float, float, float]

# what laspy and its LAZ backend raise on a truncated or corrupt file
READ_ERRORS = (laspy.errors.LaspyException, lazrs.LazrsError, OSError, ValueError)


def read_header(path: Path) -> laspy.LasHeader:
    """The header of a LAS/LAZ file (no points are read).

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: the file is not a readable LAS/LAZ file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: lidar file not found")
    try:
        with laspy.open(str(path)) as reader:
            return reader.header
    except READ_ERRORS as err:
        raise InputDataError(
            f"{path}: not a readable LAS/LAZ file (truncated or corrupt?): {err}; "
            "fetch it again (`sporbar fetch lidar --overwrite`)"
        ) from err


def is_copc(header: laspy.LasHeader) -> bool:
    """Whether a file is a COPC (Cloud-Optimized Point Cloud): it has the ``copc`` info VLR."""
    return any(v.user_id == "copc" and v.record_id == 1 for v in header.vlrs)


@dataclass(frozen=True)
class LidarCrs:
    """The CRS of a lidar file's points.

    Attributes:
        horizontal: the projected CRS of x and y.
        vertical: the vertical CRS of z, when the file states one.
        stated: True when the file carries no CRS and ``sources.lidar.epsg`` gave it.
    """

    horizontal: pyproj.CRS
    vertical: pyproj.CRS | None = None
    stated: bool = False

    @property
    def code(self) -> str | None:
        """``EPSG:<n>`` of the horizontal CRS, or None when it has no EPSG code."""
        epsg = self.horizontal.to_epsg()
        return f"EPSG:{epsg}" if epsg else None

    @property
    def label(self) -> str:
        """The horizontal CRS as ``EPSG:<n> (<name>)`` or its name, plus the vertical CRS."""
        h = f"{self.code} ({self.horizontal.name})" if self.code else self.horizontal.name
        return h + (f" + {self.vertical.name}" if self.vertical is not None else "")

    @property
    def z_to_metres(self) -> float:
        """Metres per z unit: the vertical CRS's unit, else the horizontal CRS's (see module docstring)."""
        crs = self.vertical if self.vertical is not None else self.horizontal
        return float(crs.axis_info[0].unit_conversion_factor)

    def same_as(self, other: pyproj.CRS) -> bool:
        """Whether the horizontal CRS is ``other`` (so points need no transformation)."""
        mine, theirs = self.horizontal.to_epsg(), other.to_epsg()
        if mine is not None and theirs is not None:
            return bool(mine == theirs)
        return bool(self.horizontal.equals(other, ignore_axis_order=True))

    def transformer_to(self, other: pyproj.CRS) -> pyproj.Transformer | None:
        """x/y from this CRS to ``other`` (always x, y order), or None when they are the same CRS."""
        if self.same_as(other):
            return None
        return pyproj.Transformer.from_crs(self.horizontal, other, always_xy=True)


def lidar_crs(path: Path | str, header: laspy.LasHeader, *, stated_epsg: int | None = None) -> LidarCrs:
    """The CRS of a LAS/LAZ file: from its WKT/GeoTIFF VLRs, else ``stated_epsg``.

    Args:
        path: the file (or URL), for messages.
        header: its LAS header.
        stated_epsg: ``sources.lidar.epsg``: the CRS of files that carry none (None: refuse them).

    Returns:
        The file's horizontal (projected) CRS and vertical CRS, if any.

    Raises:
        LidarCrsError: the CRS records cannot be parsed, or the CRS is not projected.
        NoCrsError: the file has no CRS record and ``stated_epsg`` is None.
        GeographicCrsError: the horizontal CRS is geographic (degrees).
    """
    try:
        crs = header.parse_crs()
    except Exception as err:  # laspy raises several types on malformed CRS VLRs
        raise LidarCrsError(f"{path}: lidar CRS records (WKT/GeoTIFF VLRs) are unreadable: {err}") from err
    stated = False
    if crs is None:
        if stated_epsg is None:
            raise NoCrsError(
                f"{path}: lidar file carries no CRS (no WKT or GeoTIFF VLR); set sources.lidar.epsg "
                "to the CRS it was delivered in, or fix the file (e.g. `pdal translate --writers.las.a_srs`)"
            )
        crs, stated = pyproj.CRS.from_epsg(stated_epsg), True
    horizontal, vertical = crs, None
    if crs.is_compound:
        subs = crs.sub_crs_list
        horizontal = next((c for c in subs if not c.is_vertical), subs[0])
        vertical = next((c for c in subs if c.is_vertical), None)
    if horizontal.is_geographic:
        raise GeographicCrsError(
            f"{path}: lidar CRS is {crs_name(horizontal)}, a geographic CRS (degrees); points must be "
            "in a projected CRS in metres or feet (e.g. UTM); reproject the file first"
        )
    if not horizontal.is_projected:
        raise LidarCrsError(
            f"{path}: lidar CRS is {crs_name(horizontal)}, not a projected CRS; reproject the file first"
        )
    return LidarCrs(horizontal, vertical, stated)


def crs_name(crs: pyproj.CRS) -> str:
    """``EPSG:<code> (<name>)`` or the name of a CRS without an EPSG code."""
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def bounds_in(bounds: Bounds, transformer: pyproj.Transformer | None) -> Bounds:
    """A box transformed (edges densified) to the transformer's target CRS; unchanged for None."""
    if transformer is None:
        return bounds
    x0, y0, x1, y1 = transformer.transform_bounds(*bounds, densify_pts=21)
    return float(x0), float(y0), float(x1), float(y1)


def header_bounds(header: laspy.LasHeader) -> Bounds:
    """(minx, miny, maxx, maxy) of the points, from the header."""
    mins, maxs = header.mins, header.maxs
    return float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])
