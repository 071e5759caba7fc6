"""What every airborne lidar source shares: tile ids, complete-file and CRS checks, the fetch of one tile.

A tile's id is ``lidar_<floor(minx)>_<floor(miny)>`` of its header bounds (the pipeline's
``lidar_tile`` wildcard). Every file's CRS comes from the file (WKT/GeoTIFF VLRs) and is
checked against ``sources.lidar.epsg`` before an item is written; every downloaded file
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

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.checksums import Checksum
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Download, download
from sporbar.fetch.errors import IntegrityError, NothingFoundError
from sporbar.fetch.search import SOURCE_PROPERTY, Found, policy, source_provenance
from sporbar.io import check_writable
from sporbar.las import check_crs, read_header
from sporbar.redaction import redact_url
from sporbar.stac.items.raw_lidar import raw_lidar_item
from sporbar.stac.record import RunContext

Bounds = tuple[float, float, float, float]


def settings(cfg: Config, kind: str) -> dict[str, Any]:
    """The ``sources.lidar.<kind>`` section."""
    return dict(cfg.data["sources"]["lidar"].get(kind) or {})


def area(cfg: Config) -> Bounds:
    """(minx, miny, maxx, maxy) of the config's area, in the grid CRS."""
    minx, miny, maxx, maxy = (float(v) for v in cfg.data["area"]["bbox"])  # 4 numbers (config schema)
    return minx, miny, maxx, maxy


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


def found(cfg: Config, kind: str, where: str, tiles: list[dict[str, Any]], **extra: Any) -> Found:
    """The (query, tiles) of a lidar search.

    Raises:
        NothingFoundError: no tile overlaps the area (names where, the area and the filters).
    """
    bbox = list(area(cfg))
    if not tiles:
        raise NothingFoundError(
            f"{where}: no lidar tiles overlap the area {cfg.data['area']['name']} {bbox} "
            f"{cfg.data['grid']['crs']} (source {kind}"
            + "".join(f", {k}={v}" for k, v in extra.items() if k != "bbox_wgs84") + ")"
        )
    return {"source": kind, "where": where, "bbox": bbox, **extra}, tiles


def checked_tile(path: Path, epsg: int) -> laspy.LasHeader:
    """The LAS header of ``path``, once the file is as long as it says and in EPSG:``epsg``.

    Raises:
        IntegrityError: the file is truncated or not readable as LAS/LAZ (names it).
        InputDataError: no CRS, or another CRS (names the file and both CRSs).
    """
    check_complete(path)
    header = read_header(path)
    check_crs(path, header, epsg)
    return header


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
        InputDataError: the file is not in ``sources.lidar.epsg`` (a downloaded one is deleted).
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.download.download`.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    epsg = int(cfg.data["sources"]["lidar"]["epsg"])
    href, checksum = entry["href"], entry.get("checksum")
    if kind == "local":
        path = Path(href)
        if not path.is_file():
            raise MissingInputError(f"{path}: lidar tile {entry['id']} not found (was the folder moved?)")
    else:
        s = settings(cfg, kind)
        url_path = urlsplit(href).path
        suffix = ".copc.laz" if url_path.endswith(".copc.laz") else Path(url_path).suffix or ".laz"
        path = download(Download(href, item_path.parent / f"{entry['id']}{suffix}", name=entry["id"],
                                 size=entry.get("size"), checksum=Checksum.parse(checksum) if checksum else None,
                                 credentials=credentials(s, href), validate=check_complete), policy(s))
    try:
        header = checked_tile(path, epsg)
    except InputDataError as err:
        if kind == "local":
            raise
        path.unlink(missing_ok=True)  # not left where the next run would take it as fetched
        declared = f"; the STAC item {entry.get('item_id')} declares EPSG:{entry['epsg']}" if entry.get("epsg") else ""
        raise InputDataError(f"{err} (downloaded from {redact_url(href)}{declared}; the file was deleted)") from err
    item = raw_lidar_item(entry["id"], header, str(path.resolve()), epsg=epsg,
                          acquired=acquisition_time(header, entry.get("datetime")))
    item.properties[SOURCE_PROPERTY] = source_provenance(kind, href, query, checksum)
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=f"Airborne lidar tile {entry['id']} from the {kind} source "
        f"({'indexed in place' if kind == 'local' else 'downloaded'}); CRS EPSG:{epsg} checked from the file.",
        command="fetch lidar",
        parameters={"source": kind, "lidar_tile": entry["id"], "output": str(item_path)},
    )

