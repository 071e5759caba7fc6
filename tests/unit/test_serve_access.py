"""Access levels: where they come from (templates, catalog.access), how tokens are configured
(serve.auth, checked by check-config), the query-to-CQL2 rewrite, and the static server
enforcing them with tokens of a real loopback issuer (discovery document + JWKS over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stac_fixtures import build_chain
from click.testing import CliRunner
from conftest import small_config, write_config

from sporbar.cli.main import cli
from sporbar.config import load, validate
from sporbar.errors import ConfigError
from sporbar.serve.access import Grant, grant_of
from sporbar.serve.auth import AuthSettings
from sporbar.serve.issuer import LoopbackIssuer, generate_key, sign_token
from sporbar.serve.query_filter import QueryError, query_to_cql2, rewrite_body, rewrite_query_string
from sporbar.stac import extensions as ext
from sporbar.stac.collections import ACCESS, Access, access_level, collection_dict

# --- config ----------------------------------------------------------------------------------------


def test_access_levels_come_from_templates_and_catalog_access(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path / "c.yaml", small_config(tmp_path)))
    assert access_level(ext.COLLECTION_LABELS_RAW, cfg) is Access.RESTRICTED
    assert access_level(ext.COLLECTION_MAPS, cfg) is Access.OPEN
    data = small_config(tmp_path)
    data["catalog"]["access"] = {ext.COLLECTION_MAPS: "closed", ext.COLLECTION_LABELS_RAW: "open"}
    cfg = load(write_config(tmp_path / "d.yaml", data))
    assert collection_dict(ext.COLLECTION_MAPS, [], cfg=cfg)[ACCESS] == "closed"
    assert collection_dict(ext.COLLECTION_LABELS_RAW, [], cfg=cfg)[ACCESS] == "open"


def test_schema_lists_every_collection() -> None:
    from sporbar.config import schema

    names = schema()["properties"]["catalog"]["properties"]["access"]["propertyNames"]["enum"]
    assert sorted(names) == sorted(ext.COLLECTIONS)


@pytest.mark.parametrize(
    ("section", "value", "named"),
    [
        ("catalog", {"license": "NLOD-2.0", "access": {"land-ecology-mapz": "open"}}, "catalog/access"),
        ("catalog", {"license": "NLOD-2.0", "access": {"land-ecology-maps": "secret"}},
         "catalog/access/land-ecology-maps"),
        ("serve", {"auth": {"oidc_discovery_url": "ftp://idp/x"}}, "serve/auth/oidc_discovery_url"),
        ("serve", {"auth": {"audiences": ["sporbar"]}}, "serve/auth"),
        ("serve", {"auth": {"oidc_discovery_url": "https://idp/.well-known/openid-configuration"}}, "serve/auth"),
        ("serve", {"auth": {"oidc_discovery_url": "https://idp/.well-known/openid-configuration", "scope": "x"}},
         "serve/auth"),
        ("serve", {"auth": {"oidc_discovery_url": "https://idp/.well-known/openid-configuration", "audiences": [""]}},
         "serve/auth/audiences/0"),
    ],
)
def test_bad_access_and_auth_settings_are_named(tmp_path: Path, section: str, value: Any, named: str) -> None:
    data = small_config(tmp_path)
    data[section] = value
    with pytest.raises(ConfigError, match=f"key {named}"):
        validate(data, source="my.yaml")
    path = write_config(tmp_path / "bad.yaml", data)
    result = CliRunner().invoke(cli, ["check-config", str(path)])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError), result.output
    assert f"key {named}" in str(result.exception)


def test_auth_settings_from_config(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    assert AuthSettings.from_config(validate(data)) is None
    url = "https://idp.example/.well-known/openid-configuration"
    data["serve"] = {"auth": {"oidc_discovery_url": url, "audiences": ["sporbar"]}}
    auth = AuthSettings.from_config(validate(data))
    assert auth is not None and auth.closed_scope == "sporbar:closed" and auth.audiences == ("sporbar",)


# --- grants and the query rewrite -------------------------------------------------------------------


def test_grants_by_token() -> None:
    assert grant_of(None, "s").refusal(Access.RESTRICTED)[0] == 401  # type: ignore[index]
    staff = grant_of({"sub": "a", "scope": "openid"}, "s")
    assert staff.refusal(Access.RESTRICTED) is None
    assert staff.refusal(Access.CLOSED)[0] == 403  # type: ignore[index]
    assert grant_of({"scope": "openid s"}, "s").full
    assert Grant(frozenset({Access.OPEN})).refusal(Access.OPEN) is None


def test_query_becomes_cql2() -> None:
    assert query_to_cql2({"eo:cloud_cover": {"lt": 10}}) == {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]}
    both = query_to_cql2({"a": {"eq": 1}, "b": {"startsWith": "x"}})
    assert both == {"op": "and", "args": [{"op": "=", "args": [{"property": "a"}, 1]},
                                          {"op": "like", "args": [{"property": "b"}, "x%"]}]}
    body = rewrite_body({"query": {"a": {"eq": 1}}, "filter": "b = 2", "filter-lang": "cql2-text"})
    assert body["filter-lang"] == "cql2-json" and body["filter"]["op"] == "and" and "query" not in body
    qs = rewrite_query_string(b'collections=x&query={"a":{"gte":3}}')
    assert b"collections=x" in qs and b"filter-lang=cql2-json" in qs and b"query" not in qs
    for bad in ({"a": {"near": 1}}, {"a": 1}, [], {}):
        with pytest.raises(QueryError, match="query"):
            query_to_cql2(bad)
    with pytest.raises(QueryError, match="JSON"):
        rewrite_query_string(b"query=notjson")


# --- the static server with tokens -------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("static-access")
    chain = build_chain(tmp)
    built = CliRunner().invoke(cli, ["publish", "-c", str(chain.cfg_path), "-o", str(chain.catalog), str(chain.map)])
    assert built.exit_code == 0, built.output
    return chain


@pytest.fixture(scope="module")
def issuer() -> Iterator[LoopbackIssuer]:
    with LoopbackIssuer() as running:
        yield running


def _client(chain: Any, auth: AuthSettings | None) -> Any:
    from starlette.testclient import TestClient

    from sporbar.serve.app import ServeConfig, create_app
    from sporbar.stac.layout import ItemLayout
    from sporbar.workflow import plan

    cfg = ServeConfig(
        data_root=chain.root,
        static_catalog=chain.catalog,
        browser_dist=None,
        auth=auth,
        layout=ItemLayout.from_patterns(plan.PATTERNS),
    )
    return TestClient(create_app(cfg))


def _rel(chain: Any, path: Path) -> str:
    return "/data/" + path.relative_to(chain.root).as_posix()


def test_static_server_enforces_levels(published: Any, issuer: LoopbackIssuer) -> None:
    chain = published
    client = _client(chain, AuthSettings(oidc_discovery_url=issuer.discovery_url, audiences=("sporbar",)))
    labels_item = json.loads(chain.raw_labels.read_text())
    labels_file = _rel(chain, chain.raw_labels.parent / labels_item["assets"]["labels"]["href"])
    collection = f"/data/catalog/{ext.COLLECTION_LABELS_RAW}/collection.json"
    restricted = [labels_file, _rel(chain, chain.raw_labels), collection]
    staff = {"Authorization": f"Bearer {issuer.token()}"}
    for path in restricted:
        anonymous = client.get(path)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert "Authentication required" in anonymous.text and ext.COLLECTION_LABELS_RAW not in anonymous.text
        assert client.get(path, headers=staff).status_code == 200, path
    assert client.get(_rel(chain, chain.map)).status_code == 200  # open
    catalog = client.get("/data/catalog/catalog.json").json()
    hrefs = [link["href"] for link in catalog["links"] if link["rel"] == "child"]
    assert hrefs and not [h for h in hrefs if "labels-raw" in h or "training-data" in h], hrefs
    staff_links = client.get("/data/catalog/catalog.json", headers=staff).json()["links"]
    assert any("labels-raw" in link["href"] for link in staff_links)
    assert client.get("/data/jobs/none.json").status_code == 401  # a file of no collection: staff only
    # the open model item derives from the restricted training set: that link is not shown anonymously
    model = client.get(_rel(chain, chain.model))
    assert model.status_code == 200 and "training" not in model.text, model.text
    assert "training" in client.get(_rel(chain, chain.model), headers=staff).text

    forged = sign_token(generate_key(), issuer=issuer.base, kid=issuer.kid)
    wrong_audience = issuer.token(audience="someone-else")
    for token in (forged, issuer.token(lifetime_s=-60), wrong_audience, "garbage"):
        refused = client.get(_rel(chain, chain.map), headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401, refused.text
        assert "token" in refused.json()["detail"].lower()


def test_iso_records_of_restricted_collections_need_a_token(published: Any, issuer: LoopbackIssuer) -> None:
    chain = published
    args = ["export-metadata", str(chain.catalog), "-o", str(chain.root / "metadata"), "--contact-email", "a@b.no"]
    for cid in (ext.COLLECTION_MAPS, ext.COLLECTION_LABELS_RAW):
        args += ["--collection", cid]
    exported = CliRunner().invoke(cli, args)
    assert exported.exit_code == 0, exported.output
    client = _client(chain, AuthSettings(oidc_discovery_url=issuer.discovery_url, audiences=("sporbar",)))
    labels = f"/metadata/iso19139/{ext.COLLECTION_LABELS_RAW}.xml"
    refused = client.get(labels)
    assert refused.status_code == 401 and "Authentication required" in refused.text
    assert client.get(labels, headers={"Authorization": f"Bearer {issuer.token()}"}).status_code == 200
    assert client.get(f"/metadata/iso19139/{ext.COLLECTION_MAPS}.xml").status_code == 200
    assert client.get("/metadata/iso19139/no-such-record.xml").status_code == 404


def test_static_norwegian_catalog_and_file_tiles_are_gated_too(published: Any, issuer: LoopbackIssuer) -> None:
    """catalog.nb.json lists only what the request may see; tiles over a restricted file need a token."""
    chain = published
    client = _client(chain, AuthSettings(oidc_discovery_url=issuer.discovery_url, audiences=("sporbar",)))
    staff = {"Authorization": f"Bearer {issuer.token()}"}
    catalog_nb = client.get("/data/catalog/catalog.nb.json")
    assert catalog_nb.status_code == 200, catalog_nb.text
    hrefs = [link["href"] for link in catalog_nb.json()["links"] if link["rel"] == "child"]
    assert hrefs and all(h.endswith("/collection.nb.json") for h in hrefs), hrefs
    assert not [h for h in hrefs if "labels-raw" in h or "training-data" in h], hrefs
    staff_hrefs = [link["href"] for link in client.get("/data/catalog/catalog.nb.json", headers=staff).json()["links"]]
    assert any("labels-raw" in h for h in staff_hrefs), staff_hrefs
    nb_collection = f"/data/catalog/{ext.COLLECTION_LABELS_RAW}/collection.nb.json"
    assert client.get(nb_collection).status_code == 401
    assert client.get(nb_collection, headers=staff).status_code == 200

    labels_item = json.loads(chain.raw_labels.read_text())
    labels_file = _rel(chain, chain.raw_labels.parent / labels_item["assets"]["labels"]["href"])
    tile = "/tiles/files/tiles/WebMercatorQuad/12/2166/1109.png"
    anonymous = client.get(tile, params={"url": labels_file})
    assert anonymous.status_code == 401, anonymous.text
    assert ext.COLLECTION_LABELS_RAW not in anonymous.text
    passed = client.get(tile, params={"url": labels_file}, headers=staff)
    assert passed.status_code not in (401, 403, 500), passed.text  # through the gate; not a raster: a 4xx
    # two url parameters: every file named must be allowed
    both = client.get(tile + f"?url={_rel(chain, chain.map)}&url={labels_file}")
    assert both.status_code == 401, both.text


def test_without_serve_auth_no_token_is_accepted(published: Any, issuer: LoopbackIssuer) -> None:
    client = _client(published, None)
    response = client.get(_rel(published, published.map), headers={"Authorization": f"Bearer {issuer.token()}"})
    assert response.status_code == 401 and "serve.auth is not configured" in response.text
    assert client.get(_rel(published, published.raw_labels)).status_code == 401
    assert client.get(_rel(published, published.map)).status_code == 200


def test_unreachable_identity_provider_is_503(published: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    client = _client(published, AuthSettings(oidc_discovery_url=url))
    response = client.get(_rel(published, published.map))
    assert response.status_code == 503 and "identity provider" in response.text
