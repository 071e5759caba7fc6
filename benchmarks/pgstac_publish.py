"""Benchmark: publish N synthetic items into pgstac, then search latency through the STAC API.

    eval "$(services/postgres.sh start)"
    .venv/bin/python benchmarks/pgstac_publish.py --items 100000

Generates N small valid items (5 collections ``bench-*``, tiles over Norway, one
datetime each in 2024, processing/sporbar properties like the pipeline's: map tiles with
their classes and model, model versions with accuracy), loads them with
the code path of ``sporbar publish --to pgstac`` (pypgstac Loader, upsert), measures
items/s for the first load and for an idempotent re-load of a sample, then starts
``sporbar serve`` (stac-fastapi-pgstac) on a free loopback port and times typical
searches (first page, limit 10; POST /search like pystac-client): p50/p95/max over
``--reps`` runs each; then drops the queryables' indexes (``sporbar.stac.queryables``) and
times the property (CQL2) searches again, side by side. ``--staff`` times the searches again as
signed-in staff (``sporbar serve -c`` with a loopback OpenID Connect issuer, a bearer token);
``--parallel`` times ``pgstac.search`` in the database with parallel workers allowed and as
``serve``'s sessions plan (none), alternately. Prints a table; the ``bench-*`` collections are
dropped at the end (``--keep`` keeps them; ``--reuse`` searches them again without a load).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _bench import latencies, percentiles, report, serving

from sporbar.stac import extensions as ext
from sporbar.stac.pgstac import load_records
from sporbar.stac.queryables import QUERYABLES, declare_queryables

COLLECTIONS = ("bench-maps", "bench-ard", "bench-lidar", "bench-raw")
MODELS = "bench-models"  # every 100th item: a model version (metrics, version)
NORWAY = (4.5, 58.0, 31.0, 71.0)  # lon/lat box the tiles fall in
LATENCY = "p50 {:.0f} ms, p95 {:.0f} ms, max {:.0f} ms"
CLASSES = ("forest", "mire", "heath", "farmland", "water", "bare_rock", "built_up")


def collection(cid: str) -> dict[str, Any]:
    """A valid collection for the synthetic items."""
    return {
        "type": "Collection",
        "stac_version": ext.STAC_VERSION,
        "stac_extensions": [],
        "id": cid,
        "title": f"Benchmark {cid}",
        "description": "Synthetic items of benchmarks/pgstac_publish.py",
        "license": "CC-BY-4.0",
        "sporbar:access": "open",  # as publish writes it; without a level `serve` treats a collection as closed
        "extent": {
            "spatial": {"bbox": [list(NORWAY)]},
            "temporal": {"interval": [["2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z"]]},
        },
        "links": [],
    }


def items(n: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    """``n`` small valid items spread over the collections, Norway and 2024."""
    rnd = random.Random(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    size = 0.05  # degrees
    for i in range(n):
        cid = MODELS if i % 100 == 7 else COLLECTIONS[i % len(COLLECTIONS)]
        w = round(rnd.uniform(NORWAY[0], NORWAY[2] - size), 5)
        s = round(rnd.uniform(NORWAY[1], NORWAY[3] - size), 5)
        e, nn = round(w + size, 5), round(s + size, 5)
        dt = (t0 + timedelta(seconds=rnd.randrange(366 * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        version = "0.1.0" if i % 10 else "0.2.0"
        props: dict[str, Any] = {}
        if cid == "bench-maps":  # as sporbar.stac.items.map: classes present, the model that made it
            k = rnd.randrange(1, 4)
            props[ext.SPORBAR_CLASSES] = sorted(rnd.sample(CLASSES, k))
            props[ext.SPORBAR_MODEL] = f"model-rf-{i // 50_000:012x}"  # a new model version every 50,000 tiles
        elif cid == MODELS:
            props["version"] = f"{i:012x}"
            props["sporbar:metrics"] = {"overall_accuracy": round(rnd.uniform(0.6, 0.97), 3)}
        yield {
            "type": "Feature",
            "stac_version": ext.STAC_VERSION,
            "stac_extensions": [ext.PROCESSING_SCHEMA_URI],
            "id": f"{cid}-{i:07d}",
            "collection": cid,
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, nn], [w, nn], [w, s]]]},
            "bbox": [w, s, e, nn],
            "properties": {
                "datetime": dt,
                ext.PROCESSING_SOFTWARE: {"sporbar": version, "pystac": "1.15.2"},
                ext.PROCESSING_LINEAGE: "Synthetic benchmark item.",
                ext.SPORBAR_CONFIG_HASH: f"{i % 97:064x}",
                ext.SPORBAR_CODE_VERSION: f"git:{i // 100_000:040x}",  # a release every 100,000 items
                **props,
            },
            "assets": {
                "classes": {
                    "href": f"/data/maps/bench/{i:07d}/classes.tif",
                    "type": ext.COG,
                    "roles": ["data"],
                }
            },
            "links": [{"rel": "derived_from", "href": f"collections/bench-raw/items/bench-raw-{(i // 4) * 4 + 3:07d}"}],
        }


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def time_search(
    url: str, body: dict[str, Any], reps: int, headers: dict[str, str] | None = None
) -> tuple[int, float, float, float]:
    """Items on page 1, then p50, p95 and max latency in ms of ``reps`` POST /search after one warm-up."""
    found = len(post(url, body, headers)["features"])
    return found, *latencies(lambda _: post(url, body, headers), reps)


def time_get(url: str, reps: int, headers: dict[str, str] | None = None) -> tuple[int, float, float, float]:
    """As :func:`time_search` for a GET search ``url``."""

    def get() -> dict[str, Any]:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
            return dict(json.loads(r.read()))

    found = len(get()["features"])
    return found, *latencies(lambda _: get(), reps)


def time_searches(
    base: str,
    queries: dict[str, dict[str, Any]],
    reps: int,
    rows: list[tuple[str, str]],
    *,
    headers: dict[str, str] | None = None,
    label: str = "",
    get: bool = True,
) -> None:
    """Time each of ``queries`` (POST, limit 10) and, with ``get``, a GET search by collection; rows to ``rows``."""
    for name, body in queries.items():
        found, *ms = time_search(base + "/search", {**body, "limit": 10}, reps, headers)
        rows.append((f"{label}search: {name} ({found} on page 1)", LATENCY.format(*ms)))
    if get:
        found, *ms = time_get(base + "/search?collections=bench-maps&limit=10", reps, headers)
        rows.append((f"{label}GET search: collection ({found} on page 1)", LATENCY.format(*ms)))


@contextmanager
def staff_serving(data_root: Path, dsn: str) -> Iterator[tuple[str, str]]:
    """`sporbar serve` validating the tokens of a loopback OpenID Connect issuer; yields its URL and a staff token.

    The token has no closed scope: staff see open and restricted collections, so their searches are
    narrowed to a list of collections as an anonymous client's are (a full grant is not narrowed).
    """
    import tempfile

    import yaml

    from sporbar.serve.issuer import LoopbackIssuer

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    with LoopbackIssuer() as issuer, tempfile.TemporaryDirectory(prefix="sporbar-bench-") as tmp:
        config["serve"] = {"auth": {"oidc_discovery_url": issuer.discovery_url, "audiences": ["sporbar"]}}
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(yaml.safe_dump(config))
        with serving(data_root, dsn, args=("-c", str(cfg))) as base:
            yield base, issuer.token(lifetime_s=4 * 3600)


def time_parallel(dsn: str, queries: dict[str, dict[str, Any]], reps: int, rows: list[tuple[str, str]]) -> None:
    """``pgstac.search`` of each of ``queries`` in the database, with parallel workers allowed and without
    (``sporbar.serve.app.API_SESSION_SETTINGS``), alternately; p50/p95 of each to ``rows``.

    A search naming no collection gets the benchmark's, as ``serve`` narrows an anonymous search
    when those are the open collections.
    """
    import psycopg

    from sporbar.serve.app import API_SESSION_SETTINGS

    serial = " ".join(f"-c {k}={v}" for k, v in API_SESSION_SETTINGS.items())
    modes = {"parallel workers allowed": "", "as serve's sessions": serial}
    conns = {
        m: psycopg.connect(dsn, options=f"-c search_path=pgstac,public {o}", autocommit=True) for m, o in modes.items()
    }
    try:
        for name, body in queries.items():
            search = json.dumps({**body, "collections": body.get("collections") or [*COLLECTIONS, MODELS], "limit": 10})
            times: dict[str, list[float]] = {m: [] for m in modes}
            for rep in range(reps + 1):  # the first: warm-up
                for mode, conn in conns.items():
                    t = time.perf_counter()
                    conn.execute("SELECT pgstac.search(%s::jsonb)", (search,)).fetchone()
                    if rep:
                        times[mode].append((time.perf_counter() - t) * 1000)
            for mode, ts in times.items():
                p50, p95, _ = percentiles(ts)
                rows.append((f"pgstac.search, {mode}: {name}", f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"))
    finally:
        for conn in conns.values():
            conn.close()


def drop_queryable_indexes(dsn: str) -> None:
    """Drop the indexes ``declare_queryables`` made (the next publish makes them again)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        for q in QUERYABLES:
            conn.execute(f"DROP INDEX IF EXISTS pgstac.{q.index_name}")
        conn.execute("ANALYZE pgstac.items")


def reindex(dsn: str) -> None:
    """Declare the queryables again (their indexes, if an earlier run dropped them) and refresh the statistics."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        declare_queryables(conn)
        conn.execute("ANALYZE pgstac.items")


def drop(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        for cid in (*COLLECTIONS, MODELS):
            conn.execute("SELECT pgstac.delete_collection(%s) FROM pgstac.collections WHERE id = %s", (cid, cid))


def count(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pgstac.items WHERE collection = ANY(%s)", ([*COLLECTIONS, MODELS],)
        ).fetchone()
    return int(row[0]) if row else 0


def search_queries(n_items: int) -> dict[str, dict[str, Any]]:
    """The timed searches (POST /search bodies without ``limit``) of ``n_items`` benchmark items."""
    lat, lon = 63.4, 10.4
    return {
        "collection": {"collections": ["bench-maps"]},
        "bbox 1x1 deg": {"bbox": [lon, lat, lon + 1, lat + 1]},
        "datetime 1 month": {"datetime": "2024-06-01T00:00:00Z/2024-06-30T23:59:59Z"},
        "collection+bbox+datetime": {
            "collections": ["bench-maps"],
            "bbox": [lon, lat, lon + 2, lat + 2],
            "datetime": "2024-05-01T00:00:00Z/2024-09-30T23:59:59Z",
        },
        "cql2 processing:software.sporbar": {
            "filter-lang": "cql2-json",
            "filter": {"op": "=", "args": [{"property": "processing:software.sporbar"}, "0.2.0"]},
        },
        "cql2 class + collection": {
            "collections": ["bench-maps"],
            "filter-lang": "cql2-json",
            "filter": {"op": "a_contains", "args": [{"property": ext.SPORBAR_CLASSES}, ["mire"]]},
        },
        "cql2 model version of a map": {
            "filter-lang": "cql2-json",
            "filter": {"op": "=", "args": [{"property": ext.SPORBAR_MODEL}, f"model-rf-{0:012x}"]},
        },
        "cql2 model accuracy >= 0.95": {
            "filter-lang": "cql2-json",
            "filter": {"op": ">=", "args": [{"property": "sporbar:metrics.overall_accuracy"}, 0.95]},
        },
        "cql2 code version": {
            "filter-lang": "cql2-json",
            "filter": {"op": "=", "args": [{"property": ext.SPORBAR_CODE_VERSION}, f"git:{0:040x}"]},
        },
        "item by id": {"ids": [f"bench-maps-{(n_items // 2) // 4 * 4:07d}"], "collections": ["bench-maps"]},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=50, help="runs per search query")
    ap.add_argument("--dsn", default="", help="default: the PG* environment variables")
    ap.add_argument("--keep", action="store_true", help="keep the bench-* collections")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="search the items a --keep run left when pgstac holds exactly --items of them (no load timing)",
    )
    ap.add_argument("--indexed-only", action="store_true", help="skip the searches without the queryables' indexes")
    ap.add_argument(
        "--parallel",
        action="store_true",
        help="also time pgstac.search in the database with parallel workers allowed and as serve's sessions plan",
    )
    ap.add_argument(
        "--staff",
        action="store_true",
        help="also time every search as signed-in staff (a token of a loopback OpenID Connect issuer)",
    )
    a = ap.parse_args(argv)
    dsn = a.dsn
    rows: list[tuple[str, str]] = []
    if a.reuse and count(dsn) == a.items:
        reindex(dsn)
    else:
        load(dsn, a.items, rows)

    # 3. searches through the API
    root = Path(__file__).resolve().parents[1] / "results"
    root.mkdir(exist_ok=True)
    queries = search_queries(a.items)
    try:
        if a.parallel:
            time_parallel(dsn, queries, a.reps, rows)
        with serving(root, dsn) as server_base:
            base = server_base + "/api"
            time_searches(base, queries, a.reps, rows)
            if not a.indexed_only:
                # the same property searches without the queryables' indexes: what publish gave before
                drop_queryable_indexes(dsn)
                filtered = {name: body for name, body in queries.items() if "filter" in body}
                time_searches(base, filtered, a.reps, rows, label="  without its index: ", get=False)
                reindex(dsn)
        if a.staff:
            with staff_serving(root, dsn) as (server_base, token):
                headers = {"Authorization": f"Bearer {token}"}
                time_searches(server_base + "/api", queries, a.reps, rows, headers=headers, label="staff: ")
    finally:
        if not a.keep:
            drop(dsn)

    report(f"pgstac benchmark: {a.items:,} items, {a.reps} runs per query, {os.cpu_count()} CPUs", rows, a.json)
    return 0


def load(dsn: str, n_items: int, rows: list[tuple[str, str]]) -> None:
    """Load ``n_items`` into an empty benchmark, then re-publish a sample; their rates go to ``rows``."""
    drop(dsn)
    # 1. first load: generation is done lazily inside the load (as from a catalog walk)
    t = time.perf_counter()
    load_records([collection(c) for c in (*COLLECTIONS, MODELS)], items(n_items), dsn)
    load_s = time.perf_counter() - t
    n = count(dsn)
    assert n == n_items, f"{n} items in pgstac, expected {n_items}"
    rows.append((f"publish {n_items:,} items (upsert, empty db)", f"{n_items / load_s:,.0f} items/s ({load_s:.1f} s)"))

    # 2. idempotent re-publish of a sample: same rows, updated in place
    sample = min(n_items, 10_000)
    t = time.perf_counter()
    load_records([collection(c) for c in (*COLLECTIONS, MODELS)], items(sample), dsn)
    re_s = time.perf_counter() - t
    assert count(dsn) == n_items, "re-publish duplicated items"
    rows.append((f"re-publish {sample:,} items (upsert, unchanged)", f"{sample / re_s:,.0f} items/s ({re_s:.1f} s)"))


if __name__ == "__main__":
    sys.exit(main())
