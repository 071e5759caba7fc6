"""``manifest.safe`` of a demo Sentinel-2 SAFE product, as the Copernicus Data Space delivers it.

Split from :mod:`sporbar.demo.s2_safe_xml` (the product, tile, INSPIRE and datastrip metadata):
the manifest lists every file of the finished folder with its standard dataObject ID and MD5.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from sporbar.demo.s2_reflectance import GranuleGrid
from sporbar.demo.s2_safe_xml import footprint
from sporbar.demo.s2_safe_xml import sub_element as _sub
from sporbar.demo.s2_safe_xml import xml_bytes as _xml_bytes
from sporbar.errors import InputDataError

# Standard manifest dataObject IDs of the metadata files (stactools-sentinel2 looks them up).
_METADATA_OBJECTS = {
    "MTD_MSIL2A.xml": "S2_Level-2A_Product_Metadata",
    "INSPIRE.xml": "INSPIRE_Metadata",
    "MTD_DS.xml": "S2_Level-2A_Datastrip1_Metadata",
    "MTD_TL.xml": "S2_Level-2A_Tile1_Metadata",
}
_IMG_FILE = re.compile(r"_(?P<band>[A-Z0-9]{3})_(?P<res>\d0)m\.jp2$")


def _data_object_id(rel: str) -> str:
    """The dataObject ID of the SAFE file ``rel`` as in real L2A manifests.

    Raises:
        InputDataError: ``rel`` is neither a metadata file nor a band image of an L2A SAFE.
    """
    name = rel.rsplit("/", 1)[-1]
    if name in _METADATA_OBJECTS:
        return _METADATA_OBJECTS[name]
    m = _IMG_FILE.search(name)
    if m is None:
        raise InputDataError(f"{rel}: not a file of a Sentinel-2 L2A SAFE, so it has no manifest ID")
    return f"IMG_DATA_Band_{m['band']}_{m['res']}m_Tile1_Data"


def manifest_xml(safe: Path, scene: str, n: dict[str, str], grid: GranuleGrid) -> bytes:
    """``manifest.safe`` of the SAFE folder at ``safe``: every data object with its size and MD5."""
    xfdu, sns, gml = (
        "urn:ccsds:schema:xfdu:1",
        "http://www.esa.int/safe/sentinel/1.1",
        "http://www.opengis.net/gml",
    )
    for p, u in (("xfdu", xfdu), ("safe", sns), ("gml", gml)):
        ET.register_namespace(p, u)
    root = ET.Element(
        f"{{{xfdu}}}XFDU", version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
    )
    files = sorted(p for p in safe.rglob("*") if p.is_file() and p.name != "manifest.safe")
    # (dataObject ID, path in the SAFE, file): metadata first, as in real manifests
    order = list(_METADATA_OBJECTS.values())
    ids = sorted(
        ((_data_object_id(f.relative_to(safe).as_posix()), f.relative_to(safe).as_posix(), f) for f in files),
        key=lambda t: (order.index(t[0]) if t[0] in order else 2.5, t[1]),
    )
    ipm = _sub(root, "informationPackageMap")
    cu = _sub(
        ipm,
        f"{{{xfdu}}}contentUnit",
        unitType="Product_Level-2A",
        textInfo="SENTINEL-2 MSI Level-2A User Product",
        pdiID="processing",
        dmdID="acquisitionPeriod platform",
    )

    def unit(parent: ET.Element, oid: str, kind: str) -> None:
        du = _sub(parent, f"{{{xfdu}}}contentUnit", ID=oid.removesuffix("_Data") + "_Unit", unitType=kind)
        _sub(du, "dataObjectPointer", dataObjectID=oid)

    unit(cu, "S2_Level-2A_Product_Metadata", "Metadata Unit")
    unit(cu, "INSPIRE_Metadata", "Metadata Unit")
    ds = _sub(_sub(cu, f"{{{xfdu}}}contentUnit", ID="Datastrips", textInfo="Datastrips Container"),
              f"{{{xfdu}}}contentUnit", ID="Datastrip1", textInfo="Datastrip Container")
    unit(ds, "S2_Level-2A_Datastrip1_Metadata", "Metadata Unit")
    tile = _sub(_sub(cu, f"{{{xfdu}}}contentUnit", ID="Tiles", textInfo="Tiles Container"),
                f"{{{xfdu}}}contentUnit", ID="Tile1", textInfo="Tile Container")
    img = _sub(tile, f"{{{xfdu}}}contentUnit", ID="IMG_Data_Tile1", textInfo="Image Data Container")
    for oid, _, _ in ids:
        if oid.startswith("IMG_DATA_"):
            unit(img, oid, "Measurement Data Unit")
    unit(tile, "S2_Level-2A_Tile1_Metadata", "Metadata Unit")
    ms = _sub(root, "metadataSection")
    ap = _sub(
        _sub(
            _sub(
                ms,
                "metadataObject",
                ID="acquisitionPeriod",
                category="DMD",
                classification="DESCRIPTION",
            ),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    per = _sub(ap, f"{{{sns}}}acquisitionPeriod")
    _sub(per, f"{{{sns}}}startTime", n["sensing"])
    pl = _sub(
        _sub(
            _sub(ms, "metadataObject", ID="platform", category="DMD", classification="DESCRIPTION"),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    plat = _sub(pl, f"{{{sns}}}platform")
    _sub(plat, f"{{{sns}}}familyName", "SENTINEL")
    _sub(plat, f"{{{sns}}}number", n["platform"][-1])
    _sub(
        _sub(plat, f"{{{sns}}}instrument"),
        f"{{{sns}}}familyName",
        "Multi-Spectral Instrument",
        abbreviation="MSI",
    )
    fs = _sub(
        _sub(
            _sub(
                ms,
                "metadataObject",
                ID="measurementFrameSet",
                category="DMD",
                classification="DESCRIPTION",
            ),
            "metadataWrap",
            mimeType="text/xml",
        ),
        "xmlData",
    )
    fp = _sub(
        _sub(fs, f"{{{sns}}}frameSet"),
        f"{{{sns}}}footPrint",
        srsName="http://www.opengis.net/gml/srs/epsg.xml#4326",
    )
    _sub(fp, f"{{{gml}}}coordinates", " ".join(f"{la} {lo}" for la, lo in footprint(grid)) + " ")
    for oid in _METADATA_OBJECTS.values():
        info = _sub(ms, "metadataObject", ID=f"{oid}_Information", category="DMD", classification="DESCRIPTION")
        _sub(info, "dataObjectPointer", dataObjectID=oid)
    dos = _sub(root, "dataObjectSection")
    for oid, rel, f in ids:
        data = f.read_bytes()
        bs = _sub(
            _sub(dos, "dataObject", ID=oid),
            "byteStream",
            mimeType="text/xml" if rel.endswith(".xml") else "application/octet-stream",
            size=str(len(data)),
        )
        _sub(bs, "fileLocation", locatorType="URL", href=f"./{rel}")
        _sub(bs, "checksum", hashlib.md5(data).hexdigest(), checksumName="MD5")
    del scene
    return _xml_bytes(root)

