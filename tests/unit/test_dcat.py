"""DCAT-AP-NO Turtle of a published catalog: parses back, required classes and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _metadata_fixtures import publish_chain
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from sporbar.metadata.dcat import ACCESS_RIGHT, DATA_THEME, VCARD, catalog_graph, to_turtle
from sporbar.stac import extensions as ext

HOST = "Miljødirektoratet (Norwegian Environment Agency)"


@pytest.fixture(scope="module")
def turtle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Graph, object]:
    pub = publish_chain(tmp_path_factory.mktemp("dcat"))
    ttl = pub.chain.root / "metadata" / "dcat" / "catalog.ttl"
    ttl.parent.mkdir(parents=True)
    ttl.write_bytes(to_turtle(catalog_graph(pub.cat, ttl_dir=ttl.parent, email="post@example.no")))
    g = Graph()
    g.parse(ttl, format="turtle")
    return ttl, g, pub


def _dataset(g: Graph, cid: str) -> URIRef:
    (ds,) = list(g.subjects(DCTERMS.identifier, Literal(cid)))
    return ds  # type: ignore[return-value]


def test_catalog_lists_a_dataset_per_collection(turtle) -> None:
    _, g, pub = turtle
    (cat,) = list(g.subjects(RDF.type, DCAT.Catalog))
    datasets = set(g.objects(cat, DCAT.dataset))
    assert datasets == set(g.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(pub.cat.collections) == 7
    # the host of the collections' providers (stac/templates) publishes the catalog
    assert g.value(g.value(cat, DCTERMS.publisher), FOAF.name) == Literal(HOST)


def test_dataset_has_required_properties(turtle) -> None:
    ttl, g, pub = turtle
    ds = _dataset(g, ext.COLLECTION_MAPS)
    langs = {lit.language for lit in g.objects(ds, DCTERMS.title)}
    assert langs == {"nb", "en"}
    assert {lit.language for lit in g.objects(ds, DCTERMS.description)} == {"nb", "en"}
    publisher = g.value(ds, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g and g.value(publisher, FOAF.name)
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Organization) in g
    assert g.value(contact, VCARD.hasEmail) == URIRef("mailto:post@example.no")
    assert g.value(ds, DCTERMS.accessRights) == URIRef(ACCESS_RIGHT + "PUBLIC")
    assert URIRef(DATA_THEME + "ENVI") in set(g.objects(ds, DCAT.theme))
    assert Literal("arealdekke") in set(g.objects(ds, DCAT.keyword))
    loc = g.value(ds, DCTERMS.spatial)
    assert "POLYGON((10.0000000 63.2000000" in str(g.value(loc, DCAT.bbox))
    period = g.value(ds, DCTERMS.temporal)
    assert (period, RDF.type, DCTERMS.PeriodOfTime) in g
    # the chain has one map item, of 2024-09-30 (tests/unit/_stac_fixtures.py): the period is that day
    assert str(g.value(period, DCAT.startDate)) == "2024-09-30T00:00:00+00:00"
    assert str(g.value(period, DCAT.endDate)) == "2024-09-30T00:00:00+00:00"
    dist = g.value(ds, DCAT.distribution)
    assert (dist, RDF.type, DCAT.Distribution) in g
    assert g.value(dist, DCTERMS.license) == URIRef("https://data.norge.no/nlod/no/2.0")
    assert g.value(dist, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/application/json")
    # the access URL, resolved against the Turtle file, is the published collection JSON
    url = str(g.value(dist, DCAT.accessURL))
    assert url.startswith("file://")
    assert Path(url[len("file://") :]).resolve() == pub.cat.collection_paths[ext.COLLECTION_MAPS]


def test_norwegian_texts_are_the_ones_the_catalog_publishes(turtle) -> None:
    _, g, pub = turtle
    for cid, path in pub.cat.collection_paths.items():
        nb = json.loads(path.with_name("collection.nb.json").read_text())
        ds = _dataset(g, cid)
        assert Literal(nb["title"], lang="nb") in set(g.objects(ds, DCTERMS.title)), cid
        assert Literal(nb["description"], lang="nb") in set(g.objects(ds, DCTERMS.description)), cid
    (cat,) = list(g.subjects(RDF.type, DCAT.Catalog))
    nb = json.loads(pub.catalog.with_name("catalog.nb.json").read_text())
    assert Literal(nb["title"], lang="nb") in set(g.objects(cat, DCTERMS.title))


def test_access_levels_map_to_eu_access_rights(turtle) -> None:
    _, g, _ = turtle
    assert g.value(_dataset(g, ext.COLLECTION_LABELS_RAW), DCTERMS.accessRights) == URIRef(ACCESS_RIGHT + "RESTRICTED")
    lic = g.value(g.value(_dataset(g, ext.COLLECTION_LIDAR_RAW), DCAT.distribution), DCTERMS.license)
    assert lic == URIRef("https://creativecommons.org/licenses/by/4.0/")


def test_turtle_is_deterministic_and_absolute_below_base_url(turtle) -> None:
    ttl, _, pub = turtle
    assert to_turtle(catalog_graph(pub.cat, ttl_dir=ttl.parent, email="post@example.no")) == ttl.read_bytes()
    pub.cat.base_url = "https://data.example.no/sporbar/"
    try:
        g = Graph().parse(data=to_turtle(catalog_graph(pub.cat)), format="turtle")
    finally:
        pub.cat.base_url = None
    dist = g.value(_dataset(g, ext.COLLECTION_MAPS), DCAT.distribution)
    assert str(g.value(dist, DCAT.accessURL)) == ("https://data.example.no/sporbar/land-ecology-maps/collection.json")
