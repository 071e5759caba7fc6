"""The CSW for Geonorge's harvester, for real: `sporbar serve --csw` starts pycsw (gunicorn, in
.venv-csw) over the exported ISO 19139 records of two real map tiles and the model collection,
and owslib's CSW client asks it what a harvester and a catalogue user ask. The records of a
restricted collection (raw lidar here) are exported too, and must not be found."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _map_fixture import EAST, WEST, build_map_chain
from _services import Server, add_to_config, stac_fixtures
from lxml import etree

from sporbar.errors import MissingInputError
from sporbar.metadata.export import export_metadata
from sporbar.metadata.iso19139 import collection_uuid
from sporbar.serve.csw import csw_venv
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog
from sporbar.stac.collections import ACCESS, Access

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

_fx = stac_fixtures()
GMD = "http://www.isotc211.org/2005/gmd"
NS = {
    "gmd": GMD,
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "xlink": "http://www.w3.org/1999/xlink",
}
TITLE = "gmd:identificationInfo/gmd:MD_DataIdentification/gmd:citation/gmd:CI_Citation/gmd:title"
CAPABILITIES = "/csw?service=CSW&version=2.0.2&request=GetCapabilities"
MODEL_KEYWORD = "random forest"  # a keyword of the models collection, not of the maps
RESTRICTED = "lidar-raw"
CONTACT_EMAIL = "postmottak@example.no"  # metadata.contact_email of the served config
UNKNOWN_PROPERTY = """<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"
 xmlns:ogc="http://www.opengis.net/ogc" service="CSW" version="2.0.2" resultType="results">
 <csw:Query typeNames="csw:Record"><csw:ElementSetName>brief</csw:ElementSetName>
 <csw:Constraint version="1.1.0"><ogc:Filter><ogc:PropertyIsEqualTo>
 <ogc:PropertyName>apiso:NoSuchProperty</ogc:PropertyName><ogc:Literal>x</ogc:Literal>
 </ogc:PropertyIsEqualTo></ogc:Filter></csw:Constraint></csw:Query></csw:GetRecords>"""


def _record(path: Path) -> dict[str, Any]:
    """File identifier, keywords and geographic bounding box (w, s, e, n or None) of an exported record."""
    root = etree.parse(str(path)).getroot()
    ident = root.xpath("gmd:fileIdentifier/gco:CharacterString/text()", namespaces=NS)[0]
    keywords = [str(k) for k in root.xpath("//gmd:keyword/gco:CharacterString/text()", namespaces=NS)]
    box = root.xpath("//gmd:EX_GeographicBoundingBox", namespaces=NS)
    bbox = None
    if box:
        values = [
            float(box[0].xpath(f"gmd:{edge}/gco:Decimal/text()", namespaces=NS)[0])
            for edge in ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")
        ]
        bbox = tuple(values)
    access = root.xpath("//gmd:otherConstraints/gmx:Anchor/@xlink:href", namespaces=NS)
    limits = [str(h).rsplit("/", 1)[-1] for h in access if "LimitationsOnPublicAccess" in str(h)]
    title = root.xpath(f"{TITLE}/gco:CharacterString/text()", namespaces=NS)[0]
    return {"id": str(ident), "keywords": keywords, "bbox": bbox, "path": path, "access": limits[0], "title": title}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        csw_venv()
    except MissingInputError as err:
        pytest.skip(str(err))
    tmp = tmp_path_factory.mktemp("csw")
    chain = build_map_chain(tmp)
    add_to_config(chain, {"metadata": {"contact_email": CONTACT_EMAIL}})
    build_catalog(chain.maps, chain.catalog, cfg=chain.cfg, layout=_fx.LAYOUT)
    restricted = chain.catalog.parent / RESTRICTED / "collection.json"
    coll = json.loads(restricted.read_text())
    restricted.write_text(json.dumps({**coll, ACCESS: Access.RESTRICTED.value}))
    collections = (ext.COLLECTION_MAPS, "models", RESTRICTED)
    summary = export_metadata(chain.catalog, chain.root / "metadata", collections=collections)
    all_records = [_record(p) for p in summary.iso_records]
    records = {r["id"]: r for r in all_records if r["access"] == "noLimitations"}
    withheld = {r["id"]: r for r in all_records if r["access"] != "noLimitations"}
    assert len(withheld) == 2, withheld  # the restricted collection's series and tile records
    server = Server(
        ["--static", "--catalog", str(chain.catalog), "--data-root", str(chain.root), "--csw"]
        + ["-c", str(chain.cfg_path)],
        log=tmp / "serve.log",
    )
    server.wait(CAPABILITIES, timeout=180)
    try:
        yield server, records, withheld, chain
    finally:
        server.stop()


def _csw(server: Server) -> Any:
    from owslib.csw import CatalogueServiceWeb

    return CatalogueServiceWeb(server.base + "/csw", timeout=60)


def _ids(csw: Any, constraints: list[Any]) -> set[str]:
    csw.getrecords2(constraints=constraints, maxrecords=100, esn="brief")
    assert csw.results["matches"] == csw.results["returned"], csw.results
    return set(csw.records)


def _post(server: Server, body: str) -> tuple[int, str]:
    req = urllib.request.Request(
        server.base + "/csw", data=body.encode(), headers={"Content-Type": "application/xml"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_capabilities_name_the_public_url(served) -> None:
    server, _, _, _ = served
    csw = _csw(server)
    assert csw.identification.type == "CSW"
    ops = {op.name: op for op in csw.operations}
    assert {"GetCapabilities", "GetRecords", "GetRecordById"} <= set(ops)
    urls = {m["url"] for m in ops["GetRecords"].methods}
    assert urls == {server.base + "/csw"}, urls  # not pycsw's own loopback port
    # the service contact Geonorge sees is the records' metadata contact (metadata.contact_email of -c)
    assert csw.provider.contact.email == CONTACT_EMAIL


def test_harvest_pages_through_every_record(served) -> None:
    """What Geonorge's harvester does: GetRecords in ISO 19139, page by page, until nextrecord is 0."""
    server, records, _, _ = served
    csw = _csw(server)
    seen: dict[str, Any] = {}
    start = 1
    while start:
        csw.getrecords2(startposition=start, maxrecords=3, esn="full", outputschema=GMD)
        assert csw.results["matches"] == len(records), csw.results
        seen.update(csw.records)
        start = csw.results["nextrecord"]
    assert set(seen) == set(records)
    assert all(r.identifier == rid for rid, r in seen.items())


def test_getrecords_by_keyword_returns_those_records_only(served) -> None:
    from owslib.fes import PropertyIsLike

    server, records, _, _ = served
    expected = {rid for rid, r in records.items() if MODEL_KEYWORD in r["keywords"]}
    assert expected and expected != set(records)
    assert _ids(_csw(server), [PropertyIsLike("apiso:Subject", f"%{MODEL_KEYWORD}%")]) == expected


def test_getrecords_by_bbox_returns_the_records_it_touches(served) -> None:
    from owslib.fes import BBox

    server, records, _, _ = served
    west = next(r for r in records.values() if r["path"].stem.endswith(WEST))
    east = next(r for r in records.values() if r["path"].stem.endswith(EAST))
    w, s, e, n = west["bbox"]
    # a box well inside the west tile: (w, s, e, n) in lon/lat
    box = (w + (e - w) * 0.2, s + (n - s) * 0.2, w + (e - w) * 0.4, s + (n - s) * 0.4)

    def touches(b: tuple[float, ...] | None) -> bool:
        return b is not None and b[0] <= box[2] and b[2] >= box[0] and b[1] <= box[3] and b[3] >= box[1]

    expected = {rid for rid, r in records.items() if touches(r["bbox"])}
    assert west["id"] in expected and east["id"] not in expected
    crs84 = "urn:ogc:def:crs:OGC:1.3:CRS84"  # lon/lat order
    assert _ids(_csw(server), [BBox(list(box), crs=crs84)]) == expected


def test_getrecordbyid_returns_the_schema_valid_iso_record(served, tmp_path: Path) -> None:
    from _metadata_fixtures import ISO_BUNDLE, iso_validator

    server, records, _, _ = served
    validate_iso = iso_validator()
    if validate_iso is None:
        pytest.skip(f"ISO 19139 schema bundle not found at {ISO_BUNDLE} (../shared/iso19139)")
    csw = _csw(server)
    for rid, rec in records.items():
        csw.getrecordbyid(id=[rid], outputschema=GMD)
        assert list(csw.records) == [rid]
        served_xml = csw.records[rid].xml
        path = tmp_path / f"{rec['path'].stem}.xml"
        path.write_bytes(served_xml)
        rep = validate_iso.validate_file(path, backend="lxml")
        assert rep.valid, "\n".join(e.format(rep.file) for e in rep.errors)
        exported = etree.tostring(etree.parse(str(rec["path"])).getroot(), method="c14n", exclusive=True)
        assert etree.tostring(etree.fromstring(served_xml), method="c14n", exclusive=True) == exported, rid


def test_records_are_found_and_returned_by_their_norwegian_titles(served) -> None:
    """Geonorge shows the bokmål title: the one pycsw indexes (Dublin Core, GetRecords by title) and
    the primary title of the ISO record, with the English beside it as the ENG locale's text."""
    from owslib.fes import PropertyIsLike

    server, records, _, chain = served
    folder = chain.catalog.parent / ext.COLLECTION_MAPS
    nb = json.loads((folder / "collection.nb.json").read_text())["title"]
    en = json.loads((folder / "collection.json").read_text())["title"]
    assert nb != en
    rid = collection_uuid(ext.COLLECTION_MAPS)
    csw = _csw(server)
    csw.getrecordbyid(id=[rid])
    assert csw.records[rid].title == nb
    csw.getrecordbyid(id=[rid], outputschema=GMD)
    assert csw.records[rid].identification[0].title == nb
    served_xml = etree.fromstring(csw.records[rid].xml)
    english = f"{TITLE}/gmd:PT_FreeText//gmd:LocalisedCharacterString[@locale='#ENG']/text()"
    assert served_xml.xpath(english, namespaces=NS) == [en]
    expected = {r for r, rec in records.items() if rec["title"].startswith(nb)}
    assert rid in expected and len(expected) > 1 and expected != set(records)  # the series and its tiles
    assert _ids(csw, [PropertyIsLike("apiso:Title", f"{nb}%")]) == expected


def test_unknown_property_is_a_400_exception_report(served) -> None:
    from owslib.fes import PropertyIsEqualTo
    from owslib.ows import ExceptionReport

    server, _, _, _ = served
    status, body = _post(server, UNKNOWN_PROPERTY)
    assert status == 400, body
    assert "ExceptionReport" in body and "Invalid PropertyName: apiso:NoSuchProperty" in body, body
    assert "Traceback" not in body
    with pytest.raises(ExceptionReport, match="NoSuchProperty"):
        _csw(server).getrecords2(constraints=[PropertyIsEqualTo("apiso:NoSuchProperty", "x")])


def test_config_parameter_cannot_pick_another_file(served) -> None:
    """pycsw.wsgi reads the configuration a client names in ``config=``; ours ignores it."""
    server, _, _, _ = served
    body = server.get(CAPABILITIES + "&config=/etc/passwd").decode()
    assert "Capabilities" in body and "ExceptionReport" not in body


def test_restricted_records_are_not_served(served) -> None:
    """A public harvest source: records of restricted data are neither found nor fetched by id."""
    server, records, withheld, _ = served
    csw = _csw(server)
    csw.getrecords2(maxrecords=100, esn="brief")
    assert set(csw.records) == set(records) and not set(csw.records) & set(withheld)
    for rid in withheld:
        csw.getrecordbyid(id=[rid], outputschema=GMD)
        assert not csw.records, rid
    body = server.get("/csw?service=CSW&version=2.0.2&request=GetRecords&typenames=csw:Record&elementsetname=full"
                      "&resulttype=results&maxrecords=100")  # fmt: skip
    assert b"laserskanning" not in body  # a keyword only the restricted collection has


def _poll(what: str, probe: Any, timeout: float = 90) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"the CSW did not follow the records folder in {timeout:.0f} s: {what}"
        time.sleep(0.5)


def test_records_exported_changed_or_removed_while_serving_are_followed(served) -> None:
    """An export after `publish` reaches the running CSW without a restart: new records are found,
    a rewritten one is served as it is now, removed ones are gone."""
    server, records, _, chain = served
    folder = chain.root / "metadata" / "iso19139"
    before = {p.name for p in folder.glob("*.xml")}
    summary = export_metadata(chain.catalog, chain.root / "metadata", collections=(ext.COLLECTION_ARD,))
    added = [_record(p) for p in summary.iso_records if p.name not in before]
    assert added and all(r["access"] == "noLimitations" for r in added), added
    csw = _csw(server)

    def found(rid: str) -> bool:
        csw.getrecordbyid(id=[rid], outputschema=GMD)
        return rid in csw.records

    def matches() -> int:
        csw.getrecords2(maxrecords=100, esn="brief")
        return int(csw.results["matches"])

    try:
        _poll("new records", lambda: all(found(r["id"]) for r in added))
        assert matches() == len(records) + len(added)
        # a rewritten record (same id): served with its new text
        changed = next(iter(records.values()))
        original = changed["path"].read_bytes()
        marker = "Rewritten after the start of the server"
        root = etree.fromstring(original)
        abstract = root.xpath("//gmd:abstract/gco:CharacterString", namespaces=NS)[0]
        abstract.text = marker
        changed["path"].write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        try:
            rid = changed["id"]
            _poll("a rewritten record", lambda: found(rid) and marker.encode() in csw.records[rid].xml)
        finally:
            changed["path"].write_bytes(original)
    finally:
        for r in added:
            r["path"].unlink()
    _poll("removed records", lambda: not any(found(r["id"]) for r in added) and matches() == len(records))
    assert found(changed["id"]) and b"Rewritten" not in csw.records[changed["id"]].xml


def test_records_missing_is_a_named_error(served, tmp_path: Path) -> None:
    from sporbar.serve.csw import start_csw

    with pytest.raises(MissingInputError, match="sporbar export-metadata"):
        start_csw(tmp_path / "metadata" / "iso19139", public_url="http://127.0.0.1:1/csw")
