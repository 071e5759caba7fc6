"""What every real source shares: search parameters from the config, the search result file.

A search (``sporbar search s2``/``s1``/``lidar``) writes ``raw/sentinel-2-l2a/search.json``
(Sentinel-1: ``raw/sentinel-1-grd/search.json``, lidar: ``raw/lidar/search.json``)::

    {"source": "dhus", "query": {...}, "scenes": [{"id": <SAFE name>, "href": ..., ...}]}

Snakemake reads the scene ids from it after the ``search_*`` checkpoints, and ``sporbar
fetch ...`` reads the entry of one scene from it (:func:`read_listing`). URLs in it are
redacted (no userinfo, no tokens); signing happens at download time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from odc.geo.geom import box

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.download import Policy
from sporbar.io import read_json_object, write_json_atomic
from sporbar.redaction import redact_url

SOURCE_PROPERTY = "sporbar:source"  # provenance of a raw item's download (plain property)
# What a search returns: the query as recorded, and one entry per scene found.
Found = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class SearchParams:
    """Search parameters common to every source.

    Attributes:
        bbox_wgs84: (west, south, east, north) of the area in degrees.
        wkt_wgs84: the area polygon as WKT (lon lat order).
        start, end: the date range, inclusive.
        max_cloud_cover: percent.
        area_desc: the AOI as the user wrote it (for messages).
        cloud_filter: whether the section filters on cloud cover (False for radar, Sentinel-1).
    """

    bbox_wgs84: tuple[float, float, float, float]
    wkt_wgs84: str
    start: date
    end: date
    max_cloud_cover: float
    area_desc: str
    cloud_filter: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The query as recorded in the search result: bbox, datetime range and, if filtered, cloud limit."""
        out: dict[str, Any] = {
            "bbox": [round(v, 6) for v in self.bbox_wgs84],
            "datetime": f"{self.start.isoformat()}/{self.end.isoformat()}",
        }
        if self.cloud_filter:
            out["max_cloud_cover"] = self.max_cloud_cover
        return out

    def describe(self, **filters: Any) -> str:
        """The search in words, for a message that nothing was found; empty ``filters`` are left out."""
        f = ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, "", []))
        return (
            f"AOI {self.area_desc} (WGS84 bbox {[round(v, 4) for v in self.bbox_wgs84]}), "
            f"dates {self.start}..{self.end}"
            + (f", cloud cover <= {self.max_cloud_cover}%" if self.cloud_filter else "")
            + (f", {f}" if f else "")
        )


def date_range(cfg: Config, section: dict[str, Any]) -> tuple[date, date]:
    """``section.date_range`` if set, else the span of the ARD periods."""
    dr = section.get("date_range")
    if dr:
        start, end = date.fromisoformat(dr["start"]), date.fromisoformat(dr["end"])
    else:
        periods = cfg.data["ard"]["periods"]
        start = min(date.fromisoformat(p["start"]) for p in periods)
        end = max(date.fromisoformat(p["end"]) for p in periods)
    if start > end:
        raise InputDataError(f"{cfg.source}: sources date_range start {start} is after end {end}")
    return start, end


def search_params(cfg: Config, section: str = "sentinel2") -> SearchParams:
    """The AOI (area bbox transformed to WGS84), dates and cloud limit of a source section."""
    sec = cfg.data["sources"][section]
    minx, miny, maxx, maxy = cfg.data["area"]["bbox"]
    geom = box(minx, miny, maxx, maxy, cfg.data["grid"]["crs"]).to_crs("EPSG:4326")
    start, end = date_range(cfg, sec)
    return SearchParams(
        bbox_wgs84=tuple(float(v) for v in geom.boundingbox),  # type: ignore[arg-type]
        wkt_wgs84=geom.wkt,
        start=start,
        end=end,
        max_cloud_cover=float(sec.get("max_cloud_cover", 100)),
        area_desc=f"{cfg.data['area']['name']} {cfg.data['area']['bbox']} {cfg.data['grid']['crs']}",
        cloud_filter="max_cloud_cover" in sec,
    )


def policy(settings: dict[str, Any]) -> Policy:
    """The download policy of a source's settings.

    Read from their ``download`` section, e.g. ``sources.sentinel2.dhus.download``.
    """
    dl = settings.get("download") or {}
    return Policy(
        tries=int(dl.get("tries", 3)),
        retries=int(dl.get("retries", 5)),
        backoff=float(dl.get("backoff", 1.0)),
        max_backoff=float(dl.get("max_backoff", 60.0)),
        timeout=float(dl.get("timeout", 60.0)),
    )


def workers(settings: dict[str, Any]) -> int:
    """Parallel downloads of a source's settings (``download.workers``)."""
    return int((settings.get("download") or {}).get("workers", 4))


def write_search(path: Path, source: str, query: dict[str, Any], scenes: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the search result file (scenes sorted by datetime then id; URLs redacted)."""
    clean = []
    for s in scenes:
        s = dict(s)
        for k in ("href", "url", "item_href"):
            if s.get(k):
                s[k] = redact_url(s[k])
        clean.append(s)
    clean.sort(key=lambda s: (s.get("datetime") or "", s["id"]))
    doc = {"source": source, "query": query, "scenes": clean}
    write_json_atomic(Path(path), doc)
    return doc


@dataclass(frozen=True)
class Listing:
    """The scenes a source offers to fetch: a search result file, or the demo archive's index.

    Attributes:
        path: the file they were read from (named in errors; an input of block jobs).
        scenes: one entry per scene (``id`` and what its source needs to fetch it).
        query: the search as recorded (None for the demo archive).
        hint: what to run when a scene is missing from it.
    """

    path: Path
    scenes: tuple[dict[str, Any], ...]
    query: dict[str, Any] | None = None
    hint: str = ""

    def entry(self, scene: str) -> dict[str, Any]:
        """The entry of ``scene``.

        Raises:
            MissingInputError: the scene is not listed (names the ones that are).
        """
        for s in self.scenes:
            if s["id"] == scene:
                return s
        have = ", ".join(s["id"] for s in self.scenes[:10]) or "none"
        raise MissingInputError(f"{self.path}: scene {scene!r} not listed (has: {have}){self.hint}")


def read_search(path: Path) -> dict[str, Any]:
    """Read a search result file.

    Raises:
        MissingInputError: it does not exist (names the `sporbar search` command to run).
        InputDataError: it is not JSON, or not a search result (no ``scenes``).
    """
    path = Path(path)
    if not path.exists():
        what = next((m for k, m in (("sentinel-1", "s1"), ("lidar", "lidar")) if k in path.as_posix()), "s2")
        raise MissingInputError(f"{path}: search result not found; run `sporbar search {what} -c CONFIG -o {path}`")
    return read_json_object(path, what="search result", keys=("scenes",), hint="; search again (`sporbar search`)")


def read_listing(path: Path) -> Listing:
    """The scenes of a search result file (see :func:`read_search`)."""
    doc = read_search(path)
    return Listing(Path(path), tuple(doc["scenes"]), doc.get("query"), hint="; search again or check the scene id")


def source_provenance(kind: str, url: str, query: dict[str, Any] | None, checksum: str | None) -> dict[str, Any]:
    """The ``sporbar:source`` property of a raw item: where, how found, when, which digest."""
    out: dict[str, Any] = {
        "kind": kind,
        "url": redact_url(url) if "://" in url else url,
        "downloaded": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    if query:
        out["query"] = query
    if checksum:
        out["checksum"] = checksum
    return out
