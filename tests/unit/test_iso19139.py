"""ISO 19139 records (Norwegian profile): schema-valid, lineage from provenance, tile records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _metadata_fixtures import ISO_BUNDLE, iso_validator, publish_chain
from _stac_fixtures import LIDAR_TILE, SCENE, TILE
from click.testing import CliRunner
from lxml import etree

from sporbar.cli.export_metadata import export_metadata
from sporbar.errors import CatalogError
from sporbar.metadata import iso19139 as iso
from sporbar.metadata import iso_codes
from sporbar.metadata.export import export_metadata as run_export
from sporbar.stac import extensions as ext
from sporbar.stac.collections import translation

NS = {"gmd": iso_codes.GMD, "gco": iso_codes.GCO, "gmx": iso_codes.GMX, "gml": iso_codes.GML, "xlink": iso_codes.XLINK}
MAP_ID = f"land-ecology-{TILE}"
RAW_IDS = {SCENE, LIDAR_TILE, "labels-test-area"}
STEP_IDS = {f"ard-{TILE}", "training-test-area", "model-rf", MAP_ID}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    return publish_chain(tmp_path_factory.mktemp("iso"))


@pytest.fixture(scope="module")
def records(published) -> dict[str, etree._Element]:
    cat = published.cat
    (item,) = cat.items[ext.COLLECTION_MAPS]
    return {
        "collection": iso.collection_record(cat, ext.COLLECTION_MAPS, email="post@example.no"),
        "item": iso.item_record(cat, item, email="post@example.no"),
    }


def _text(root: etree._Element, xpath: str) -> list[str]:
    return [str(v) for v in root.xpath(xpath, namespaces=NS)]


@pytest.mark.parametrize("kind", ["collection", "item"])
def test_records_are_schema_valid(records, kind: str, tmp_path: Path) -> None:
    validate_iso = iso_validator()
    if validate_iso is None:
        pytest.skip(f"ISO 19139 schema bundle not found at {ISO_BUNDLE} (../shared/iso19139)")
    path = tmp_path / f"{kind}.xml"
    path.write_bytes(iso.to_bytes(records[kind]))
    rep = validate_iso.validate_file(path, backend="lxml")
    assert rep.valid, "\n".join(e.format(rep.file) for e in rep.errors)
    assert not rep.warnings, "\n".join(w.format(rep.file) for w in rep.warnings)


def test_tile_record_core_and_parent(records, published) -> None:
    item, coll = records["item"], records["collection"]
    coll_id = iso.collection_uuid(ext.COLLECTION_MAPS)
    assert _text(coll, "gmd:fileIdentifier/gco:CharacterString/text()") == [coll_id]
    assert _text(item, "gmd:fileIdentifier/gco:CharacterString/text()") == [iso.item_uuid(ext.COLLECTION_MAPS, MAP_ID)]
    assert _text(item, "gmd:parentIdentifier/gco:CharacterString/text()") == [coll_id]
    assert _text(item, "gmd:hierarchyLevelName/gco:CharacterString/text()") == ["tile"]
    assert _text(item, "gmd:hierarchyLevel/gmd:MD_ScopeCode/@codeListValue") == ["dataset"]
    assert _text(coll, "gmd:hierarchyLevel/gmd:MD_ScopeCode/@codeListValue") == ["series"]
    assert not coll.xpath("gmd:parentIdentifier", namespaces=NS)
    assert _text(item, "gmd:language/gmd:LanguageCode/@codeListValue") == ["nor"]
    assert _text(item, "gmd:characterSet/gmd:MD_CharacterSetCode/@codeListValue") == ["utf8"]
    # date stamp from the item's processing:datetime, not the clock
    assert _text(item, "gmd:dateStamp/gco:DateTime/text()") == ["2024-10-01T00:00:00Z"]
    assert _text(item, ".//gmd:RS_Identifier/gmd:code/gmx:Anchor/text()") == ["EPSG:25833"]
    ident = "gmd:identificationInfo/gmd:MD_DataIdentification/"
    assert _text(item, ident + "gmd:topicCategory/gmd:MD_TopicCategoryCode/text()") == [
        "environment",
        "imageryBaseMapsEarthCover",
    ]
    assert _text(item, ident + "gmd:spatialRepresentationType/*/@codeListValue") == ["grid"]
    assert "Nasjonal tematisk inndeling (DOK-kategori)" in _text(item, ".//gmd:thesaurusName//gmx:Anchor/text()")
    licence = _text(item, ".//gmd:useConstraints/../gmd:otherConstraints/gmx:Anchor/@xlink:href")
    assert licence == ["https://data.norge.no/nlod/no/2.0"]
    access = _text(item, ".//gmd:accessConstraints/../gmd:otherConstraints/gmx:Anchor/@xlink:href")
    assert access == [iso_codes.INSPIRE_ACCESS + "noLimitations"]
    west = _text(item, ".//gmd:westBoundLongitude/gco:Decimal/text()")
    assert west == ["10"]
    assert _text(item, ".//gmd:contact//gmd:electronicMailAddress/gco:CharacterString/text()") == ["post@example.no"]


@pytest.mark.parametrize("kind", ["collection", "item"])
def test_titles_and_abstracts_are_bokmal_with_english_beside(records, published, kind: str) -> None:
    """Geonorge's Norwegian profile: the record's language (nor) is the CharacterString, the English
    a LocalisedCharacterString of the declared ENG locale; the texts are the ones the catalog publishes."""
    root = records[kind]
    nb_path = published.cat.collection_paths[ext.COLLECTION_MAPS].with_name("collection.nb.json")
    published_nb = json.loads(nb_path.read_text())
    english = published.cat.collections[ext.COLLECTION_MAPS]
    assert published_nb["title"] != english["title"]  # else the test could not tell them apart
    suffix = "" if kind == "collection" else f" – {MAP_ID}"
    ident = "gmd:identificationInfo/gmd:MD_DataIdentification/"
    title = ident + "gmd:citation/gmd:CI_Citation/gmd:title/"
    assert _text(root, title + "gco:CharacterString/text()") == [published_nb["title"] + suffix]
    lcs = "gmd:PT_FreeText/gmd:textGroup/gmd:LocalisedCharacterString"
    assert _text(root, title + lcs + "/text()") == [english["title"] + suffix]
    assert _text(root, title + lcs + "/@locale") == ["#ENG"]
    abstract = ident + "gmd:abstract/"
    (nb_abstract,) = _text(root, abstract + "gco:CharacterString/text()")
    (en_abstract,) = _text(root, abstract + lcs + "/text()")
    assert nb_abstract.startswith(published_nb["description"]) and "Sporbarhet" in nb_abstract
    assert en_abstract.startswith(english["description"]) and "Traceability" in en_abstract
    # every locale a text refers to is declared, as English, in the header
    refs = {r.lstrip("#") for r in _text(root, "//gmd:LocalisedCharacterString/@locale")}
    assert refs == set(_text(root, "gmd:locale/gmd:PT_Locale/@id")) == {"ENG"}
    assert _text(root, "gmd:locale/gmd:PT_Locale/gmd:languageCode/gmd:LanguageCode/@codeListValue") == ["eng"]
    assert _text(root, "gmd:language/gmd:LanguageCode/@codeListValue") == ["nor"]


@pytest.mark.parametrize("kind", ["collection", "item"])
def test_use_limitation_is_bokmal_with_english_beside(records, kind: str) -> None:
    use = "gmd:identificationInfo/*/gmd:resourceConstraints/gmd:MD_Constraints/gmd:useLimitation/"
    lcs = "gmd:PT_FreeText/gmd:textGroup/gmd:LocalisedCharacterString"
    root = records[kind]
    assert _text(root, use + "gco:CharacterString/text()") == [
        "Bruk er regulert av lisensen: Norsk lisens for offentlige data (NLOD) 2.0."
    ]
    assert _text(root, use + lcs + "/text()") == [
        "Use is governed by the licence: Norwegian Licence for Open Government Data (NLOD) 2.0."
    ]
    assert _text(root, use + lcs + "/@locale") == ["#ENG"]


def test_norwegian_texts_fall_back_to_the_collection_template(published) -> None:
    """A catalog published without Norwegian versions still gets bokmål records (the template's texts)."""
    cat = published.cat
    saved = dict(cat.translations)
    cat.translations.clear()
    try:
        root = iso.collection_record(cat, ext.COLLECTION_MAPS)
    finally:
        cat.translations.update(saved)
    title = "gmd:identificationInfo/*/gmd:citation/*/gmd:title/gco:CharacterString/text()"
    assert _text(root, title) == [translation(ext.COLLECTION_MAPS)["title"]]


def test_tile_lineage_has_a_step_per_item_and_raw_sources(records) -> None:
    item = records["item"]
    li = "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/"
    steps = _text(item, li + "gmd:processStep/gmd:LI_ProcessStep/gmd:description/gco:CharacterString/text()")
    assert {s.split(":", 1)[0].split("/", 1)[1] for s in steps} == STEP_IDS
    assert len(steps) == len(STEP_IDS)
    assert steps[-1].startswith(f"{ext.COLLECTION_MAPS}/{MAP_ID}: Classes predicted by model rf.")
    dates = _text(item, li + "gmd:processStep/gmd:LI_ProcessStep/gmd:dateTime/gco:DateTime/text()")
    assert dates == ["2024-10-01T00:00:00Z"] * len(STEP_IDS)
    sources = _text(
        item, li + "gmd:source/gmd:LI_Source/gmd:sourceCitation/gmd:CI_Citation/gmd:title/gco:CharacterString/text()"
    )
    assert set(sources) == RAW_IDS
    # the step of the map cites its inputs
    map_step = item.xpath(li + "gmd:processStep/gmd:LI_ProcessStep", namespaces=NS)[-1]
    inputs = _text(map_step, "gmd:source//gmd:CI_Citation/gmd:title/gco:CharacterString/text()")
    assert set(inputs) == {f"ard-{TILE}", "model-rf"}


def test_collection_lineage_summarises_families(records) -> None:
    coll = records["collection"]
    steps = _text(coll, ".//gmd:LI_ProcessStep/gmd:description/gco:CharacterString/text()")
    assert [s.split(" ", 1)[0] for s in steps] == [
        ext.COLLECTION_ARD,
        ext.COLLECTION_TRAINING,
        ext.COLLECTION_MODELS,
        ext.COLLECTION_MAPS,
    ]
    raw = _text(coll, "gmd:dataQualityInfo//gmd:LI_Lineage/gmd:source//gmd:description/gco:CharacterString/text()")
    assert len(raw) == 3 and all(any(i in r for r in raw) for i in RAW_IDS)


def test_export_cli_is_deterministic(published, tmp_path: Path) -> None:
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = CliRunner().invoke(export_metadata, [str(published.catalog), "-o", str(out)])
        assert res.exit_code == 0, res.output
        outs.append(out)
    files = sorted(p.relative_to(outs[0]).as_posix() for p in outs[0].rglob("*") if p.is_file())
    assert files == ["dcat/catalog.ttl", f"iso19139/{MAP_ID}.xml", "iso19139/land-ecology-maps.xml"]
    for f in files:
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f


def test_export_unknown_collection_names_the_known_ones(published, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no collection nope"):
        run_export(published.catalog, tmp_path, collections=["nope"])
