"""`sporbar verify` against its floor, and at 100,000 items.

    .venv/bin/python benchmarks/verify.py                                 # the demo catalog
    .venv/bin/python benchmarks/verify.py --catalog results/catalog/catalog.json --repeats 5
    .venv/bin/python benchmarks/verify.py --generate 100000 --workdir /tmp/verify-bench

Ratio: alternating repeats (median) of the floor (walk the catalog's JSON through its
child/item links, then sha256 every asset file once, one thread) and of
``sporbar.stac.verify.verify_catalog`` in this process (schemas, links, provenance fields,
sizes, checksums, data-location items), plus one run of the whole `sporbar verify` command.

Scale (--generate N): writes a catalog of N map items (core, processing, file and proj
fields; one 1 KiB data file each, one collection) below --workdir, timing the writing, then
verifies it with `sporbar verify` (the whole command) and prints items per second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href
from sporbar.stac.verify import verify_catalog

BIN = Path(sys.executable).parent


def floor(catalog: Path) -> tuple[int, int, int]:
    """Walk the catalog, sha256 every local asset file once; return (items, files, bytes)."""
    seen, todo, assets = {catalog.resolve()}, [catalog.resolve()], set()
    items = 0
    while todo:
        path = todo.pop()
        obj = read_json(path)
        items += obj.get("type") == "Feature"
        for link in obj.get("links", []):
            if link.get("rel") in ("child", "item", ext.DERIVED_FROM) and is_local_href(link["href"]):
                target = resolve_href(link["href"], path.parent)
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for asset in obj.get("assets", {}).values():
            if is_local_href(asset["href"]):
                assets.add(resolve_href(asset["href"], path.parent))
    files = sorted(f for a in assets for f in ([a] if a.is_file() else sorted(a.rglob("*"))) if f.is_file())
    n_bytes = 0
    for f in files:
        h = hashlib.sha256()
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        n_bytes += f.stat().st_size
    return items, len(files), n_bytes


def ratio(catalog: Path, repeats: int) -> None:
    """Print floor vs verify (medians of alternating repeats) and the whole command once."""
    verify_catalog(catalog)  # warm: page cache, compiled schemas
    t_floor, t_verify = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        items, n_files, n_bytes = floor(catalog)
        t_floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        report = verify_catalog(catalog)
        t_verify.append(time.perf_counter() - t)
        assert report.ok, report.problems[:5]
    f, v = statistics.median(t_floor), statistics.median(t_verify)
    t = time.perf_counter()
    r = subprocess.run([str(BIN / "sporbar"), "verify", str(catalog)], capture_output=True, text=True)
    cmd = time.perf_counter() - t
    print(f"catalog {catalog}: {items} items, {report.n_assets} assets, {n_files} files, {n_bytes / 1e6:.0f} MB, "
          f"{os.cpu_count()} CPUs")
    print(f"floor (walk + sha256, 1 thread)   {f:7.3f} s")
    print(f"verify_catalog (in process)        {v:7.3f} s   ratio {v / f:.2f}x (goal <= 1.5)")
    print(f"`sporbar verify` (whole command)   {cmd:7.3f} s   ({r.stdout.strip() or r.stderr.strip()[-200:]})")


def _item(i: int) -> dict[str, Any]:
    x, y = 200000 + 1280 * (i % 1000), 6500000 + 1280 * (i // 1000)
    return {
        "type": "Feature",
        "stac_version": ext.STAC_VERSION,
        "stac_extensions": sorted([ext.PROCESSING_SCHEMA_URI, ext.FILE_SCHEMA_URI]),
        "id": f"map-{i:06d}",
        "collection": "land-ecology-maps",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[10, 63], [10.02, 63], [10.02, 63.01], [10, 63.01], [10, 63]]],
        },
        "bbox": [10, 63, 10.02, 63.01],
        "properties": {
            "datetime": "2024-09-30T00:00:00Z",
            "processing:lineage": "Classes predicted by model rf.",
            "processing:software": {"sporbar": "0.0.0"},
            "processing:datetime": "2024-10-01T00:00:00Z",
            "sporbar:tile": f"E{x}N{y}",
        },
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": ext.JSON},
            {"rel": "parent", "href": "../collection.json", "type": ext.JSON},
            {"rel": "collection", "href": "../collection.json", "type": ext.JSON},
        ],
        "assets": {},
    }


def generate(workdir: Path, n: int) -> Path:
    """Write a catalog of ``n`` items below ``workdir``; return its catalog.json."""
    root = workdir / "results"
    if root.exists():
        shutil.rmtree(root)
    (root / "config.yaml").parent.mkdir(parents=True)
    (root / "config.yaml").write_text("# the run root: verify keeps every href inside this folder\n")
    cat_dir, coll_dir = root / "catalog", root / "catalog" / "land-ecology-maps"
    coll_dir.mkdir(parents=True)
    links = []
    for i in range(n):
        item = _item(i)
        data_dir = root / "maps" / "land-ecology" / item["properties"]["sporbar:tile"]
        data_dir.mkdir(parents=True)
        data = i.to_bytes(8, "big") * 128  # 1 KiB, different per item
        (data_dir / "classes.tif").write_bytes(data)
        item["assets"]["classes"] = {
            "href": f"../../../maps/land-ecology/{data_dir.name}/classes.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            ext.FILE_CHECKSUM: "1220" + hashlib.sha256(data).hexdigest(),
            ext.FILE_SIZE: len(data),
        }
        item_dir = coll_dir / item["id"]
        item_dir.mkdir()
        (item_dir / f"{item['id']}.json").write_text(json.dumps(item, indent=2, sort_keys=True))
        links.append({"rel": "item", "href": f"./{item['id']}/{item['id']}.json", "type": "application/geo+json"})
    collection = {
        "type": "Collection", "stac_version": ext.STAC_VERSION, "stac_extensions": [], "id": "land-ecology-maps",
        "description": "generated", "license": "other",
        "extent": {"spatial": {"bbox": [[10, 63, 11, 64]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
        "links": [{"rel": "root", "href": "../catalog.json", "type": ext.JSON},
                  {"rel": "parent", "href": "../catalog.json", "type": ext.JSON}, *links],
    }
    (coll_dir / "collection.json").write_text(json.dumps(collection, indent=2, sort_keys=True))
    catalog = {
        "type": "Catalog", "stac_version": ext.STAC_VERSION, "stac_extensions": [], "id": "sporbar",
        "description": "generated",
        "links": [{"rel": "root", "href": "./catalog.json", "type": ext.JSON},
                  {"rel": "child", "href": "./land-ecology-maps/collection.json", "type": ext.JSON}],
    }
    (cat_dir / "catalog.json").write_text(json.dumps(catalog, indent=2, sort_keys=True))
    return cat_dir / "catalog.json"


def scale(workdir: Path, n: int) -> None:
    """Write and verify a generated catalog of ``n`` items; print the times."""
    t = time.perf_counter()
    catalog = generate(workdir, n)
    written = time.perf_counter() - t
    t = time.perf_counter()
    r = subprocess.run([str(BIN / "sporbar"), "verify", str(catalog)], capture_output=True, text=True)
    checked = time.perf_counter() - t
    print(f"generated {n} items in {written:.1f} s; `sporbar verify` {checked:.1f} s "
          f"({n / checked:.0f} items/s), total {(written + checked) / 60:.1f} min (goal < 10 min)")
    print("  " + (r.stdout.strip() or r.stderr.strip()[-500:]))


def main() -> None:
    """Parse the arguments and run the measurements."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=Path("results/catalog/catalog.json"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generate", type=int, default=0, help="also write and verify a catalog of N items")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/sporbar-verify-bench"))
    args = ap.parse_args()
    if args.catalog.is_file():
        ratio(args.catalog, args.repeats)
    else:
        print(f"{args.catalog}: no catalog (run `make run` first); ratio skipped")
    if args.generate:
        scale(args.workdir, args.generate)


if __name__ == "__main__":
    main()
