"""What every airborne lidar source shares: tile ids, complete-file and CRS checks, the fetch of one tile.

A tile's id is ``lidar_<floor(minx)>_<floor(miny)>`` of its header bounds (the pipeline's
``lidar_tile`` wildcard, in the file's own CRS). Every file's CRS comes from the file
(WKT/GeoTIFF VLRs; ``sources.lidar.epsg`` only for files that carry none) and must be
projected, checked before an item is written; its bounds are compared with the area in the
grid CRS. The raw item records the file's own CRS; every downloaded file
is checked to be as long as its header says (a truncated file is deleted and fetched
again, as the downloader does with a checksum mismatch).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import laspy
import pyproj

from sporbar.config import Config
from sporbar.errors import InputDataError, LidarCrsError, MissingInputError
from sporbar.fetch.checksums import Checksum
from sporbar.fetch.copc_remote import CopcSubset, fetch_copc_subset
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Download, download
from sporbar.fetch.errors import IntegrityError, NothingFoundError
from sporbar.fetch.search import SOURCE_PROPERTY, Found, policy, source_provenance
from sporbar.io import check_writable
from sporbar.las import Bounds, LidarCrs, bounds_in, header_bounds, lidar_crs, read_header
from sporbar.redaction import redact_url
from sporbar.stac.items.raw_lidar import raw_lidar_item
from sporbar.stac.record import RunContext

#: raw lidar item property: the query a remote COPC was read with (bounds, CRS, points, bytes read)
COPC_QUERY_PROPERTY = "sporbar:copc_query"


def settings(cfg: Config, kind: str) -> dict[str, Any]:
    """The ``sources.lidar.<kind>`` section."""
    return dict(cfg.data["sources"]["lidar"].get(kind) or {})


def area(cfg: Config) -> Bounds:
    """(minx, miny, maxx, maxy) of the config's area, in the grid CRS."""
    minx, miny, maxx, maxy = (float(v) for v in cfg.data["area"]["bbox"])  # 4 numbers (config schema)
    return minx, miny, maxx, maxy


def stated_epsg(cfg: Config) -> int | None:
    """``sources.lidar.epsg``: the CRS of lidar files that carry none (None: such files are refused)."""
    epsg = cfg.data["sources"]["lidar"].get("epsg")
    return None if epsg is None else int(epsg)


def grid_crs(cfg: Config) -> pyproj.CRS:
    """The grid CRS (``grid.crs``), where the area and the products are."""
    return pyproj.CRS.from_user_input(cfg.data["grid"]["crs"])


def bounds_on_grid(cfg: Config, bounds: Bounds, crs: LidarCrs) -> Bounds:
    """A file's header bounds (in its own CRS) in the grid CRS."""
    return bounds_in(bounds, crs.transformer_to(grid_crs(cfg)))


def file_overlaps(cfg: Config, where: str, header: laspy.LasHeader) -> tuple[Bounds, LidarCrs, bool]:
    """(header bounds in the file's CRS, its CRS, whether it overlaps the area).

    Raises:
        LidarCrsError: the file has no usable CRS (named; see :func:`sporbar.las.lidar_crs`).
    """
    crs = lidar_crs(where, header, stated_epsg=stated_epsg(cfg))
    b = header_bounds(header)
    return b, crs, overlaps(bounds_on_grid(cfg, b, crs), area(cfg))


def copc_query(cfg: Config, bounds: Bounds, crs: pyproj.CRS) -> list[float] | None:
    """The box (in the file's CRS) a remote COPC with header ``bounds`` is read in; None: the whole file.

    The area plus ``sources.lidar.copc_margin`` metres, within the file's bounds. None when the
    margin is null (whole files wanted) or the box would hold the whole file anyway.
    """
    margin = cfg.data["sources"]["lidar"].get("copc_margin", 50)
    if margin is None:
        return None
    to_file = pyproj.Transformer.from_crs(grid_crs(cfg), crs, always_xy=True)
    a = bounds_in(area(cfg), to_file)
    m = float(margin) / crs.axis_info[0].unit_conversion_factor  # metres -> the file's unit
    box = [max(a[0] - m, bounds[0]), max(a[1] - m, bounds[1]), min(a[2] + m, bounds[2]), min(a[3] + m, bounds[3])]
    return None if box == list(bounds) else box


def tile_id(bounds: Bounds) -> str:
    """The delivered tile id of a file with these header bounds."""
    return f"lidar_{math.floor(bounds[0])}_{math.floor(bounds[1])}"


def overlaps(a: Bounds, b: Bounds) -> bool:
    """Whether two boxes share area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def credentials(s: dict[str, Any], url: str) -> Credentials:
    """The credentials of a lidar source's settings for the host of ``url``."""
    return Credentials(user_env=s.get("user_env"), password_env=s.get("password_env"),
                       token_env=s.get("token_env"), netrc_host=urlsplit(url).hostname)


def found(cfg: Config, kind: str, where: str, tiles: list[dict[str, Any]], *, seen: str = "",
          **extra: Any) -> Found:
    """The (query, tiles) of a lidar search.

    Args:
        cfg: the pipeline config (area, grid CRS).
        kind: the source kind.
        where: the folder, URL list or API searched.
        tiles: the tiles found.
        seen: what was looked at (files and their CRSs), for the message when nothing overlaps.
        **extra: the search filters, recorded in the query.

    Raises:
        NothingFoundError: no tile overlaps the area (names where, the area, the filters and ``seen``).
    """
    bbox = list(area(cfg))
    if not tiles:
        raise NothingFoundError(
            f"{where}: no lidar tiles overlap the area {cfg.data['area']['name']} {bbox} "
            f"{cfg.data['grid']['crs']} (source {kind}"
            + "".join(f", {k}={v}" for k, v in extra.items() if k != "bbox_wgs84") + ")"
            + (f"; {seen}" if seen else "")
        )
    return {"source": kind, "where": where, "bbox": bbox, **extra}, tiles


def checked_tile(path: Path, cfg: Config) -> tuple[laspy.LasHeader, LidarCrs]:
    """The LAS header and CRS of ``path``, once the file is as long as it says and has a projected CRS.

    Raises:
        IntegrityError: the file is truncated or not readable as LAS/LAZ (names it).
        LidarCrsError: no CRS (and no ``sources.lidar.epsg``), an unreadable or a geographic CRS.
    """
    check_complete(path)
    header = read_header(path)
    return header, lidar_crs(path, header, stated_epsg=stated_epsg(cfg))


def acquisition_time(header: laspy.LasHeader, stated: str | None = None) -> datetime:
    """When a tile was acquired: ``stated`` (ISO 8601, from its source), else the header's creation date."""
    if stated:
        return datetime.fromisoformat(stated.replace("Z", "+00:00"))
    if header.creation_date:
        return datetime.combine(header.creation_date, datetime.min.time(), UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)


def check_complete(path: Path) -> None:
    """Raise IntegrityError unless ``path`` is a LAS/LAZ file as long as its header says.

    A LAZ file must reach into its chunk table (whose offset is the first 8 bytes of the
    point data), a LAS file past its last point record, a LAS 1.4 file past its extended
    VLRs (e.g. the COPC hierarchy). Reads headers only, so a cut inside the last bytes of a
    LAZ chunk table is left to ``file:size``/``file:checksum``.
    """
    try:
        with laspy.open(str(path)) as reader:
            h = reader.header
    except Exception as err:  # laspy raises several types on bad headers
        raise IntegrityError(f"{path.name}: not a readable LAS/LAZ file ({err})") from err
    size = path.stat().st_size
    start = int(h.offset_to_point_data)
    if h.are_points_compressed:
        with path.open("rb") as fh:
            fh.seek(start)
            raw = fh.read(8)
        table = int.from_bytes(raw, "little", signed=True) if len(raw) == 8 else 0
        need = table + 8 if table > 0 else start + 8
    else:
        need = start + int(h.point_count) * int(h.point_format.size)
    pos, n_evlrs = int(getattr(h, "start_of_first_evlr", 0) or 0), int(getattr(h, "number_of_evlrs", 0) or 0)
    with path.open("rb") as fh:  # LAS 1.4 extended VLRs (e.g. the COPC hierarchy) after the points
        for _ in range(n_evlrs if pos else 0):
            fh.seek(pos + 20)  # reserved (2), user id (16), record id (2), then the length (8)
            raw = fh.read(8)
            pos += 60 + (int.from_bytes(raw, "little") if len(raw) == 8 else 0)
            need = max(need, pos)
            if len(raw) < 8:
                break
    if size < need:
        raise IntegrityError(f"{path.name}: truncated LAS/LAZ file: {size} bytes, its header needs at least {need}")


def fetch_tile(
    ctx: RunContext,
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    kind: str,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Record the ``lidar-raw`` item of one searched tile of source ``kind`` (local: in place; else downloaded).

    Raises:
        MissingInputError: a local tile is no longer there.
        LidarCrsError: the file has no usable CRS (a downloaded one is deleted).
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.download.download`.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    href, checksum = entry["href"], entry.get("checksum")
    subset: CopcSubset | None = None
    if kind == "local":
        path = Path(href)
        if not path.is_file():
            raise MissingInputError(f"{path}: lidar tile {entry['id']} not found (was the folder moved?)")
    else:
        s = settings(cfg, kind)
        if entry.get("copc_query"):  # only the points near the area, by range requests
            subset = fetch_copc_subset(href, tuple(entry["copc_query"]), item_path.parent / f"{entry['id']}.laz",
                                       credentials=credentials(s, href), policy=policy(s), name=entry["id"])
            path = subset.path
        else:
            url_path = urlsplit(href).path
            suffix = ".copc.laz" if url_path.endswith(".copc.laz") else Path(url_path).suffix or ".laz"
            path = download(Download(href, item_path.parent / f"{entry['id']}{suffix}", name=entry["id"],
                                     size=entry.get("size"), checksum=Checksum.parse(checksum) if checksum else None,
                                     credentials=credentials(s, href), validate=check_complete), policy(s))
    try:
        header, crs = checked_tile(path, cfg)
        if entry.get("epsg") and crs.horizontal.to_epsg() != entry["epsg"]:
            # the item's proj:bbox (used to find it) is in another CRS than the points: one of them is wrong
            raise LidarCrsError(f"{path}: lidar CRS is {crs.label}, not the CRS its STAC item declares")
    except InputDataError as err:
        if kind == "local":
            raise
        path.unlink(missing_ok=True)  # not left where the next run would take it as fetched
        declared = f"; the STAC item {entry.get('item_id')} declares EPSG:{entry['epsg']}" if entry.get("epsg") else ""
        raise type(err)(f"{err} (downloaded from {redact_url(href)}{declared}; the file was deleted)") from err
    item = raw_lidar_item(entry["id"], header, str(path.resolve()), crs=crs,
                          acquired=acquisition_time(header, entry.get("datetime")))
    item.properties[SOURCE_PROPERTY] = source_provenance(kind, href, query, checksum)
    how = "indexed in place" if kind == "local" else "downloaded"
    if subset is not None:
        # the whole file's checksum (if the source gave one) says nothing of the subset: this does
        item.properties[COPC_QUERY_PROPERTY] = {"bounds": list(subset.bounds), "crs": crs.label,
                                                "points": subset.points, "bytes_read": subset.bytes_read,
                                                "requests": subset.requests}
        how = (f"the {subset.points} points within {subset.bounds} (file CRS) read from the COPC by "
               f"{subset.requests} range requests ({subset.bytes_read} bytes), written as LAZ")
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=f"Airborne lidar tile {entry['id']} from the {kind} source "
        f"({how}); CRS {crs.label} "
        f"{'stated by sources.lidar.epsg (the file has none)' if crs.stated else 'read from the file'}.",
        command="fetch lidar",
        parameters={"source": kind, "lidar_tile": entry["id"], "output": str(item_path)},
    )

