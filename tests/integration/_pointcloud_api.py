"""A generated point-cloud STAC API on loopback: items made from LAZ headers, an honest search.

No point-cloud STAC API responses are recorded in ``shared/realdata``, so this one is
built from real LAZ files (the demo generator's) and served by :class:`_loopback.Loopback`:

- ``<prefix>`` landing page (core, item-search, collections), ``<prefix>/conformance``,
  ``<prefix>/collections``, ``<prefix>/collections/<collection>`` and its items;
- ``<prefix>/search``, GET and POST, filtering as STAC API item search says:
  ``collections``, ``ids``, ``bbox`` (WGS84, 4 or 6 numbers), ``intersects`` (GeoJSON) and
  ``datetime`` (instant or interval, open ends ``..``); ``bbox`` with ``intersects`` is a
  400. It answers ``limit`` items per page (default :attr:`PointCloudAPI.page_size`)
  with a ``next`` link (POST: ``body`` with a ``token``, ``merge: true``; GET: the
  query plus ``token``). Every request's parameters land in :attr:`PointCloudAPI.searches`;
- ``<prefix>/laz/<name>``: the LAZ bytes (Range support; ``Route.faults`` inject faults).

Items follow the pointcloud (v1.0.0), projection (v2.0.0 ``proj:code``, or v1.1.0
``proj:epsg``) and file (v2.1.0) extensions and are validated against the bundled
schemas when added.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import laspy
import numpy as np
import pyproj
from _loopback import Loopback, Route
from odc.geo.geom import box
from shapely.geometry import box as sbox
from shapely.geometry import shape

from sporbar.stac.validate import validate_item_dict

POINTCLOUD = "https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json"
PROJECTION = {"code": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
              "epsg": "https://stac-extensions.github.io/projection/v1.1.0/schema.json"}
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
LAZ_TYPE = "application/vnd.laszip"
CONFORMS = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/collections", "https://api.stacspec.org/v1.0.0/ogcapi-features"]
_KIND = {"SignedInteger": "signed", "UnsignedInteger": "unsigned", "FloatingPoint": "floating",
         "BitField": "unsigned"}


def multihash(data: bytes) -> str:
    """The sha2-256 multihash (hex) of ``data``, as ``file:checksum`` wants it."""
    return "1220" + hashlib.sha256(data).hexdigest()


def las_header(data: bytes) -> laspy.LasHeader:
    """The header of LAS/LAZ bytes."""
    import io

    with laspy.open(io.BytesIO(data)) as reader:
        return reader.header


def rewrite_laz(src: Path, dst: Path, *, dx: float = 0.0, dy: float = 0.0, epsg: int | None = None) -> Path:
    """Copy a LAZ file moved by (dx, dy) metres and/or with its CRS VLR replaced by ``epsg``."""
    las = laspy.read(str(src))
    x, y = np.asarray(las.x) + dx, np.asarray(las.y) + dy
    las.header.offsets = las.header.offsets + np.array([dx, dy, 0.0])
    las.x, las.y = x, y
    if epsg is not None:
        las.header.add_crs(pyproj.CRS.from_epsg(epsg))
    las.update_header()
    dst.parent.mkdir(parents=True, exist_ok=True)
    las.write(str(dst), do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
    return dst


def _parse_time(text: str, *, end: bool = False) -> datetime | None:
    if text in ("", ".."):
        return None
    if len(text) == 10:  # a bare date: the whole day
        text += "T23:59:59.999999+00:00" if end else "T00:00:00+00:00"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _interval(value: str) -> tuple[datetime | None, datetime | None]:
    if "/" in value:
        a, b = value.split("/", 1)
        return _parse_time(a), _parse_time(b, end=True)
    t = _parse_time(value)
    return t, (_parse_time(value, end=True) if len(value) == 10 else t)


@dataclass
class PointCloudAPI:
    """A STAC API with one point-cloud collection, served on ``server`` under ``prefix``."""

    server: Loopback
    prefix: str = "/pc"
    collection: str = "lidar-pointcloud"
    page_size: int = 2
    bearer: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        u = self.url
        json_route = self._json_route
        json_route("", lambda h: {
            "type": "Catalog", "id": "loopback-pointcloud", "stac_version": "1.0.0",
            "description": "Generated point-cloud STAC API (sporbar tests)",
            "conformsTo": CONFORMS,
            "links": [{"rel": "self", "href": u(""), "type": "application/json"},
                      {"rel": "root", "href": u(""), "type": "application/json"},
                      {"rel": "conformance", "href": u("/conformance")},
                      {"rel": "data", "href": u("/collections"), "type": "application/json"},
                      {"rel": "search", "href": u("/search"), "type": "application/geo+json", "method": "GET"},
                      {"rel": "search", "href": u("/search"), "type": "application/geo+json", "method": "POST"}]})
        json_route("/conformance", lambda h: {"conformsTo": CONFORMS})
        json_route("/collections", lambda h: {"collections": [self.collection_dict()], "links": []})
        json_route(f"/collections/{self.collection}", lambda h: self.collection_dict())
        json_route(f"/collections/{self.collection}/items", lambda h: self._page(h, fixed={
            "collections": [self.collection]}))
        json_route("/search", self._page)

    # --- addresses and routes ---------------------------------------------------------

    def url(self, path: str) -> str:
        return self.server.url(self.prefix + path)

    def _route(self, path: str, route: Route) -> Route:
        route.bearer = self.bearer
        self.server.routes[self.prefix + path] = route
        return route

    def _json_route(self, path: str, make: Any) -> None:
        def handler(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            try:
                doc = make(h)
            except _BadRequest as err:
                return 400, {"Content-Type": "application/json"}, json.dumps(
                    {"code": "BadRequest", "description": str(err)}).encode()
            ctype = "application/geo+json" if doc.get("type") == "FeatureCollection" else "application/json"
            return 200, {"Content-Type": ctype}, json.dumps(doc).encode()

        self._route(path, Route(handler=handler))

    def laz_route(self, name: str) -> Route:
        """The route serving ``laz/<name>`` (set ``faults`` or ``body`` on it)."""
        return self.server.routes[self.prefix + "/laz/" + name]

    def laz_gets(self, name: str) -> int:
        """GET requests for ``laz/<name>`` so far."""
        return sum(1 for m, p, h in self.server.log if m == "GET" and urlsplit(p).path == self.prefix + "/laz/" + name)

    # --- content ----------------------------------------------------------------------

    def collection_dict(self) -> dict[str, Any]:
        bboxes = [it["bbox"] for it in self.items] or [[-180, -90, 180, 90]]
        times = sorted(it["properties"]["datetime"] for it in self.items) or [None]
        return {
            "type": "Collection", "id": self.collection, "stac_version": "1.0.0",
            "description": "Airborne lidar point clouds (LAZ), generated", "license": "CC-BY-4.0",
            "extent": {"spatial": {"bbox": [[min(b[0] for b in bboxes), min(b[1] for b in bboxes),
                                             max(b[2] for b in bboxes), max(b[3] for b in bboxes)]]},
                       "temporal": {"interval": [[times[0], times[-1]]]}},
            "links": [{"rel": "self", "href": self.url(f"/collections/{self.collection}")},
                      {"rel": "items", "href": self.url(f"/collections/{self.collection}/items")},
                      {"rel": "root", "href": self.url("")}],
        }

    def add(self, laz: Path, *, item_id: str | None = None, when: str = "2023-08-15T10:00:00Z",
            claim_epsg: int = 25833, proj: str = "code", bbox6: bool = True, serve: bytes | None = None,
            checksum: bool = True, size: bool = True) -> dict[str, Any]:
        """Add an item describing the LAZ file ``laz`` (served at ``laz/<item id>.laz``).

        ``claim_epsg`` is the CRS the item declares (its ``proj:bbox`` is the file's header
        bounds, read as that CRS); ``proj`` picks ``proj:code`` or ``proj:epsg``; ``serve``
        replaces the bytes served (the item still describes ``laz``); ``checksum``/``size``
        drop ``file:checksum``/``file:size`` when False.
        """
        data = Path(laz).read_bytes()
        h = las_header(data)
        item_id = item_id or Path(laz).stem
        minx, miny, minz = (round(float(v), 3) for v in h.mins)
        maxx, maxy, maxz = (round(float(v), 3) for v in h.maxs)
        foot = box(minx, miny, maxx, maxy, f"EPSG:{claim_epsg}").to_crs("EPSG:4326")
        name = f"{item_id}.laz"
        self._route(f"/laz/{name}", Route(body=serve if serve is not None else data))
        asset: dict[str, Any] = {"href": self.url(f"/laz/{name}"), "type": LAZ_TYPE, "roles": ["data"],
                                 "title": "LAZ point cloud"}
        if checksum:
            asset["file:checksum"] = multihash(data)
        if size:
            asset["file:size"] = len(data)
        area = max((maxx - minx) * (maxy - miny), 1e-9)
        props: dict[str, Any] = {
            "datetime": when,
            "pc:count": int(h.point_count),
            "pc:type": "lidar",
            "pc:encoding": "LASzip" if h.are_points_compressed else "binary",
            "pc:density": round(h.point_count / area, 3),
            "pc:schemas": [{"name": d.name, "size": 8 if d.name in ("X", "Y", "Z") else max(1, d.num_bits // 8),
                            "type": "floating" if d.name in ("X", "Y", "Z") else _KIND[d.kind.name]}
                           for d in h.point_format.dimensions],
            "proj:bbox": [minx, miny, minz, maxx, maxy, maxz] if bbox6 else [minx, miny, maxx, maxy],
        }
        props["proj:code" if proj == "code" else "proj:epsg"] = (
            f"EPSG:{claim_epsg}" if proj == "code" else claim_epsg)
        item = {
            "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": self.collection,
            "stac_extensions": [POINTCLOUD, PROJECTION[proj], FILE],
            "geometry": json.loads(json.dumps(foot.json)),
            "bbox": [round(v, 7) for v in foot.boundingbox],
            "properties": props,
            "assets": {"data": asset},
            "links": [{"rel": "self", "href": self.url(f"/collections/{self.collection}/items/{item_id}")},
                      {"rel": "collection", "href": self.url(f"/collections/{self.collection}")},
                      {"rel": "parent", "href": self.url(f"/collections/{self.collection}")},
                      {"rel": "root", "href": self.url("")}],
        }
        validate_item_dict(item)
        self.items.append(item)
        self._json_route(f"/collections/{self.collection}/items/{item_id}", lambda h, it=item: it)
        return item

    # --- search -----------------------------------------------------------------------

    def _params(self, h: BaseHTTPRequestHandler) -> dict[str, Any]:
        if h.command == "POST":
            raw = getattr(h, "body", b"") or b"{}"
            try:
                return dict(json.loads(raw))
            except ValueError as err:
                raise _BadRequest(f"body is not JSON: {err}") from err
        q = dict(parse_qsl(urlsplit(h.path).query))
        out: dict[str, Any] = {}
        for k, v in q.items():
            if k in ("collections", "ids"):
                out[k] = [s for s in v.split(",") if s]
            elif k == "bbox":
                out[k] = [float(s) for s in v.split(",")]
            elif k == "intersects":
                out[k] = json.loads(v)
            elif k == "limit":
                out[k] = int(v)
            else:
                out[k] = v
        return out

    def matches(self, item: dict[str, Any], p: dict[str, Any]) -> bool:
        """Whether ``item`` answers the search parameters ``p``."""
        if p.get("collections") and item["collection"] not in p["collections"]:
            return False
        if p.get("ids") and item["id"] not in p["ids"]:
            return False
        geom = shape(item["geometry"])
        if p.get("bbox") is not None:
            b = [float(v) for v in p["bbox"]]
            if len(b) not in (4, 6):
                raise _BadRequest(f"bbox needs 4 or 6 numbers, got {len(b)}")
            w, s, e, n = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
            if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
                raise _BadRequest(f"bbox {b} is not WGS84 lon/lat")
            if not geom.intersects(sbox(w, s, e, n)):
                return False
        if p.get("intersects") is not None and not geom.intersects(shape(p["intersects"])):
            return False
        if p.get("datetime"):
            lo, hi = _interval(str(p["datetime"]))
            pr = item["properties"]
            start = _parse_time(pr.get("start_datetime") or pr["datetime"])
            end = _parse_time(pr.get("end_datetime") or pr["datetime"])
            if (lo is not None and end is not None and end < lo) or (hi is not None and start is not None
                                                                      and start > hi):
                return False
        return True

    def _page(self, h: BaseHTTPRequestHandler, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        p = {**self._params(h), **(fixed or {})}
        if p.get("bbox") is not None and p.get("intersects") is not None:
            raise _BadRequest("bbox and intersects are mutually exclusive")
        self.searches.append({"method": h.command, **p})
        hits = sorted((it for it in self.items if self.matches(it, p)), key=lambda it: (it["properties"]["datetime"],
                                                                                         it["id"]))
        limit = int(p.get("limit") or self.page_size)
        start = int(str(p.get("token", "next:0")).split(":")[-1])
        page = hits[start:start + limit]
        links: list[dict[str, Any]] = [{"rel": "root", "href": self.url("")}]
        if start + limit < len(hits):
            token = f"next:{start + limit}"
            if h.command == "POST":
                links.append({"rel": "next", "href": self.url("/search"), "method": "POST",
                              "type": "application/geo+json", "body": {"token": token}, "merge": True})
            else:
                q = [(k, v) for k, v in parse_qsl(urlsplit(h.path).query) if k != "token"] + [("token", token)]
                links.append({"rel": "next", "href": self.url(urlsplit(h.path).path[len(self.prefix):]) + "?"
                              + urlencode(q), "method": "GET", "type": "application/geo+json"})
        return {"type": "FeatureCollection", "features": page, "links": links,
                "numberMatched": len(hits), "numberReturned": len(page)}


class _BadRequest(Exception):
    pass
