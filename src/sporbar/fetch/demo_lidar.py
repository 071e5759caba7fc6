"""Fetch one delivered LAZ tile of the demo lidar archive into ``raw/lidar/<lidar_tile>/``.

The file is copied unchanged (a raw item describes the delivery as it came), its
header is read (never its points) and its CRS is checked, then a ``lidar-raw`` item
with the pointcloud and projection extensions is recorded.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import laspy
import pystac
from odc.geo.geom import box

from sporbar.config import Config
from sporbar.demo.lidar import ACQUISITION_DATE
from sporbar.errors import MissingInputError
from sporbar.io import atomic_path, check_writable
from sporbar.lidar.read import EXPECTED_EPSG, check_crs, header_bounds, read_header
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

POINTCLOUD_SCHEMA_URI = "https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json"
PROJECTION_SCHEMA_URI = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
ASSET = "data"

_KIND = {
    "SignedInteger": "signed",
    "UnsignedInteger": "unsigned",
    "FloatingPoint": "floating",
    "BitField": "unsigned",
}


def source_path(source_dir: Path, lidar_tile: str) -> Path:
    """Where the demo archive keeps a delivered tile."""
    return Path(source_dir) / "lidar" / f"{lidar_tile}.laz"


def pc_schemas(header: laspy.LasHeader) -> list[dict[str, Any]]:
    """``pc:schemas``: the point dimensions; X/Y/Z as scaled doubles, as PDAL reports them."""
    out = []
    for d in header.point_format.dimensions:
        if d.name in ("X", "Y", "Z"):
            out.append({"name": d.name, "size": 8, "type": "floating"})
        else:
            out.append(
                {"name": d.name, "size": max(1, d.num_bits // 8), "type": _KIND[d.kind.name]}
            )
    return out


def pc_statistics(header: laspy.LasHeader) -> list[dict[str, Any]]:
    """``pc:statistics`` from the header: coordinate ranges and counts per return number."""
    stats: list[dict[str, Any]] = [
        {"name": n, "position": i, "minimum": round(float(lo), 3), "maximum": round(float(hi), 3)}
        for i, (n, lo, hi) in enumerate(zip("XYZ", header.mins, header.maxs, strict=True))
    ]
    by_return = [int(c) for c in header.number_of_points_by_return]
    stats += [
        {"name": f"return_number={r}", "count": c, "minimum": r, "maximum": r}
        for r, c in enumerate(by_return, start=1)
        if c
    ]
    return stats


def build_item(
    lidar_tile: str, header: laspy.LasHeader, data_href: str, *, acquired: datetime
) -> pystac.Item:
    """The ``lidar-raw`` item of one LAZ file (before provenance is recorded)."""
    minx, miny, maxx, maxy = header_bounds(header)
    footprint = box(minx, miny, maxx, maxy, f"EPSG:{EXPECTED_EPSG}")
    wgs84 = footprint.to_crs("EPSG:4326")
    geometry = json.loads(json.dumps(wgs84.json))  # plain lists, as in the file
    area = max((maxx - minx) * (maxy - miny), 1e-9)
    item = pystac.Item(
        id=lidar_tile,
        geometry=geometry,
        bbox=[round(v, 7) for v in wgs84.boundingbox],
        datetime=acquired,
        properties={
            "pc:count": int(header.point_count),
            "pc:type": "lidar",
            "pc:encoding": "LASzip" if header.are_points_compressed else "binary",
            "pc:density": round(header.point_count / area, 3),
            "pc:schemas": pc_schemas(header),
            "pc:statistics": pc_statistics(header),
            "proj:code": f"EPSG:{EXPECTED_EPSG}",
            "proj:bbox": [round(v, 2) for v in (minx, miny, maxx, maxy)],
        },
        # No "collection" field (it needs a collection link, which record_item does not write):
        # `sporbar publish` sets ext.COLLECTION_LIDAR_RAW from the item path.
        stac_extensions=[POINTCLOUD_SCHEMA_URI, PROJECTION_SCHEMA_URI],
    )
    item.add_asset(
        ASSET,
        pystac.Asset(
            href=data_href,
            media_type=ext.LAZ,
            title=f"Airborne lidar point cloud {lidar_tile} (LAS {header.version}, point format "
            f"{header.point_format.id}, LASzip)",
            roles=["data"],
        ),
    )
    return item


def fetch_lidar(
    cfg: Config,
    source_dir: Path,
    lidar_tile: str,
    output: Path,
    *,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Copy a delivered LAZ tile beside ``output`` and record its ``lidar-raw`` item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: the tile is not in the source archive.
        InputDataError: the file is unreadable or not in EPSG:25833.
        OutputExistsError: ``output`` exists and ``overwrite`` is False.
    """
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    src = source_path(source_dir, lidar_tile)
    if not src.is_file():
        have = sorted(p.stem for p in (Path(source_dir) / "lidar").glob("*.laz"))
        raise MissingInputError(
            f"{src}: lidar tile {lidar_tile!r} not in the source archive "
            f"(has {', '.join(have) or 'no LAZ files'}); "
            "run `sporbar demo generate` or check --lidar-tile"
        )
    check_crs(src, read_header(src))
    dest = output.parent / f"{lidar_tile}.laz"
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    header = read_header(dest)
    check_crs(dest, header)
    acquired = datetime(
        ACQUISITION_DATE.year, ACQUISITION_DATE.month, ACQUISITION_DATE.day, tzinfo=UTC
    )
    item = build_item(lidar_tile, header, f"./{dest.name}", acquired=acquired)
    log.info("fetch lidar: %s -> %s (%d points)", src, dest, header.point_count)
    step = Step(
        lineage=(
            f"Copied delivered airborne lidar tile {lidar_tile} "
            f"(LAZ, LAS {header.version} point format "
            f"{header.point_format.id}) unchanged from the demo archive; checked its CRS is "
            f"EPSG:{EXPECTED_EPSG} and described it from the LAS header."
        ),
        command="fetch lidar",
        parameters={"source_dir": str(source_dir), "lidar_tile": lidar_tile, "output": str(output)},
        rule=rule,
    )
    return record_item(
        item, output, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash)
    )
