"""Airborne lidar (LAZ/COPC) from a STAC API, a URL list file, or a local folder.

Search (``sporbar search lidar``) lists the tiles whose header bounds overlap the area
(in the grid CRS) and writes ``raw/lidar/search.json``; each tile's id is
``lidar_<floor(minx)>_<floor(miny)>`` (the pipeline's ``lidar_tile`` wildcard).

- ``local``: every ``*.laz``/``*.las`` below the folder; headers read in place. Fetch
  records the item with its asset pointing at the archive file (indexed, not copied).
- ``urls``: headers read with one ``Range: bytes=0-65535`` request per URL (the
  header and VLRs); fetch downloads the whole file with :mod:`sporbar.fetch.http`.
- ``stac_api``: items of a point-cloud collection in the area bbox (``proj:bbox`` +
  ``proj:code``/``proj:epsg``); fetch downloads the ``asset`` (``file:checksum`` checked).

Every file's CRS comes from the file (WKT/GeoTIFF VLRs) and is checked with
``sporbar.lidar.read.check_crs`` against ``sources.lidar.epsg`` before an item is written.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import laspy
import requests
from odc.geo.geom import box

from sporbar.config import Config
from sporbar.errors import ConfigError, InputDataError, MissingInputError
from sporbar.fetch.demo_lidar import build_item
from sporbar.fetch.http import AuthError, Checksum, Credentials, Download, DownloadError, download, redact
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, policy, source_provenance
from sporbar.io import check_writable
from sporbar.lidar.read import check_crs, header_bounds, read_header
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)
HEADER_BYTES = 65536


def _sec(cfg: Config, kind: str) -> dict[str, Any]:
    return dict(cfg.data["sources"]["lidar"].get(kind) or {})


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
    area = tuple(float(v) for v in cfg.data["area"]["bbox"])
    tiles: list[dict[str, Any]] = []
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
        bb = box(*area, cfg.data["grid"]["crs"]).to_crs("EPSG:4326").boundingbox
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = Client.open(s["url"], headers=_creds(s, s["url"]).headers())
            items = list(client.search(collections=[s["collection"]], bbox=list(bb)).items_as_dicts())
        for it in items:
            pb = it["properties"].get("proj:bbox")
            a = it["assets"].get(s.get("asset", "data"))
            if not pb or a is None:
                continue
            tiles.append({"id": tile_id(tuple(pb[:2] + pb[-3:-1]) if len(pb) == 6 else tuple(pb)),
                          "href": a["href"], "bounds": list(pb[:2]) + list(pb[-3:-1]) if len(pb) == 6 else list(pb),
                          "checksum": a.get("file:checksum"), "size": a.get("file:size"),
                          "datetime": it["properties"].get("datetime")})
        where = redact(s["url"])
    else:
        raise ConfigError(f"{cfg.source}: sources/lidar/source {kind!r} has no search (demo needs none)")
    if not tiles:
        raise NothingFoundError(
            f"{where}: no lidar tiles overlap the area {cfg.data['area']['name']} {list(area)} "
            f"{cfg.data['grid']['crs']} (source {kind})"
        )
    return {"source": kind, "where": where, "bbox": list(area)}, tiles


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
        suffix = ".copc.laz" if href.endswith(".copc.laz") else Path(urlsplit(href).path).suffix or ".laz"
        path = download(Download(href, output.parent / f"{entry['id']}{suffix}", name=entry["id"],
                                 size=entry.get("size"), checksum=Checksum.parse(checksum) if checksum else None,
                                 credentials=_creds(s, href)), policy(cfg, "lidar") if "download" in s else None)
    header = read_header(path)
    check_crs(path, header, epsg)
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
