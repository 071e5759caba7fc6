"""Airborne lidar (LAZ/COPC) from a STAC API, a URL list file, or a local folder.

Search (``sporbar search lidar``) lists the tiles whose header bounds overlap the area
(in the grid CRS) and writes ``raw/lidar/search.json``; each tile's id is
``lidar_<floor(minx)>_<floor(miny)>`` (the pipeline's ``lidar_tile`` wildcard).

- ``local``: every ``*.laz``/``*.las`` below the folder; headers read in place. Fetch
  records the item with its asset pointing at the archive file (indexed, not copied).
- ``urls``: headers read with one ``Range: bytes=0-65535`` request per URL (the
  header and VLRs); fetch downloads the whole file with :mod:`sporbar.fetch.http`.
- ``stac_api``: items of a point-cloud collection searched with the area's WGS84 bbox
  (and ``date_range``, if set, as the search ``datetime``), all pages; an item is kept
  when its ``proj:bbox`` overlaps the area and its ``proj:code``/``proj:epsg`` is
  ``sources.lidar.epsg`` (others are skipped with a warning: their ``proj:bbox`` is in
  another CRS). Two items with the same tile id: the newest acquisition is kept. Fetch
  downloads the ``asset`` (``file:size``/``file:checksum`` checked; a file already there
  with the right checksum is not fetched again).

Every downloaded file is checked to be a complete LAS/LAZ file (as long as its header
and LAZ chunk table say; a truncated file is deleted and fetched again, as the
downloader does with a checksum mismatch). Every file's CRS comes from the file
(WKT/GeoTIFF VLRs) and is checked with ``sporbar.lidar.read.check_crs`` against
``sources.lidar.epsg`` before an item is written; a downloaded file in another CRS is
deleted and the error names it, its source URL and both CRSs.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import laspy
import requests
from odc.geo.geom import box

from sporbar.config import Config
from sporbar.errors import ConfigError, InputDataError, MissingInputError
from sporbar.fetch.demo_lidar import build_item
from sporbar.fetch.http import (
    AuthError,
    Checksum,
    Credentials,
    Download,
    DownloadError,
    IntegrityError,
    Policy,
    download,
    redact,
)
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, source_provenance
from sporbar.io import check_writable
from sporbar.lidar.read import check_crs, header_bounds, read_header
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)
HEADER_BYTES = 65536


def _sec(cfg: Config, kind: str) -> dict[str, Any]:
    return dict(cfg.data["sources"]["lidar"].get(kind) or {})


def _policy(s: dict[str, Any]) -> Policy:
    """The download policy of a lidar source section (``sources.lidar.<kind>.download``)."""
    dl = s.get("download") or {}
    return Policy(tries=int(dl.get("tries", 3)), retries=int(dl.get("retries", 5)),
                  backoff=float(dl.get("backoff", 1.0)), max_backoff=float(dl.get("max_backoff", 60.0)),
                  timeout=float(dl.get("timeout", 60.0)))


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
        with open(path, "rb") as fh:
            fh.seek(start)
            raw = fh.read(8)
        table = int.from_bytes(raw, "little", signed=True) if len(raw) == 8 else 0
        need = table + 8 if table > 0 else start + 8
    else:
        need = start + int(h.point_count) * int(h.point_format.size)
    pos, n_evlrs = int(getattr(h, "start_of_first_evlr", 0) or 0), int(getattr(h, "number_of_evlrs", 0) or 0)
    with open(path, "rb") as fh:  # LAS 1.4 extended VLRs (e.g. the COPC hierarchy) after the points
        for _ in range(n_evlrs if pos else 0):
            fh.seek(pos + 20)  # reserved (2), user id (16), record id (2), then the length (8)
            raw = fh.read(8)
            pos += 60 + (int.from_bytes(raw, "little") if len(raw) == 8 else 0)
            need = max(need, pos)
            if len(raw) < 8:
                break
    if size < need:
        raise IntegrityError(f"{path.name}: truncated LAS/LAZ file: {size} bytes, its header needs at least {need}")


def _item_epsg(props: dict[str, Any]) -> int | None:
    """The EPSG code an item declares (``proj:code`` ``EPSG:<n>`` or ``proj:epsg``), if any."""
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    epsg = props.get("proj:epsg")
    return int(epsg) if isinstance(epsg, int) else None


def _dedupe(tiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per tile id: the newest acquisition (others logged)."""
    best: dict[str, dict[str, Any]] = {}
    for t in tiles:
        old = best.get(t["id"])
        if old is not None:
            keep, drop = sorted([old, t], key=lambda e: (e.get("datetime") or "", e["href"]), reverse=True)
            log.warning("lidar tile %s: two deliveries (%s, %s); keeping the newer %s", t["id"],
                        redact(keep["href"]), redact(drop["href"]), redact(keep["href"]))
            t = keep
        best[t["id"]] = t
    return sorted(best.values(), key=lambda e: e["id"])


def tile_id(bounds: tuple[float, float, float, float]) -> str:
    return f"lidar_{math.floor(bounds[0])}_{math.floor(bounds[1])}"


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _creds(s: dict[str, Any], url: str) -> Credentials:
    return Credentials(user_env=s.get("user_env"), password_env=s.get("password_env"),
                       token_env=s.get("token_env"), netrc_host=urlsplit(url).hostname)


def remote_header(url: str, creds: Credentials, timeout: float = 60) -> laspy.LasHeader:
    """The LAS header (and VLRs) of a remote file, from one Range request."""
    r = requests.get(url, headers={**creds.headers(), "Range": f"bytes=0-{HEADER_BYTES - 1}"}, timeout=timeout)
    if r.status_code in (401, 403):
        raise AuthError(f"{redact(url)}: HTTP {r.status_code}: credentials missing or wrong; set {creds.describe()}")
    if r.status_code not in (200, 206):
        raise DownloadError(f"{redact(url)}: HTTP {r.status_code} reading the LAS header")
    try:
        return laspy.LasHeader.read_from(io.BytesIO(r.content[:HEADER_BYTES]))
    except Exception as err:  # laspy raises several types on bad headers
        raise InputDataError(f"{redact(url)}: not a LAS/LAZ file: {err}") from err


def search(cfg: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Tiles of the configured lidar source whose header bounds overlap the area."""
    kind = cfg.data["sources"]["lidar"]["source"]
    epsg = cfg.data["sources"]["lidar"]["epsg"]
    minx, miny, maxx, maxy = (float(v) for v in cfg.data["area"]["bbox"])  # 4 numbers (config schema)
    area = (minx, miny, maxx, maxy)
    tiles: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    if kind == "local":
        folder = Path(_sec(cfg, "local").get("path") or "")
        if not folder.is_dir():
            raise MissingInputError(f"{folder}: lidar folder not found (sources.lidar.local.path)")
        for f in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".laz", ".las")):
            h = read_header(f)
            b = header_bounds(h)
            if _overlaps(b, area):
                check_crs(f, h, epsg)
                tiles.append({"id": tile_id(b), "href": str(f.resolve()), "bounds": list(b)})
        where = str(folder)
    elif kind == "urls":
        s = _sec(cfg, "urls")
        listing = Path(s.get("path") or "")
        if not listing.is_file():
            raise MissingInputError(f"{listing}: URL list not found (sources.lidar.urls.path)")
        for line in listing.read_text(encoding="utf-8").splitlines():
            url = line.split("#", 1)[0].strip()
            if not url:
                continue
            b = header_bounds(remote_header(url, _creds(s, url)))
            if _overlaps(b, area):
                tiles.append({"id": tile_id(b), "href": url, "bounds": list(b)})
        where = str(listing)
    elif kind == "stac_api":
        from pystac_client import Client

        s = _sec(cfg, "stac_api")
        if not s.get("url") or not s.get("collection"):
            raise ConfigError(f"{cfg.source}: sources/lidar/stac_api needs url and collection")
        w, so, e, n = box(*area, cfg.data["grid"]["crs"]).to_crs("EPSG:4326").boundingbox
        bb = [math.floor(w * 1e7) / 1e7, math.floor(so * 1e7) / 1e7, math.ceil(e * 1e7) / 1e7,
              math.ceil(n * 1e7) / 1e7]  # rounded outwards: it still holds the whole area
        dr = s.get("date_range")
        when = f"{dr['start']}/{dr['end']}" if dr else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = Client.open(s["url"], headers=_creds(s, s["url"]).headers())
            items = list(client.search(collections=[s["collection"]], bbox=bb, datetime=when).items_as_dicts())
        key = s.get("asset", "data")
        for it in items:
            props = it.get("properties") or {}
            pb, a, declared = props.get("proj:bbox"), (it.get("assets") or {}).get(key), _item_epsg(props)
            if not pb or a is None or len(pb) not in (4, 6):
                log.warning("%s: item %s has no %s asset or no proj:bbox; skipped", redact(s["url"]), it.get("id"), key)
                continue
            if declared is not None and declared != epsg:
                log.warning("%s: item %s is in EPSG:%s, not sources.lidar.epsg EPSG:%s; skipped",
                            redact(s["url"]), it.get("id"), declared, epsg)
                continue
            x0, y0, x1, y1 = (float(v) for v in (pb[:2] + pb[3:5] if len(pb) == 6 else pb))
            b = (x0, y0, x1, y1)
            if not _overlaps(b, area):  # the WGS84 bbox searched is larger than the area
                continue
            self_href = next((ln["href"] for ln in it.get("links", []) if ln.get("rel") == "self"), s["url"])
            tiles.append({"id": tile_id(b), "href": urljoin(self_href, a["href"]), "bounds": list(b),
                          "item_id": it.get("id"), "epsg": declared,
                          "checksum": a.get("file:checksum"), "size": a.get("file:size"),
                          "datetime": props.get("datetime") or props.get("end_datetime")
                          or props.get("start_datetime")})
        tiles = _dedupe(tiles)
        where = redact(s["url"])
        extra = {"collection": s["collection"], "bbox_wgs84": bb, **({"datetime": when} if when else {})}
    else:
        raise ConfigError(f"{cfg.source}: sources/lidar/source {kind!r} has no search (demo needs none)")
    if not tiles:
        raise NothingFoundError(
            f"{where}: no lidar tiles overlap the area {cfg.data['area']['name']} {list(area)} "
            f"{cfg.data['grid']['crs']} (source {kind}"
            + "".join(f", {k}={v}" for k, v in extra.items() if k != "bbox_wgs84") + ")"
        )
    return {"source": kind, "where": where, "bbox": list(area), **extra}, tiles


def fetch_tile(cfg: Config, entry: dict[str, Any], output: Path, *, query: dict[str, Any] | None = None,
               overwrite: bool = False, rule: str | None = None) -> dict[str, Any]:
    """Record the ``lidar-raw`` item of one searched tile (local: in place; remote: downloaded)."""
    output = Path(output)
    check_writable(output, overwrite=overwrite)
    kind = cfg.data["sources"]["lidar"]["source"]
    epsg = cfg.data["sources"]["lidar"]["epsg"]
    href, checksum = entry["href"], entry.get("checksum")
    if kind == "local":
        path = Path(href)
        if not path.is_file():
            raise MissingInputError(f"{path}: lidar tile {entry['id']} not found (was the folder moved?)")
    else:
        s = _sec(cfg, kind)
        url_path = urlsplit(href).path
        suffix = ".copc.laz" if url_path.endswith(".copc.laz") else Path(url_path).suffix or ".laz"
        path = download(Download(href, output.parent / f"{entry['id']}{suffix}", name=entry["id"],
                                 size=entry.get("size"), checksum=Checksum.parse(checksum) if checksum else None,
                                 credentials=_creds(s, href), validate=check_complete), _policy(s))
    header = read_header(path)
    try:
        check_crs(path, header, epsg)
    except InputDataError as err:
        if kind == "local":
            raise
        path.unlink(missing_ok=True)  # not left where the next run would take it as fetched
        declared = f"; the STAC item {entry.get('item_id')} declares EPSG:{entry['epsg']}" if entry.get("epsg") else ""
        raise InputDataError(f"{err} (downloaded from {redact(href)}{declared}; the file was deleted)") from err
    when = entry.get("datetime")
    acquired = (datetime.fromisoformat(when.replace("Z", "+00:00")) if when else
                datetime.combine(header.creation_date, datetime.min.time(), UTC) if header.creation_date
                else datetime(1970, 1, 1, tzinfo=UTC))
    item = build_item(entry["id"], header, str(path.resolve()), acquired=acquired)
    item.properties[SOURCE_PROPERTY] = source_provenance(kind, href, query, checksum)
    step = Step(
        lineage=f"Airborne lidar tile {entry['id']} from the {kind} source "
        f"({'indexed in place' if kind == 'local' else 'downloaded'}); CRS EPSG:{epsg} checked from the file.",
        command="fetch lidar",
        parameters={"source": kind, "lidar_tile": entry["id"], "output": str(output)},
        rule=rule,
    )
    return record_item(item, output, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))
