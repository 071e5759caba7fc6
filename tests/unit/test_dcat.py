"""DCAT-AP-NO Turtle of a published catalog: parses back, required classes and properties."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _metadata_fixtures import publish_chain
from click.testing import CliRunner
from conftest import small_config, write_config
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from sporbar.cli.export_metadata import export_metadata
from sporbar.config import Config, validate
from sporbar.errors import ConfigError
from sporbar.metadata.catalog import PublishedCatalog
from sporbar.metadata.dcat import (
    ACCESS_RIGHT,
    DATA_THEME,
    VCARD,
    Restricted,
    catalog_graph,
    restricted_choice,
    to_turtle,
)
from sporbar.stac import extensions as ext
from sporbar.stac.collections import ACCESS, Access

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


def _graph(cat: PublishedCatalog, restricted: Restricted) -> Graph:
    return Graph().parse(data=to_turtle(catalog_graph(cat, restricted=restricted)), format="turtle")


def _listed_ids(g: Graph) -> set[str]:
    return {str(v) for ds in g.subjects(RDF.type, DCAT.Dataset) for v in g.objects(ds, DCTERMS.identifier)}


def _links_into(g: Graph, folder: Path) -> list[str]:
    """Every IRI of ``g`` that names a file of ``folder`` (a collection's published folder)."""
    nodes = {str(n) for triple in g for n in triple if isinstance(n, URIRef)}
    return sorted(n for n in nodes if n.split("/")[0] == folder.name or f"/{folder.name}/" in n)


@pytest.fixture
def access(turtle) -> Iterator[PublishedCatalog]:
    """The published catalog with land-ecology-maps closed and models restricted (as catalog.access would)."""
    _, _, pub = turtle
    cat: PublishedCatalog = pub.cat
    saved = {cid: cat.collections[cid] for cid in (ext.COLLECTION_MAPS, ext.COLLECTION_MODELS)}
    cat.collections[ext.COLLECTION_MAPS] = {**saved[ext.COLLECTION_MAPS], ACCESS: Access.CLOSED.value}
    cat.collections[ext.COLLECTION_MODELS] = {**saved[ext.COLLECTION_MODELS], ACCESS: Access.RESTRICTED.value}
    try:
        yield cat
    finally:
        cat.collections.update(saved)


def test_restricted_are_listed_without_links_to_their_data_by_default(access) -> None:
    cat = access
    g = _graph(cat, Restricted.LIST)
    restricted = {c for c, coll in cat.collections.items() if coll[ACCESS] == Access.RESTRICTED}
    opened = {c for c, coll in cat.collections.items() if coll[ACCESS] == Access.OPEN}
    assert ext.COLLECTION_MODELS in restricted and opened
    listed_ids = _listed_ids(g)
    assert listed_ids == restricted | opened  # the closed map collection is not there
    for cid in restricted:
        ds = _dataset(g, cid)
        assert g.value(ds, DCTERMS.accessRights) == URIRef(ACCESS_RIGHT + "RESTRICTED")
        assert g.value(ds, DCAT.contactPoint) is not None  # whom to ask for access
        assert g.value(ds, DCAT.distribution) is None and g.value(ds, DCAT.landingPage) is None, cid
        assert _links_into(g, cat.collection_paths[cid].parent) == [], cid
    for cid in opened:
        assert g.value(_dataset(g, cid), DCAT.distribution) is not None, cid
    assert _links_into(g, cat.collection_paths[ext.COLLECTION_MAPS].parent) == []


def test_restricted_are_left_out_when_the_config_says_omit(access, tmp_path: Path) -> None:
    cat = access
    g = _graph(cat, Restricted.OMIT)
    listed_ids = _listed_ids(g)
    assert listed_ids == {c for c, coll in cat.collections.items() if coll[ACCESS] == Access.OPEN}
    assert ext.COLLECTION_MODELS not in listed_ids and ext.COLLECTION_LABELS_RAW not in listed_ids
    for cid in (ext.COLLECTION_MODELS, ext.COLLECTION_MAPS, ext.COLLECTION_LABELS_RAW):
        assert _links_into(g, cat.collection_paths[cid].parent) == [], cid


@pytest.mark.parametrize(("metadata", "choice"), [(None, Restricted.LIST), ({"dcat": {}}, Restricted.LIST),
                                                  ({"dcat": {"restricted": "omit"}}, Restricted.OMIT)])
def test_the_choice_comes_from_metadata_dcat_restricted(tmp_path: Path, metadata, choice) -> None:
    data = small_config(tmp_path)
    if metadata is not None:
        data["metadata"] = metadata
    assert restricted_choice(Config(validate(data))) is choice
    assert restricted_choice(None) is Restricted.LIST


def test_an_unknown_choice_is_a_named_config_error(tmp_path: Path) -> None:
    data = {**small_config(tmp_path), "metadata": {"dcat": {"restricted": "hide"}}}
    with pytest.raises(ConfigError, match=r"key metadata/dcat/restricted: 'hide' is not one of \['list', 'omit'\]"):
        validate(data, source="my.yaml")


def test_export_cli_reads_the_choice_from_the_config(turtle, tmp_path: Path) -> None:
    _, _, pub = turtle
    counts = {}
    for choice in ("list", "omit"):
        data = {**small_config(tmp_path), "metadata": {"dcat": {"restricted": choice}}}
        cfg = write_config(tmp_path / f"{choice}.yaml", data)
        out = tmp_path / choice
        res = CliRunner().invoke(export_metadata, [str(pub.catalog), "-o", str(out), "-c", str(cfg)])
        assert res.exit_code == 0, res.output
        assert f"(restricted collections: {choice}; closed: never listed)" in res.output
        g = Graph().parse(out / "dcat" / "catalog.ttl", format="turtle")
        counts[choice] = _listed_ids(g)
    restricted = {c for c, coll in pub.cat.collections.items() if coll[ACCESS] == Access.RESTRICTED}
    assert restricted and counts["list"] - counts["omit"] == restricted
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
