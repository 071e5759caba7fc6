"""STAC API on pgstac, for real: PostgreSQL 15 + PostGIS + pgstac (services/postgres.sh),
`sporbar publish --to pgstac`, `sporbar serve` (stac-fastapi-pgstac), pystac-client."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _services import (
    Server,
    add_to_config,
    dsn,
    pg_dir,
    require_root,
    stac_fixtures,
    start_postgres,
    stop_postgres,
)
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.cli.publish import publish
from sporbar.stac import extensions as ext

_fx = stac_fixtures()
BBOX, TILE, Chain, build_chain = _fx.BBOX, _fx.TILE, _fx.Chain, _fx.build_chain

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

MAP_ID = f"land-ecology-{TILE}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """PostgreSQL+pgstac, the chain published into it, and `sporbar serve` on it."""
    require_root("the pgstac test")
    tmp = tmp_path_factory.mktemp("pgstac")
    chain = build_chain(tmp)
    # every collection open: this module tests the API on the whole chain (test_access.py the levels)
    add_to_config(chain, {"catalog": {"access": dict.fromkeys(ext.COLLECTIONS, "open")}})
    pg_folder = pg_dir()
    pg = start_postgres(pg_folder)
    server = None
    try:
        res = _publish(chain, pg, items=True)
        assert res.exit_code == 0, res.output
        server = Server(["--data-root", str(chain.root)], env=pg, log=tmp / "serve.log")
        server.wait("/api/")
        yield {"chain": chain, "pg": pg, "server": server, "publish_output": res.output}
    finally:
        if server is not None:
            server.stop()
        stop_postgres(pg_folder)


def _publish(chain: Chain, pg: dict[str, str], *, items: bool) -> Any:
    """Build the static catalog (when ``items``), approve it as the data owner, load it into pgstac."""
    runner = CliRunner()
    if items:
        built = runner.invoke(publish, ["-c", str(chain.cfg_path), "-o", str(chain.catalog), str(chain.map)])
        assert built.exit_code == 0, built.output
    approved = runner.invoke(cli, ["approve", "--all", "--by", "Test Owner", "-c", str(chain.cfg_path)])
    assert approved.exit_code == 0, approved.output
    args = ["-c", str(chain.cfg_path), "-o", str(chain.catalog), "--to", "pgstac", "--dsn", dsn(pg)]
    args += ["--asset-base-url", "/data/"]
    return runner.invoke(publish, args, catch_exceptions=False)


def _client(stack: dict[str, Any]) -> Any:
    from pystac_client import Client

    return Client.open(stack["server"].base + "/api/")


def _ids(stack: dict[str, Any], **search: Any) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "numberMatched not in response"
        return sorted(i.id for i in _client(stack).search(max_items=1000, **search).items())


def _counts(stack: dict[str, Any]) -> dict[str, int]:
    client = _client(stack)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ids = [c.id for c in client.get_collections()]
        return {cid: len(list(client.search(collections=[cid], max_items=1000).items())) for cid in ids}


EXPECTED = {
    ext.COLLECTION_S2_RAW: 1,
    ext.COLLECTION_LIDAR_RAW: 1,
    ext.COLLECTION_LABELS_RAW: 1,
    ext.COLLECTION_ARD: 1,
    ext.COLLECTION_TRAINING: 1,
    ext.COLLECTION_MODELS: 1,
    ext.COLLECTION_MAPS: 1,
}


def test_counts_per_collection(stack) -> None:
    assert _counts(stack) == EXPECTED
    assert "7 item(s) upserted" in stack["publish_output"]


def test_bbox_filter(stack) -> None:
    assert len(_ids(stack, bbox=BBOX)) == 7
    # the model item has no geometry: stored with its collection's extent, and marked so
    assert _ids(stack, query={"sporbar:geometry_source": {"eq": "collection extent"}}) == ["model-rf"]
    # far away: only the model, whose collection extent is the whole world here
    assert _ids(stack, bbox=[5.0, 60.0, 5.1, 60.1]) == ["model-rf"]


def test_datetime_filter(stack) -> None:
    assert _ids(stack, datetime="2024-09-01/2024-12-31") == [MAP_ID]
    assert len(_ids(stack, datetime="2024-06-01T00:00:00Z/2024-06-02T00:00:00Z")) == 6
    assert _ids(stack, datetime="2020-01-01/2020-12-31") == []


def test_collection_filter(stack) -> None:
    assert _ids(stack, collections=[ext.COLLECTION_MAPS]) == [MAP_ID]
    assert len(_ids(stack, collections=[ext.COLLECTION_MAPS, ext.COLLECTION_ARD])) == 2


def test_property_filters(stack) -> None:
    software = {"op": "=", "args": [{"property": "processing:software.sporbar"}, "0.1.0"]}
    assert len(_ids(stack, filter=software, filter_lang="cql2-json")) == 7
    wrong = {"op": "=", "args": [{"property": "processing:software.sporbar"}, "9.9.9"]}
    assert _ids(stack, filter=wrong, filter_lang="cql2-json") == []
    fetched = {"op": "like", "args": [{"property": "processing:lineage"}, "Fetched%"]}
    assert len(_ids(stack, filter=fetched, filter_lang="cql2-json")) == 3
    both = {"op": "and", "args": [software, {"op": "=", "args": [{"property": "collection"}, ext.COLLECTION_MAPS]}]}
    assert _ids(stack, filter=both, filter_lang="cql2-json") == [MAP_ID]
    # the query extension too
    assert _ids(stack, query={"processing:lineage": {"eq": "Classes predicted by model rf."}}) == [MAP_ID]


def test_queryables_listed_filtered_and_indexed(stack) -> None:
    from sporbar.stac.queryables import QUERYABLES

    listed = json.loads(stack["server"].get("/api/queryables"))["properties"]
    for q in QUERYABLES:
        assert listed[q.name]["title"] == q.title
    assert listed["sporbar:metrics.overall_accuracy"]["type"] == "number"
    assert listed["sporbar:classes"]["type"] == "array"

    def cql2(f: dict[str, Any]) -> list[str]:
        return _ids(stack, filter=f, filter_lang="cql2-json")

    assert cql2({"op": "a_contains", "args": [{"property": "sporbar:classes"}, ["mire"]]}) == [MAP_ID]
    assert cql2({"op": "a_contains", "args": [{"property": "sporbar:classes"}, ["water"]]}) == []
    assert cql2({"op": "=", "args": [{"property": "sporbar:model"}, "model-rf"]}) == [MAP_ID]
    # a number compared as a number (as text, "0.9" >= "0.85" would hold too, but "0.9" >= "0.10" would not)
    assert cql2({"op": ">=", "args": [{"property": "sporbar:metrics.overall_accuracy"}, 0.1]}) == ["model-rf"]
    assert cql2({"op": ">", "args": [{"property": "sporbar:metrics.overall_accuracy"}, 0.95]}) == []

    import psycopg

    with psycopg.connect(dsn(stack["pg"])) as conn:
        cur = conn.cursor()
        cur.execute("SET search_path TO pgstac, public")
        cur.execute("SET enable_seqscan TO off")  # 7 rows: make the planner show whether the index fits at all
        for q in QUERYABLES:
            if q.kind == "array":
                f = {"op": "a_contains", "args": [{"property": q.name}, ["x"]]}
            else:
                f = {"op": "=", "args": [{"property": q.name}, 0.5 if q.definition.get("type") == "number" else "x"]}
            search = {"filter-lang": "cql2-json", "filter": f}
            # a GIN index gives no order: take the ordered walk of the date index away too
            cur.execute(f"SET enable_indexscan TO {'off' if q.kind == 'array' else 'on'}")
            cur.execute("SELECT stac_search_to_where(%s::jsonb)", (json.dumps(search),))
            (where,) = cur.fetchone()
            cur.execute(f"EXPLAIN SELECT id FROM items WHERE {where} ORDER BY datetime DESC, id DESC LIMIT 10")
            plan = "\n".join(r[0] for r in cur.fetchall())
            cur.execute(  # the partitions' own copies of the index (Postgres names them itself)
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                (q.index_name,),
            )
            copies = [r[0] for r in cur.fetchall()]
            assert copies, f"{q.name}: index {q.index_name} missing"
            assert any(c in plan for c in copies), f"{q.name}: {where} does not use its index\n{plan}"


def test_a_load_into_an_indexed_database_leaves_statistics(stack) -> None:
    """Regression: with the queryables' indexes already there, a load left its partition without planner
    statistics (no ANALYZE; autovacuum skips a small load and never analyses the partitioned parent), and at
    1 M items the accuracy search walked the date index: 2-5 s instead of ~0.1 s (benchmarks/README.md)."""
    import psycopg

    from sporbar.stac.pgstac import load_records

    cid = "stats-probe"
    collection = {
        "type": "Collection", "stac_version": "1.1.0", "id": cid, "description": "probe", "license": "CC-BY-4.0",
        "extent": {"spatial": {"bbox": [list(BBOX)]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
        "links": [],
    }  # fmt: skip
    w, s, e, n = BBOX
    items = [
        {
            "type": "Feature", "stac_version": "1.1.0", "id": f"probe-{i}", "collection": cid, "bbox": [w, s, e, n],
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
            "properties": {"datetime": f"2024-01-{i + 1:02d}T00:00:00Z",
                           "sporbar:metrics": {"overall_accuracy": i / 20}},
            "assets": {}, "links": [],
        }  # fmt: skip
        for i in range(20)
    ]
    conninfo = dsn(stack["pg"])
    try:
        load_records([collection], items, conninfo)
        with psycopg.connect(conninfo) as conn:
            (partition,) = conn.execute(
                "SELECT partition FROM pgstac.partition_sys_meta WHERE level = 1 AND collection = %s", (cid,)
            ).fetchone()
            analysed = conn.execute(
                "SELECT count(*) FROM pg_stats WHERE schemaname = 'pgstac' AND tablename = %s", (partition,)
            ).fetchone()[0]
        assert analysed > 0, f"no statistics of {partition} after the load"
    finally:
        with psycopg.connect(conninfo) as conn:
            conn.execute("SELECT pgstac.delete_collection(%s) FROM pgstac.collections WHERE id = %s", (cid, cid))


def test_api_sessions_plan_searches_without_parallel_workers(stack) -> None:
    """The API's database sessions (stac-fastapi-pgstac's pool, as `serve` opens it) plan no parallel workers:
    starting them cost more than a page of search results (benchmarks/pgstac_publish.py --parallel at 1 M items:
    collection + bbox + datetime 98 ms with workers, 14 ms without). The planner is told here that workers cost
    nothing, so without the setting it would plan them: the same query on a plain session shows it does."""
    import asyncio

    import psycopg
    from fastapi import FastAPI
    from stac_fastapi.pgstac.db import close_db_connection, connect_to_db

    from sporbar.serve.app import postgres_settings

    cheap_workers = (
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
        "SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0"
    )
    w, s, e, n = BBOX
    query = (
        "EXPLAIN SELECT * FROM pgstac.items "
        f"WHERE st_intersects(geometry, st_makeenvelope({w}, {s}, {e}, {n}, 4326)) ORDER BY datetime DESC LIMIT 11"
    )

    async def api_plan() -> str:
        app = FastAPI()
        await connect_to_db(app, postgres_settings=postgres_settings(dsn(stack["pg"])))
        try:
            async with app.state.readpool.acquire() as conn:
                await conn.execute(cheap_workers)
                return "\n".join(r[0] for r in await conn.fetch(query))
        finally:
            await close_db_connection(app)

    with psycopg.connect(dsn(stack["pg"])) as conn:
        conn.execute(cheap_workers)
        plain = "\n".join(r[0] for r in conn.execute(query).fetchall())
    assert "Gather" in plain, f"a plain session plans no workers either: the test proves nothing\n{plain}"
    plan = asyncio.run(api_plan())
    assert "Gather" not in plan and "Parallel" not in plan, plan


def test_item_hrefs_served(stack) -> None:
    server = stack["server"]
    item = json.loads(server.get(f"/api/collections/{ext.COLLECTION_MAPS}/items/{MAP_ID}"))
    derived = sorted(link["href"] for link in item["links"] if link["rel"] == ext.DERIVED_FROM)
    assert derived == [
        f"{server.base}/api/collections/{ext.COLLECTION_MODELS}/items/model-rf",
        f"{server.base}/api/collections/{ext.COLLECTION_ARD}/items/ard-{TILE}",
    ]
    for link in derived:  # lineage can be walked through the API
        assert json.loads(server.get(link.removeprefix(server.base)))["type"] == "Feature"
    href = item["assets"]["classes"]["href"]
    assert href == f"/data/maps/land-ecology/{TILE}/classes.tif"
    assert server.get(href) == (stack["chain"].map.parent / "classes.tif").read_bytes()


def _get(server: Any, path: str, language: str | None = None) -> tuple[dict[str, Any], Any]:
    """(JSON body, headers) of GET ``path``, with ``Accept-Language: language`` when given."""
    import urllib.request

    request = urllib.request.Request(server.base + path, headers={"Accept-Language": language} if language else {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read()), r.headers


def test_collections_in_the_language_asked_for(stack) -> None:
    """STAC API - Language: bokmål or English, from the texts `publish --to pgstac` stored with each collection."""
    from sporbar.serve.language import API_LANGUAGE_CONFORMANCE
    from sporbar.stac.collections import template, translation
    from sporbar.stac.language import TRANSLATIONS
    from sporbar.stac.validate import validate_dict

    server = stack["server"]
    nb, en = translation(ext.COLLECTION_MAPS), template(ext.COLLECTION_MAPS)
    assert nb["title"] != en["title"]
    path = f"/api/collections/{ext.COLLECTION_MAPS}"
    # STAC Browser in bokmål sends its interface language first, then the browser's, then English
    coll, headers = _get(server, path, "nb,en-US;q=0.8,en;q=0.2,*;q=0.1")
    assert (coll["title"], coll["description"]) == (nb["title"], nb["description"])
    assert coll["language"]["code"] == "nb" and [lang["code"] for lang in coll["languages"]] == ["en"]
    assert headers["Content-Language"] == "nb" and "Accept-Language" in headers.get_all("Vary")
    assert TRANSLATIONS not in coll and ext.LANGUAGE_SCHEMA_URI in coll["stac_extensions"]
    assert validate_dict(coll) == []  # the language extension's schema included
    # English when asked for, and by default
    for language in ("en,nb;q=0.5", None, "de"):
        coll, headers = _get(server, path, language)
        assert coll["title"] == en["title"] and coll["language"]["code"] == "en", language
        assert [lang["code"] for lang in coll["languages"]] == ["nb"] and headers["Content-Language"] == "en"
    assert _get(server, path + "?language=nb", "en")[0]["title"] == nb["title"]  # the query parameter wins
    # the list STAC Browser draws its cards from, and the landing page
    listed, _ = _get(server, "/api/collections", "nb")
    titles = {c["id"]: c["title"] for c in listed["collections"]}
    assert titles == {cid: translation(cid)["title"] for cid in ext.COLLECTIONS if cid in EXPECTED}
    landing, _ = _get(server, "/api/", "nb")
    assert API_LANGUAGE_CONFORMANCE in landing["conformsTo"] and landing["language"]["code"] == "nb"
    assert API_LANGUAGE_CONFORMANCE in _get(server, "/api/conformance")[0]["conformsTo"]
    assert _get(server, "/api/", "en")[0]["description"] != landing["description"]
    # stored once, in the collection row: the API's own texts, not the templates of this install
    import psycopg

    with psycopg.connect(dsn(stack["pg"])) as conn:
        (stored,) = conn.execute(
            "SELECT content->%s FROM pgstac.collections WHERE id = %s", (TRANSLATIONS, ext.COLLECTION_MAPS)
        ).fetchone()
    assert stored == {"nb": nb}


def test_browser_config_points_at_the_api(stack) -> None:
    from sporbar.serve.app import default_browser_dist

    if not (default_browser_dist() / "index.html").is_file():
        pytest.skip("STAC Browser not built (web/build.sh; test_browser.py builds it)")
    server = stack["server"]
    assert f'"catalogUrl": "{server.base}/api/"' in server.get("/browser/config.js").decode()


def test_republish_is_idempotent(stack) -> None:
    before = _counts(stack)
    for _ in range(2):
        res = _publish(stack["chain"], stack["pg"], items=False)  # the existing catalog again
        assert res.exit_code == 0, res.output
    assert _counts(stack) == before
    import psycopg

    with psycopg.connect(dsn(stack["pg"])) as conn:
        n_items = conn.execute("SELECT count(*) FROM pgstac.items").fetchone()[0]
        n_colls = conn.execute("SELECT count(*) FROM pgstac.collections").fetchone()[0]
    assert (n_items, n_colls) == (7, 7)


def test_republish_updates(stack, tmp_path: Path) -> None:
    chain: Chain = stack["chain"]
    cat_item = chain.catalog.parent / ext.COLLECTION_MAPS / MAP_ID / f"{MAP_ID}.json"
    original = cat_item.read_text()
    try:
        d = json.loads(original)
        d["properties"]["sporbar:note"] = "republished"
        cat_item.write_text(json.dumps(d))
        res = _publish(chain, stack["pg"], items=False)
        assert res.exit_code == 0, res.output
        assert _ids(stack, query={"sporbar:note": {"eq": "republished"}}) == [MAP_ID]
        assert sum(_counts(stack).values()) == 7
    finally:
        cat_item.write_text(original)
        _publish(chain, stack["pg"], items=False)


def test_unreachable_database_is_one_clear_error(stack) -> None:
    from sporbar.errors import SporbarError
    from sporbar.stac.pgstac import publish_to_pgstac

    with pytest.raises(SporbarError, match="cannot connect to PostgreSQL"):
        publish_to_pgstac(stack["chain"].catalog, "postgresql://postgres:x@127.0.0.1:1/sporbar?connect_timeout=3")
