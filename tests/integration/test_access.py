"""Access levels enforced for real: PostgreSQL + pgstac, the map chain published with the maps
marked restricted and the models closed (``catalog.access``), `sporbar serve -c` validating
tokens of a loopback OpenID Connect issuer (real discovery document and JWKS, generated key).

For each of API (collections, items, search), tiles and data files: no token, a valid token,
a token with the closed scope, a forged token and an expired one. Refusals are 401/403 with a
message, never 500, and no anonymous response holds an id or title of a restricted collection.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from _map_fixture import served_map_chain
from _services import require_root

from sporbar.serve.issuer import LoopbackIssuer, generate_key, sign_token
from sporbar.stac import extensions as ext

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

MAPS, LIDAR, LABELS, TRAINING, ARD, MODELS = (
    ext.COLLECTION_MAPS,
    ext.COLLECTION_LIDAR_RAW,
    ext.COLLECTION_LABELS_RAW,
    ext.COLLECTION_TRAINING,
    ext.COLLECTION_ARD,
    ext.COLLECTION_MODELS,
)
# restricted or closed in this test's config; the open ARD and model items link a closed and a restricted one
HIDDEN = (MAPS, LIDAR, LABELS, TRAINING)
CLOSED_SCOPE = "sporbar:closed"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_root("the access test")
    tmp = tmp_path_factory.mktemp("access")
    with LoopbackIssuer() as issuer:
        config = {
            "catalog": {"access": {MAPS: "restricted", LIDAR: "closed"}},
            "serve": {"auth": {"oidc_discovery_url": issuer.discovery_url, "audiences": ["sporbar"]}},
        }
        with served_map_chain(tmp, wait="/api/", config=config, serve_config=True) as served:
            # the issuer's claims and key id, signed with another key
            forged = sign_token(generate_key(), issuer=issuer.base, kid=issuer.kid, scopes=[CLOSED_SCOPE])
            tokens = {
                None: None,
                "staff": issuer.token(),
                "closed": issuer.token(scopes=[CLOSED_SCOPE]),
                "expired": issuer.token(lifetime_s=-120),
                "forged": forged,
                "malformed": "not-a-jwt",
            }
            yield {**served, "issuer": issuer, "tokens": tokens, "anonymous": []}


def _request(
    stack: dict[str, Any], path: str, who: str | None = None, body: Any = None
) -> tuple[int, bytes, dict[str, str]]:
    server = stack["server"]
    token = stack["tokens"][who]
    headers = {"Accept-Encoding": "gzip, br"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(server.base + path, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, content, hdrs = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as err:
        status, content, hdrs = err.code, err.read(), dict(err.headers)
    content = _decoded(content, {k.lower(): v for k, v in hdrs.items()}.get("content-encoding", ""))
    assert status < 500, f"{path} as {who}: {status} {content[:500]!r}"
    if who is None:
        stack["anonymous"].append((path, content))
    return status, content, hdrs


def _decoded(content: bytes, encoding: str) -> bytes:
    """The body as sent before compression (the checks must see the real bytes)."""
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(content))
    if encoding == "gzip":
        import gzip

        return gzip.decompress(content)
    assert encoding in ("", "identity"), encoding
    return content


def _json(stack: dict[str, Any], path: str, who: str | None = None, body: Any = None) -> dict[str, Any]:
    status, content, _ = _request(stack, path, who, body)
    assert status == 200, f"{path} as {who}: {status} {content[:500]!r}"
    doc: dict[str, Any] = json.loads(content)
    return doc


def _map_ids(stack: dict[str, Any]) -> list[str]:
    return [json.loads(p.read_text())["id"] for p in stack["chain"].maps]


def _tile_path(stack: dict[str, Any]) -> str:
    import morecantile

    item = json.loads(stack["chain"].maps[0].read_text())
    w, s, e, n = item["bbox"]
    t = morecantile.tms.get("WebMercatorQuad").tile((w + e) / 2, (s + n) / 2, 15)
    return (
        f"/tiles/collections/{MAPS}/items/{item['id']}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png?assets=classes"
    )


def _data_path(stack: dict[str, Any], item_path: Any, key: str) -> str:
    item = json.loads(item_path.read_text())
    href = (item_path.parent / item["assets"][key]["href"]).resolve()
    return "/data/" + href.relative_to(stack["chain"].root.resolve()).as_posix()


# --- API ---------------------------------------------------------------------------------------


def test_collections_list_by_grant(stack) -> None:
    ids = {
        who: {c["id"] for c in _json(stack, "/api/collections", who)["collections"]}
        for who in (None, "staff", "closed")
    }
    assert ARD in ids[None] and not ids[None] & set(HIDDEN), ids[None]
    assert {MAPS, LABELS, TRAINING} <= ids["staff"] and LIDAR not in ids["staff"], ids["staff"]
    assert set(HIDDEN) <= ids["closed"], ids["closed"]


@pytest.mark.parametrize("suffix", ["", "/items", "/items/{item}", "/queryables"])
def test_restricted_collection_paths_need_a_token(stack, suffix) -> None:
    path = f"/api/collections/{MAPS}" + suffix.format(item=_map_ids(stack)[0])
    status, body, headers = _request(stack, path)
    assert status == 401, (path, status, body[:300])
    assert b"Authentication required" in body and headers.get("www-authenticate", "").startswith("Bearer")
    assert _request(stack, path, "staff")[0] == 200
    status, body, _ = _request(stack, f"/api/collections/{LIDAR}", "staff")
    assert status == 403 and CLOSED_SCOPE.encode() in body, body
    assert _request(stack, f"/api/collections/{LIDAR}", "closed")[0] == 200


def test_search_hides_restricted_items_whatever_the_query(stack) -> None:
    map_ids = _map_ids(stack)
    item = json.loads(stack["chain"].maps[0].read_text())
    bbox = ",".join(map(str, item["bbox"]))
    queries = [
        ("GET", f"/api/search?collections={MAPS}"),
        ("GET", f"/api/search?ids={','.join(map_ids)}"),
        ("GET", f"/api/search?bbox={bbox}&limit=100"),
        ("GET", f"/api/search?filter=collection%3D%27{MAPS}%27&filter-lang=cql2-text"),
        ("POST", {"collections": [MAPS]}),
        ("POST", {"ids": map_ids}),
        ("POST", {"filter": {"op": "=", "args": [{"property": "collection"}, MAPS]}, "filter-lang": "cql2-json"}),
        ("POST", {"bbox": item["bbox"], "limit": 100}),
    ]
    for method, query in queries:
        path, body = (query, None) if method == "GET" else ("/api/search", query)
        anonymous = _json(stack, str(path), None, body)["features"]
        assert all(f["collection"] not in HIDDEN for f in anonymous), (query, [f["id"] for f in anonymous])
        staff = {f["id"] for f in _json(stack, str(path), "staff", body)["features"]}
        if "collections" in str(query) or "ids" in str(query) or MAPS in str(query):
            assert set(map_ids) <= staff, (query, staff)
    # the query extension is rewritten as CQL2 so it combines with the access filter
    tile_query = {"collections": [MAPS, ARD], "query": {"proj:code": {"eq": "EPSG:25833"}}}
    anonymous = {f["collection"] for f in _json(stack, "/api/search", None, tile_query)["features"]}
    assert anonymous <= {ARD}, anonymous
    assert MAPS in {f["collection"] for f in _json(stack, "/api/search", "staff", tile_query)["features"]}
    status, body, _ = _request(stack, "/api/search", None, {"query": {"x": {"near": 1}}})
    assert status == 400 and b"near" in body, body
    everything = _json(stack, "/api/search?limit=100")["features"]
    assert {f["collection"] for f in everything} and not {f["collection"] for f in everything} & set(HIDDEN)


# --- tokens that are not valid -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["forged", "expired", "malformed"])
def test_invalid_tokens_are_401_everywhere(stack, who) -> None:
    paths = [
        "/api/collections",
        f"/api/collections/{ARD}",
        "/api/search",
        _tile_path(stack),
        "/tiles/api",
        _data_path(stack, stack["chain"].ard, "composite-early"),
        _data_path(stack, stack["chain"].maps[0], "classes"),
    ]
    for path in paths:
        status, body, _ = _request(stack, path, who)
        assert status == 401, (who, path, status, body[:300])
        assert b"token" in body.lower() or b"authorization" in body.lower(), body


# --- tiles ----------------------------------------------------------------------------------------


def test_tiles_of_restricted_maps_need_a_token(stack) -> None:
    tile = _tile_path(stack)
    assert _request(stack, tile)[0] == 401
    status, png, headers = _request(stack, tile, "staff")
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n", (status, png[:200])
    assert _request(stack, f"/tiles/mosaics/{MAPS}")[0] == 401
    mosaic = _json(stack, f"/tiles/mosaics/{MAPS}", "staff")
    search_tile = mosaic["links"]["tiles"].replace(stack["server"].base, "").format(z=15, x=0, y=0)
    assert _request(stack, search_tile)[0] == 401, search_tile  # a staff mosaic is no way in
    assert _request(stack, f"/tiles/searches/{mosaic['id']}/info")[0] == 401
    assert _request(stack, "/tiles/searches/list")[0] == 401
    for body in ({"collections": [MAPS]}, {}, {"filter": {"op": "=", "args": [{"property": "collection"}, MAPS]}}):
        assert _request(stack, "/tiles/searches/register", None, body)[0] == 401, body
    assert _request(stack, "/tiles/searches/register", "staff", {"collections": [MAPS]})[0] == 200
    assert _request(stack, "/tiles/searches/register", None, {"collections": [ARD]})[0] == 200
    assert _request(stack, "/tiles/api")[0] == 200


# --- data files -----------------------------------------------------------------------------------


def test_data_files_by_collection(stack) -> None:
    chain = stack["chain"]
    restricted = [
        _data_path(stack, chain.maps[0], "classes"),
        _data_path(stack, chain.raw_labels, "labels"),
        _data_path(stack, chain.training, "samples"),
        "/data/" + chain.maps[0].relative_to(chain.root).as_posix(),
        f"/data/catalog/{MAPS}/collection.json",
    ]
    for path in restricted:
        assert _request(stack, path)[0] == 401, path
        assert _request(stack, path, "staff")[0] == 200, path
    points = _data_path(stack, chain.raw_lidar, "data")
    assert _request(stack, points, "staff")[0] == 403
    assert _request(stack, points, "closed")[0] == 200
    # an open item's links into hidden collections are not shown (the model derives from the training set)
    model_file = "/data/" + chain.model.relative_to(chain.root).as_posix()
    assert b"training" not in _request(stack, model_file)[1]
    assert b"training" in _request(stack, model_file, "staff")[1]
    assert _request(stack, _data_path(stack, chain.ard, "composite-early"))[0] == 200
    assert _request(stack, f"/data/catalog/{ARD}/collection.json")[0] == 200
    catalog = _json(stack, "/data/catalog/catalog.json")
    children = [link["href"] for link in catalog["links"] if link["rel"] == "child"]
    assert any(ARD in h for h in children) and not [h for h in children if any(c in h for c in HIDDEN)], children
    staff_children = [link["href"] for link in _json(stack, "/data/catalog/catalog.json", "staff")["links"]]
    assert any(MAPS in h for h in staff_children)


# --- nothing leaks ----------------------------------------------------------------------------------


def test_no_anonymous_response_names_a_restricted_collection(stack) -> None:
    model = json.loads(stack["chain"].model.read_text())["id"]
    for path in ["/api/", "/api/collections", "/api/search?limit=100", "/api/queryables", "/browser/config.js",
                 f"/api/collections/{MODELS}/items", f"/api/collections/{MODELS}/items/{model}",
                 f"/api/collections/{ARD}/items", f"/data/catalog/{MODELS}/{model}/{model}.json"]:
        assert _request(stack, path)[0] in (200, 404), path
    chain = stack["chain"]
    secret_items = [json.loads(p.read_text()) for p in [*chain.maps, chain.raw_labels, chain.training, chain.raw_lidar]]
    open_bboxes = {json.dumps(json.loads(chain.ard.read_text()).get("bbox"))}
    # ids as JSON strings or path parts (a description may say "e.g. model-rf")
    ids = {i["id"] for i in secret_items} | set(HIDDEN)
    needles = {f'"{i}"' for i in ids} | {f"/{i}" for i in ids}
    from sporbar.stac.collections import template

    needles |= {template(c)["title"] for c in HIDDEN}
    bboxes = {json.dumps(i["bbox"]) for i in secret_items if i.get("bbox")} - open_bboxes
    assert len(stack["anonymous"]) > 5
    for path, content in stack["anonymous"]:
        text = content.decode(errors="replace")
        found = [n for n in needles if n in text] + [b for b in bboxes if b in text.replace(" ", "")]
        assert not found, f"anonymous {path} holds {found}: {text[:400]}"


def test_a_client_who_may_see_no_collection_gets_empty_answers_not_500(stack) -> None:
    """Regression: with no collection open to a client, the access filter was the CQL2 literal
    ``false``, which pgstac 0.10 turns into an SQL error, so every anonymous search was a 500
    (found by benchmarks/pgstac_publish.py, whose collections had no level)."""
    import time

    import psycopg
    from _services import dsn

    from sporbar.serve.access import REFRESH_S

    with psycopg.connect(dsn(stack["pg"]), autocommit=True) as conn:
        saved = conn.execute("SELECT id, content->'sporbar:access' FROM pgstac.collections").fetchall()
        conn.execute("UPDATE pgstac.collections SET content = content || '{\"sporbar:access\": \"restricted\"}'")
        try:
            time.sleep(REFRESH_S + 1)  # the server re-reads the levels
            assert _json(stack, "/api/search?limit=10")["features"] == []
            assert _json(stack, "/api/search", None, {"limit": 10, "bbox": [-180, -90, 180, 90]})["features"] == []
            assert _json(stack, "/api/collections")["collections"] == []
            assert {f["collection"] for f in _json(stack, "/api/search?limit=100", "staff")["features"]}
        finally:
            for cid, level in saved:
                if level is None:
                    conn.execute("UPDATE pgstac.collections SET content = content - 'sporbar:access' WHERE id = %s",
                                 (cid,))
                else:
                    conn.execute("UPDATE pgstac.collections SET content = jsonb_set(content, '{sporbar:access}', "
                                 "%s::jsonb) WHERE id = %s", (json.dumps(level), cid))
            time.sleep(REFRESH_S + 1)
