"""Benchmark: map tile latency of `sporbar serve` (titiler-pgstac at /tiles/), warm.

    eval "$(services/postgres.sh start)"
    .venv/bin/python benchmarks/tiles.py --side 3 --tile-size 20000

Writes ``side`` x ``side`` map tiles of the national grid (uint8 class COGs written by
``sporbar.raster.write_cog``, blocky class patches, items from the real map item builder)
into a temporary data root, loads them into pgstac (collection ``bench-tiles-maps``, asset
hrefs ``/data/...`` as ``sporbar publish --asset-base-url /data/`` writes them), starts
``sporbar serve`` on a free loopback port and times 256 px PNG tiles in the legend colours:

- item: tiles of one map item (``/tiles/collections/.../items/<id>/tiles/...``), zoom 13;
- mosaic: the collection registered as one mosaic (``/tiles/mosaics/<collection>``), zoom 13
  (inside one map tile) and zoom 10 (one tile spanning several map tiles).

Each set of tiles is requested once to warm up, then ``--reps`` times; p50/p95/max per set.
The collection is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import morecantile
import numpy as np
from _bench import latencies, report, serving

from sporbar.grid import NationalGrid
from sporbar.raster import write_cog
from sporbar.serve.legend import legend_renders, render_query
from sporbar.stac import extensions as ext
from sporbar.stac.items.extent import tiles_bbox_wgs84
from sporbar.stac.items.map import map_item
from sporbar.stac.pgstac import load_records

COLLECTION = "bench-tiles-maps"
CLASSES = [
    {"value": 1, "name": "forest", "color": "#1b7837"},
    {"value": 2, "name": "mire", "color": "#b8860b"},
    {"value": 3, "name": "heath", "color": "#9970ab"},
    {"value": 5, "name": "water", "color": "#2166ac"},
]
ORIGIN = (260_000, 7_020_000)  # EPSG:25833 metres, near Trondheim
TMS = morecantile.tms.get("WebMercatorQuad")


def classes_array(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Blocky class patches (50 px blocks, nearest-upsampled), like a map with real edges."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    coarse = rng.choice([c["value"] for c in CLASSES], size=(rows // 50 + 1, cols // 50 + 1)).astype(np.uint8)
    return np.kron(coarse, np.ones((50, 50), dtype=np.uint8))[:rows, :cols]


def write_maps(root: Path, grid: NationalGrid, side: int) -> list[dict[str, Any]]:
    """Write the map tiles below ``root/maps`` and return their items (hrefs under /data/)."""
    items = []
    for i in range(side * side):
        ix, iy = ORIGIN[0] // grid.tile_size + i % side, ORIGIN[1] // grid.tile_size + i // side
        tile = grid.tile_id(ix, iy)
        geobox = grid.geobox(tile)
        folder = root / "maps" / "land-ecology" / tile
        folder.mkdir(parents=True, exist_ok=True)
        shape = tuple(geobox.shape.yx)
        write_cog(folder / "classes.tif", classes_array(shape, i), geobox, nodata=0)
        for name in ("confidence", "margin"):
            write_cog(folder / f"{name}.tif", np.full(shape, 80, dtype=np.uint8), geobox, nodata=255)
        item = map_item(
            "land-ecology",
            tile,
            geobox=geobox,
            classes=CLASSES,
            start=datetime(2024, 5, 1, tzinfo=UTC),
            end=datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC),
            bbox_wgs84=tiles_bbox_wgs84(grid, [tile]),
        )
        d = item.to_dict(include_self_link=False)
        d["collection"] = COLLECTION
        for key, asset in d["assets"].items():
            asset["href"] = f"/data/maps/land-ecology/{tile}/{key}.tif"
        items.append(d)
    return items


def collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    bboxes = np.array([i["bbox"] for i in items])
    return {
        "type": "Collection",
        "stac_version": ext.STAC_VERSION,
        "stac_extensions": [],
        "id": COLLECTION,
        "description": "Synthetic map tiles of benchmarks/tiles.py",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[*bboxes[:, :2].min(axis=0).tolist(), *bboxes[:, 2:].max(axis=0).tolist()]]},
            "temporal": {"interval": [["2024-05-01T00:00:00Z", "2024-09-30T23:59:59Z"]]},
        },
        "links": [],
    }


def drop(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM pgstac.items WHERE collection = %s", (COLLECTION,))
        conn.execute("DELETE FROM pgstac.collections WHERE id = %s", (COLLECTION,))


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        body: bytes = r.read()
        assert r.status == 200 and (body[:4] == b"\x89PNG" or ".png" not in url), (url, r.status, body[:100])
        return body


def tiles_inside(bbox: list[float], zoom: int, n: int) -> list[tuple[int, int, int]]:
    """Up to ``n`` tiles of ``zoom`` that lie wholly inside ``bbox`` (lon/lat)."""
    out = []
    for t in TMS.tiles(*bbox, zooms=[zoom]):
        b = TMS.bounds(t)
        if b.left >= bbox[0] and b.right <= bbox[2] and b.bottom >= bbox[1] and b.top <= bbox[3]:
            out.append((t.z, t.x, t.y))
    return out[:n]


def with_data(urls: list[str]) -> list[str]:
    """The URLs that answer a tile (the others are 404: no map there); each requested once, as warm-up."""
    out = []
    for url in urls:
        try:
            get(url)
            out.append(url)
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise
    assert out, f"no tile with data among {urls}"
    return out


def timed(urls: list[str], reps: int) -> tuple[float, float, float]:
    urls = with_data(urls)  # warm-up: file cache, pools, overviews opened once
    return latencies(lambda r: get(urls[r % len(urls)]), reps)


def latency(urls: list[str], reps: int) -> str:
    p50, p95, mx = timed(urls, reps)
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {mx:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=3, help="map tiles per side of the square area")
    ap.add_argument("--tile-size", type=int, default=20_000, help="grid tile edge in metres (10 m pixels)")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--dsn", default="", help="default: the PG* environment variables")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    a = ap.parse_args(argv)
    grid = NationalGrid(tile_size=a.tile_size)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sporbar-bench-tiles-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        items = write_maps(root, grid, a.side)
        load_records([collection(items)], items, a.dsn)
        rows.append((f"write + publish {len(items)} map tiles", f"{time.perf_counter() - t:.1f} s"))
        try:
            with serving(root, a.dsn) as base:
                render = next(iter(legend_renders(items[0]["assets"]).values()))
                query = "?" + urlencode(render_query(render), doseq=True)
                item = items[len(items) // 2]
                item_base = f"{base}/tiles/collections/{COLLECTION}/items/{item['id']}/tiles/WebMercatorQuad"
                z13 = tiles_inside(item["bbox"], 13, 8)
                urls = [f"{item_base}/{z}/{x}/{y}.png{query}" for z, x, y in z13]
                rows.append((f"item tile, zoom 13 ({len(urls)} tiles)", latency(urls, a.reps)))

                mosaic = json.loads(get(f"{base}/tiles/mosaics/{COLLECTION}"))
                mosaic_base = f"{base}/tiles/searches/{mosaic['id']}/tiles/WebMercatorQuad"
                urls = [f"{mosaic_base}/{z}/{x}/{y}.png{query}" for z, x, y in z13]
                rows.append((f"mosaic tile, zoom 13 ({len(urls)} tiles)", latency(urls, a.reps)))
                area = collection(items)["extent"]["spatial"]["bbox"][0]
                z10 = [(t.z, t.x, t.y) for t in TMS.tiles(*area, zooms=[10])]
                urls = with_data([f"{mosaic_base}/{z}/{x}/{y}.png{query}" for z, x, y in z10])
                rows.append((f"mosaic tile, zoom 10 ({len(urls)} tiles over the area)", latency(urls, a.reps)))
        finally:
            drop(a.dsn)

    report(f"tile benchmark: {a.side}x{a.side} map tiles of {a.tile_size} m, 256 px PNG, {a.reps} requests per set, "
           f"{os.cpu_count()} CPUs", rows, a.json)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
