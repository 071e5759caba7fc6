"""Airborne lidar from a list of URLs (``sources.lidar.urls.path``, one per line, ``#`` comments).

Search reads each file's header with one ``Range: bytes=0-65535`` request (the header
and VLRs), checks its CRS and lists the files whose bounds (in the grid CRS) overlap the area; fetch downloads the whole
file with :mod:`sporbar.fetch.download` and checks it is complete, or, for a COPC, reads only
the points near the area by range requests (:mod:`sporbar.fetch.copc_remote`).
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from typing import Any

import laspy
import requests

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.errors import AuthError, DownloadError
from sporbar.fetch.lidar_files import copc_query, credentials, fetch_tile, file_overlaps, found, settings, tile_id
from sporbar.fetch.search import Found
from sporbar.fetch.source import Source
from sporbar.las import is_copc
from sporbar.redaction import redact_url

HEADER_BYTES = 65536


def remote_header(url: str, creds: Credentials, timeout: float = 60) -> laspy.LasHeader:
    """The LAS header (and VLRs) of a remote file, from one Range request.

    Raises:
        AuthError: 401/403 (names the credential to set).
        DownloadError: another HTTP error.
        InputDataError: the bytes are not a LAS/LAZ header.
    """
    r = requests.get(url, headers={**creds.headers(), "Range": f"bytes=0-{HEADER_BYTES - 1}"}, timeout=timeout)
    if r.status_code in (401, 403):
        raise AuthError(
            f"{redact_url(url)}: HTTP {r.status_code}: credentials missing or wrong; set {creds.describe()}"
        )
    if r.status_code not in (200, 206):
        raise DownloadError(f"{redact_url(url)}: HTTP {r.status_code} reading the LAS header")
    try:
        return laspy.LasHeader.read_from(io.BytesIO(r.content[:HEADER_BYTES]))
    except Exception as err:  # laspy raises several types on bad headers
        raise InputDataError(f"{redact_url(url)}: not a LAS/LAZ file: {err}") from err


def search(cfg: Config) -> Found:
    """The listed files whose header bounds overlap the area.

    Raises:
        MissingInputError: the URL list does not exist.
        LidarCrsError: a file has no CRS (and no ``sources.lidar.epsg``), or a geographic one.
        NothingFoundError: none overlaps.
    """
    s = settings(cfg, "urls")
    listing = Path(s.get("path") or "")
    if not listing.is_file():
        raise MissingInputError(f"{listing}: URL list not found (sources.lidar.urls.path)")
    tiles: list[dict[str, Any]] = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        url = line.split("#", 1)[0].strip()
        if not url:
            continue
        header = remote_header(url, credentials(s, url))
        b, crs, hit = file_overlaps(cfg, redact_url(url), header)
        if hit:
            query = copc_query(cfg, b, crs.horizontal) if is_copc(header) else None
            tiles.append({"id": tile_id(b), "href": url, "bounds": list(b), **({"copc_query": query} if query else {})})
    return found(cfg, "urls", str(listing), tiles)


SOURCE = Source(mission="lidar", kind="urls", search=search, fetch=partial(fetch_tile, kind="urls"))
