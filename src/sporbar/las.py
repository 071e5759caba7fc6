"""LAS/LAZ file headers: reading one, its CRS check and its bounds (no points are read).

Fetch (tile ids and CRS checks before an item is written) and lidar (which files to read)
both need the header; it lives here, below both, so neither stage imports the other.
"""

from __future__ import annotations

from pathlib import Path

import laspy
import lazrs

from sporbar.errors import InputDataError, MissingInputError

# ETRS89 / UTM zone 33N, the CRS of every lidar file the pipeline reads
EXPECTED_EPSG = 25833

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


def crs_label(header: laspy.LasHeader) -> str:
    """The file's CRS as ``EPSG:<code> (<name>)``, its name, or ``no CRS``."""
    try:
        crs = header.parse_crs()
    except Exception as err:  # laspy raises several types on malformed CRS VLRs
        return f"an unreadable CRS ({err})"
    if crs is None:
        return "no CRS"
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def check_crs(path: Path, header: laspy.LasHeader, epsg: int = EXPECTED_EPSG) -> None:
    """Raise unless the file's CRS (from its WKT or GeoTIFF VLRs) is ``EPSG:<epsg>``.

    Raises:
        InputDataError: naming the file, the CRS found and the CRS expected.
    """
    try:
        crs = header.parse_crs()
    except Exception:  # noqa: BLE001 - reported below with the file name
        crs = None
    if crs is None or crs.to_epsg() != epsg:
        horizontal = None
        if crs is not None and crs.is_compound:
            horizontal = next((c for c in crs.sub_crs_list if c.to_epsg() == epsg), None)
        if horizontal is None:
            raise InputDataError(
                f"{path}: lidar CRS is {crs_label(header)}, "
                f"expected EPSG:{epsg} (ETRS89 / UTM 33N); "
                "reproject the file (e.g. `pdal translate ... reprojection`) or fix its CRS VLR"
            )


def header_bounds(header: laspy.LasHeader) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of the points, from the header."""
    mins, maxs = header.mins, header.maxs
    return float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])
