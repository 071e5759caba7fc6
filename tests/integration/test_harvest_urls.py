"""The exported metadata at stable URLs of `sporbar serve` (static mode here, no database):
DCAT-AP-NO for Felles datakatalog, the ISO 19139 records for Geonorge."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from _services import Server, stac_fixtures

from sporbar.metadata.export import export_metadata
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog

_fx = stac_fixtures()


def _get(server: Server, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(server.base + path, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("harvest")
    chain = _fx.build_chain(tmp)
    build_catalog(chain.items, chain.catalog, cfg=chain.cfg, layout=_fx.LAYOUT)
    server = Server(
        ["--static", "--catalog", str(chain.catalog), "--data-root", str(chain.root)], log=tmp / "serve.log"
    )
    server.wait("/data/catalog/catalog.json", timeout=60)
    try:
        yield chain, server
    finally:
        server.stop()


def test_not_exported_yet_is_404_naming_the_command(served) -> None:
    chain, server = served
    if (chain.root / "metadata").exists():
        pytest.skip("exported by an earlier test")
    status, _, body = _get(server, "/metadata/dcat/catalog.ttl")
    assert status == 404 and b"sporbar export-metadata" in body, body


def test_dcat_and_iso_records_at_stable_urls(served) -> None:
    import rdflib
    from lxml import etree

    chain, server = served
    summary = export_metadata(chain.catalog, chain.root / "metadata")
    status, ctype, body = _get(server, "/metadata/dcat/catalog.ttl")
    assert status == 200 and ctype.startswith("text/turtle"), (status, ctype)
    graph = rdflib.Graph().parse(data=body.decode(), format="turtle")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    assert list(graph.subjects(rdflib.RDF.type, dcat.Catalog)), "no dcat:Catalog in the served Turtle"
    assert body == (chain.root / "metadata" / "dcat" / "catalog.ttl").read_bytes()
    for record in summary.iso_records:
        status, ctype, body = _get(server, f"/metadata/iso19139/{record.stem}.xml")
        assert status == 200 and ctype.startswith("application/xml"), (record, status, ctype)
        assert etree.fromstring(body).tag == "{http://www.isotc211.org/2005/gmd}MD_Metadata"
    assert any(r.stem == ext.COLLECTION_MAPS for r in summary.iso_records)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/metadata/iso19139/no-such-record.xml", 404),
        ("/metadata/iso19139/..%2F..%2Fconfig.xml", 404),  # climbs out: no such route
        ("/metadata/iso19139/a%20b.xml", 400),  # not a record id
    ],
)
def test_unknown_or_forged_record_is_4xx(served, path: str, code: int) -> None:
    _, server = served
    status, _, body = _get(server, path)
    assert status == code, body
