"""The metadata contact's e-mail (Geonorge's profile requires it): from metadata.contact_email or --contact-email."""

from __future__ import annotations

from pathlib import Path

import pytest
from _metadata_fixtures import iso_validator, publish_chain
from click.testing import CliRunner
from conftest import small_config, write_config
from lxml import etree
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS

from sporbar.cli.export_metadata import export_metadata
from sporbar.config import validate
from sporbar.errors import ConfigError
from sporbar.metadata import iso_codes
from sporbar.metadata.dcat import VCARD
from sporbar.stac import extensions as ext

NS = {"gmd": iso_codes.GMD, "gco": iso_codes.GCO}
HOST = "Miljødirektoratet (Norwegian Environment Agency)"
ESA = "European Space Agency (ESA), Copernicus programme"
EMAIL = "gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:electronicMailAddress/gco:CharacterString"
# the map product, and a raw collection whose licensor is not the host (ESA)
COLLECTIONS = (ext.COLLECTION_MAPS, ext.COLLECTION_S2_RAW)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    return publish_chain(tmp_path_factory.mktemp("contact"))


def _export(published, out: Path, *args: str) -> tuple[dict[str, etree._Element], Graph, str]:
    """Run the CLI; the ISO records by file stem, the DCAT graph and stderr."""
    cols = [a for c in COLLECTIONS for a in ("--collection", c)]
    res = CliRunner().invoke(export_metadata, [str(published.catalog), "-o", str(out), *cols, *args])
    assert res.exit_code == 0, res.output
    records = {p.stem: etree.parse(p).getroot() for p in sorted((out / "iso19139").glob("*.xml"))}
    assert set(COLLECTIONS) < set(records)
    return records, Graph().parse(out / "dcat" / "catalog.ttl", format="turtle"), res.stderr


def _parties(root: etree._Element, where: str) -> list[tuple[str, list[str]]]:
    """(organisation, e-mails) of each CI_ResponsibleParty at ``where``."""
    org = "gmd:organisationName/gco:CharacterString"
    return [
        (p.findtext(org, namespaces=NS), p.xpath(EMAIL + "/text()", namespaces=NS))
        for p in root.xpath(where + "/gmd:CI_ResponsibleParty", namespaces=NS)
    ]


def _dcat_emails(g: Graph) -> set[str]:
    points = {g.value(ds, DCAT.contactPoint) for ds in g.subjects(DCTERMS.identifier, None)}
    return {str(e) for p in points for e in g.objects(p, VCARD.hasEmail)}


def _config(tmp_path: Path, email: str | None) -> Path:
    data = small_config(tmp_path)
    data["metadata"] = {"contact_email": email} if email else {}
    return write_config(tmp_path / "config.yaml", data)


def test_pipeline_records_carry_the_configured_email(published, tmp_path: Path) -> None:
    records, g, stderr = _export(published, tmp_path / "out", "-c", str(_config(tmp_path, "data@example.no")))
    for root in records.values():
        assert _parties(root, "gmd:contact") == [(HOST, ["data@example.no"])]
        contacts = _parties(root, ".//gmd:MD_DataIdentification/gmd:pointOfContact")
        assert (HOST, ["data@example.no"]) in contacts
        # another organisation does not answer at the directorate's address
        assert all(emails == [] for org, emails in contacts if org != HOST)
    assert (ESA, []) in _parties(records[ext.COLLECTION_S2_RAW], ".//gmd:MD_DataIdentification/gmd:pointOfContact")
    assert _dcat_emails(g) == {"mailto:data@example.no"}
    assert "warning" not in stderr


def test_records_with_the_configured_email_are_schema_valid(published, tmp_path: Path) -> None:
    validate_iso = iso_validator()
    if validate_iso is None:
        pytest.skip("ISO 19139 schema bundle not found (../shared/iso19139)")
    _export(published, tmp_path / "out", "-c", str(_config(tmp_path, "data@example.no")))
    for path in sorted((tmp_path / "out" / "iso19139").glob("*.xml")):
        rep = validate_iso.validate_file(path, backend="lxml")
        assert rep.valid, "\n".join(e.format(rep.file) for e in rep.errors)


def test_the_option_overrides_the_config(published, tmp_path: Path) -> None:
    cfg = _config(tmp_path, "data@example.no")
    records, g, _ = _export(published, tmp_path / "out", "-c", str(cfg), "--contact-email", "other@example.no")
    assert all(_parties(r, "gmd:contact") == [(HOST, ["other@example.no"])] for r in records.values())
    assert _dcat_emails(g) == {"mailto:other@example.no"}


@pytest.mark.parametrize("with_config", [False, True])
def test_without_an_email_records_are_written_and_export_warns_once(published, tmp_path: Path, with_config) -> None:
    args = ["-c", str(_config(tmp_path, None))] if with_config else []
    records, g, stderr = _export(published, tmp_path / "out", *args)
    assert stderr.count("warning:") == 1 and "metadata.contact_email" in stderr and "electronicMailAddress" in stderr
    for root in records.values():
        assert root.xpath("//gmd:electronicMailAddress", namespaces=NS) == []
        assert _parties(root, "gmd:contact") == [(HOST, [])]
    assert _dcat_emails(g) == set()
    assert any(g.objects(None, DCAT.contactPoint))  # the organisation is still named


@pytest.mark.parametrize("bad", ["postmottak", "post mottak@example.no", "post@example", "@example.no"])
def test_a_malformed_address_is_a_named_config_error(tmp_path: Path, bad: str) -> None:
    data = {**small_config(tmp_path), "metadata": {"contact_email": bad}}
    with pytest.raises(ConfigError, match=rf"my.yaml: key metadata/contact_email: '{bad}' is not an e-mail address"):
        validate(data, source="my.yaml")


def test_the_demo_config_names_a_placeholder_address(tmp_path: Path) -> None:
    assert validate(small_config(tmp_path))["metadata"]["contact_email"] == "postmottak@example.no"
