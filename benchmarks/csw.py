"""Benchmark: the CSW of `sporbar serve --csw` (pycsw in .venv-csw, forwarded at /csw) with N records.

    .venv/bin/python benchmarks/csw.py --records 1000

Writes N map tiles' ISO 19139 records (items from the real map item builder, 20 km tiles of
the national grid from a corner near Trondheim, records from the real exporter
``sporbar.metadata.iso19139``) plus the series record into a temporary data root, starts
``sporbar serve --static --csw`` on a free loopback port (which loads them into pycsw's
repository) and times, through ``/csw``, each request ``--reps`` times after one warm-up:

- GetRecords hits: how many records match (no constraint);
- GetRecords, 10 brief Dublin Core records (the first page a catalogue client shows);
- GetRecords, 100 full ISO 19139 records (a harvester's page, as Geonorge pages);
- GetRecords by keyword (``apiso:Subject`` like the product keyword: every record matches,
  first 10 returned) and by a bounding box that touches a few tiles;
- GetRecordById in ISO 19139;
- a whole harvest: every record in ISO 19139, pages of 100 (once per rep).

p50/p95/max per request; also the start-up (loading N records) and the records matched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _bench import latencies, report, serving

from sporbar.grid import NationalGrid
from sporbar.metadata import iso19139
from sporbar.metadata.catalog import ItemRef, PublishedCatalog
from sporbar.stac import extensions as ext
from sporbar.stac.collections import extent, template
from sporbar.stac.items.extent import tiles_bbox_wgs84
from sporbar.stac.items.map import map_item

ORIGIN = (260_000, 7_020_000)  # EPSG:25833 metres, near Trondheim
CLASSES = [
    {"value": 1, "name": "forest", "color": "#1b7837"},
    {"value": 3, "name": "heath", "color": "#9970ab"},
    {"value": 5, "name": "water", "color": "#2166ac"},
]
GMD = "http://www.isotc211.org/2005/gmd"
CSW_NS = 'xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ogc="http://www.opengis.net/ogc"'
GML_NS = 'xmlns:gml="http://www.opengis.net/gml"'


def write_records(root: Path, n: int, tile_size: int) -> tuple[list[str], list[list[float]]]:
    """Write the series record and ``n`` tile records below ``root/metadata/iso19139``; (record ids, item bboxes)."""
    grid = NationalGrid(tile_size=tile_size)
    side = max(1, int(n**0.5))
    catalog = root / "catalog"
    items = []
    for i in range(n):
        tile = grid.tile_id(ORIGIN[0] // tile_size + i % side, ORIGIN[1] // tile_size + i // side)
        item = map_item(
            "land-ecology",
            tile,
            geobox=grid.geobox(tile),
            classes=CLASSES,
            start=datetime(2024, 5, 1, tzinfo=UTC),
            end=datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC),
            bbox_wgs84=tiles_bbox_wgs84(grid, [tile]),
        )
        path = catalog / ext.COLLECTION_MAPS / tile / f"{item.id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        d = item.to_dict(include_self_link=False)
        d["collection"] = ext.COLLECTION_MAPS  # the tile records take the series' keywords from it
        path.write_text(json.dumps(d))
        items.append(ItemRef(path=path, data=d))
    coll = template(ext.COLLECTION_MAPS)
    coll.update(type="Collection", stac_version=ext.STAC_VERSION, license="CC-BY-4.0", links=[])
    coll["extent"] = extent(i.data for i in items)
    coll_path = catalog / ext.COLLECTION_MAPS / "collection.json"
    coll_path.write_text(json.dumps(coll))
    cat_json = {"type": "Catalog", "id": "bench-csw", "stac_version": ext.STAC_VERSION, "description": "x", "links": []}
    (catalog / "catalog.json").write_text(json.dumps(cat_json))
    cat = PublishedCatalog(
        path=(catalog / "catalog.json").resolve(),
        data=cat_json,
        collections={ext.COLLECTION_MAPS: coll},
        collection_paths={ext.COLLECTION_MAPS: coll_path},
        items={ext.COLLECTION_MAPS: items},
    )
    out = root / "metadata" / "iso19139"
    out.mkdir(parents=True)
    (out / f"{ext.COLLECTION_MAPS}.xml").write_bytes(
        iso19139.to_bytes(iso19139.collection_record(cat, ext.COLLECTION_MAPS))
    )
    ids = [iso19139.collection_uuid(ext.COLLECTION_MAPS)]
    for item in items:
        (out / f"{item.id}.xml").write_bytes(iso19139.to_bytes(iso19139.item_record(cat, item)))
        ids.append(iso19139.item_uuid(ext.COLLECTION_MAPS, item.id))
    return ids, [i.data["bbox"] for i in items]


def get_records(*, result: str = "results", esn: str = "brief", schema: str = "", start: int = 1, n: int = 10,
                constraint: str = "") -> str:  # fmt: skip
    schema_attr = f' outputSchema="{schema}"' if schema else ""
    type_names = "gmd:MD_Metadata" if schema == GMD else "csw:Record"
    gmd_ns = f' xmlns:gmd="{GMD}"' if schema == GMD else ""
    where = f'<csw:Constraint version="1.1.0"><ogc:Filter>{constraint}</ogc:Filter></csw:Constraint>'
    where = where if constraint else ""
    return (
        f'<csw:GetRecords {CSW_NS} {GML_NS}{gmd_ns} service="CSW" version="2.0.2" resultType="{result}"'
        f' startPosition="{start}" maxRecords="{n}"{schema_attr}><csw:Query typeNames="{type_names}">'
        f"<csw:ElementSetName>{esn}</csw:ElementSetName>{where}</csw:Query></csw:GetRecords>"
    )


def post(url: str, body: str) -> bytes:
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/xml"}, method="POST")
    with urllib.request.urlopen(req, timeout=300) as r:
        out: bytes = r.read()
        assert r.status == 200 and b"ExceptionReport" not in out[:2000], out[:1000]
        return out


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        out: bytes = r.read()
        assert r.status == 200 and b"ExceptionReport" not in out[:2000], out[:1000]
        return out


def matched(body: bytes) -> tuple[int, int, int]:
    """(numberOfRecordsMatched, numberOfRecordsReturned, nextRecord) of a GetRecordsResponse."""
    m = re.search(rb'numberOfRecordsMatched="(\d+)" numberOfRecordsReturned="(\d+)" nextRecord="(\d+)"', body)
    assert m, body[:1000]
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def harvest(url: str, page: int) -> int:
    """Every record in ISO 19139, ``page`` at a time, as a harvester does; the number harvested."""
    start, got = 1, 0
    while start:
        _, returned, start = matched(post(url, get_records(esn="full", schema=GMD, start=start, n=page)))
        got += returned
    return got


def timed(fn: Any, reps: int) -> str:
    fn()  # warm-up
    p50, p95, mx = latencies(lambda _: fn(), reps)
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {mx:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1000, help="tile records (the series record comes on top)")
    ap.add_argument("--tile-size", type=int, default=20_000, help="grid tile edge in metres")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    a = ap.parse_args(argv)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sporbar-bench-csw-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        ids, bboxes = write_records(root, a.records, a.tile_size)
        rows.append((f"write {len(ids)} ISO 19139 records", f"{time.perf_counter() - t:.1f} s"))
        args = ("--static", "--catalog", str(root / "catalog" / "catalog.json"), "--csw")
        t = time.perf_counter()
        with serving(root, args=args, ready="/csw?service=CSW&request=GetCapabilities", wait_s=600) as base:
            rows.append((f"serve --csw start-up (load {len(ids)} records)", f"{time.perf_counter() - t:.1f} s"))
            url = base + "/csw"
            hits = matched(post(url, get_records(result="hits")))[0]
            assert hits == len(ids), (hits, len(ids))
            rows.append(("records in the CSW", str(hits)))
            rows.append(("GetRecords hits (all)", timed(lambda: post(url, get_records(result="hits")), a.reps)))
            rows.append(("GetRecords 10 brief (DC)", timed(lambda: post(url, get_records()), a.reps)))
            full = get_records(esn="full", schema=GMD, n=100)
            rows.append(("GetRecords 100 full ISO 19139", timed(lambda: post(url, full), a.reps)))
            like = (
                '<ogc:PropertyIsLike wildCard="%" singleChar="_" escapeChar="\\">'
                "<ogc:PropertyName>apiso:Subject</ogc:PropertyName><ogc:Literal>%landøkologi%</ogc:Literal>"
                "</ogc:PropertyIsLike>"
            )
            kw_hits = matched(post(url, get_records(constraint=like)))[0]
            by_keyword = get_records(constraint=like)
            rows.append((f"GetRecords keyword, 10 of {kw_hits}", timed(lambda: post(url, by_keyword), a.reps)))
            w, s, e, n = bboxes[len(bboxes) // 2]
            box = (
                "<ogc:BBOX><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName>"
                '<gml:Envelope srsName="urn:ogc:def:crs:OGC:1.3:CRS84">'
                f"<gml:lowerCorner>{w} {s}</gml:lowerCorner><gml:upperCorner>{e} {n}</gml:upperCorner>"
                "</gml:Envelope></ogc:BBOX>"
            )
            box_hits = matched(post(url, get_records(constraint=box, n=50)))[0]
            assert 1 < box_hits < len(ids), box_hits  # its tile, its neighbours and the series record
            by_box = get_records(constraint=box, n=50)
            rows.append((f"GetRecords bbox ({box_hits} match)", timed(lambda: post(url, by_box), a.reps)))
            by_id = f"{url}?service=CSW&version=2.0.2&request=GetRecordById&outputSchema={GMD}&id={ids[len(ids) // 2]}"
            rows.append(("GetRecordById ISO 19139", timed(lambda: get(by_id), a.reps)))
            assert harvest(url, 100) == len(ids)
            reps = max(3, a.reps // 10)
            rows.append((f"harvest all {len(ids)} (ISO 19139, pages of 100)", timed(lambda: harvest(url, 100), reps)))
    report(f"CSW benchmark: {len(ids)} ISO 19139 records, pycsw 2.6.2 (SQLite, gunicorn 2 workers) behind "
           f"`sporbar serve --csw`, {a.reps} requests per row, {os.cpu_count()} CPUs", rows, a.json)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
