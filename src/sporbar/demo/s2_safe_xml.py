"""The metadata files of a demo SAFE product, as the Copernicus Data Space delivers them.

``manifest.safe`` (standard dataObject IDs such as ``S2_Level-2A_Product_Metadata``),
``MTD_MSIL2A.xml``, ``INSPIRE.xml``, ``DATASTRIP/<ds>/MTD_DS.xml`` and
``GRANULE/<granule>/MTD_TL.xml``, so that stactools-sentinel2 reads a demo product as it
reads a real one. Every function returns the bytes of one file; none reads a clock.
"""

from __future__ import annotations

import hashlib
import math
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import numpy as np
from rasterio.warp import transform as transform_points

from sporbar.bands import BAND_IDS, NATIVE_RESOLUTION
from sporbar.demo.names import DEMO_S2_CRS
from sporbar.demo.s2_reflectance import ANGLE_STEP, BOA_OFFSET, QUANTIFICATION, GranuleGrid
from sporbar.errors import InputDataError

# Solar irradiance (W/m2/um) per bandId as in the products' Reflectance_Conversion.
SOLAR_IRRADIANCE: dict[str, tuple[float, ...]] = {
    "S2A": (1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32,
            812.92, 367.15, 245.59, 85.25),
    "S2B": (1874.3, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28, 953.93,
            817.58, 365.41, 247.08, 87.75),
}
# Mean viewing incidence angles (zenith, azimuth; degrees) of the demo granule per bandId:
# the same relative orbit sees the tile from the same direction on every date; the bands
# differ a little because their detectors sit at different places in the focal plane.
VIEW_ZENITH, VIEW_AZIMUTH = 4.87, 104.6
_VIEW_BAND_SHIFT = (0.062, -0.041, -0.027, -0.013, 0.004, 0.018, 0.031, -0.035, 0.045, 0.069,
                    0.051, 0.027, 0.049)
SCL_NAMES = [
    "NO_DATA",
    "SATURATED_DEFECTIVE",
    "CAST_SHADOWS",
    "CLOUD_SHADOW",
    "VEGETATION",
    "NOT_VEGETATED",
    "WATER",
    "UNCLASSIFIED",
    "CLOUD_MEDIUM_PROBA",
    "CLOUD_HIGH_PROBA",
    "THIN_CIRRUS",
    "SNOW_ICE",
]


def _earth_sun_factor(day: date) -> float:
    """Reflectance_Conversion/U of ``day``: the Earth-Sun distance correction (ESA formula)."""
    doy = day.timetuple().tm_yday
    return round(1.0 / (1.0 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2, 14)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, "  ")
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + body + b"\n"


def _footprint(grid: GranuleGrid) -> list[tuple[float, float]]:
    """Granule corners as (lat, lon), closed ring, counter-clockwise from upper left."""
    rows, cols = grid.shape(10)
    x0, y1 = grid.ulx, grid.uly
    x1, y0 = x0 + cols * 10, y1 - rows * 10
    xs, ys = [x0, x0, x1, x1, x0], [y1, y0, y0, y1, y1]
    lons, lats = transform_points(DEMO_S2_CRS, "EPSG:4326", xs, ys)
    return [(round(la, 9), round(lo, 9)) for la, lo in zip(lats, lons, strict=True)]


def product_xml(
    scene: str,
    n: dict[str, str],
    image_files: list[str],
    grid: GranuleGrid,
    cloud: float,
    pct: dict[str, float],
) -> bytes:
    """``MTD_MSIL2A.xml``: product info, image files, reflectance conversion, footprint, cloud cover."""
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_User_Product")
    gi = _sub(root, f"{{{ns}}}General_Info")
    pi = _sub(gi, "Product_Info")
    _sub(pi, "PRODUCT_START_TIME", n["sensing"])
    _sub(pi, "PRODUCT_STOP_TIME", n["sensing"])
    _sub(pi, "PRODUCT_URI", f"{scene}.SAFE")
    _sub(pi, "PROCESSING_LEVEL", "Level-2A")
    _sub(pi, "PRODUCT_TYPE", "S2MSI2A")
    _sub(pi, "PROCESSING_BASELINE", "05.10")
    _sub(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-znk9xsj")
    _sub(pi, "GENERATION_TIME", n["generation"])
    _sub(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(pi, "PREVIEW_GEO_INFO", "Not applicable")
    dt = _sub(pi, "Datatake", datatakeIdentifier=n["datatake_id"])
    _sub(dt, "SPACECRAFT_NAME", n["spacecraft"])
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "DATATAKE_SENSING_START", n["sensing"])
    _sub(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    _sub(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    qo = _sub(pi, "Query_Options", completeSingleTile="true")
    _sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    po = _sub(pi, "Product_Organisation")
    gl = _sub(po, "Granule_List")
    g = _sub(
        gl,
        "Granule",
        datastripIdentifier=n["datastrip_id"],
        granuleIdentifier=n["tile_id"],
        imageFormat="JPEG2000",
    )
    for f in image_files:
        _sub(g, "IMAGE_FILE", f)
    pic = _sub(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", "0"), ("SATURATED", "65535")):
        sv = _sub(pic, "Special_Values")
        _sub(sv, "SPECIAL_VALUE_TEXT", text)
        _sub(sv, "SPECIAL_VALUE_INDEX", idx)
    ql = _sub(pic, "QUANTIFICATION_VALUES_LIST")
    _sub(ql, "BOA_QUANTIFICATION_VALUE", str(QUANTIFICATION), unit="none")
    _sub(ql, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
    _sub(ql, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
    ol = _sub(pic, "BOA_ADD_OFFSET_VALUES_LIST")
    for i in range(len(BAND_IDS)):
        _sub(ol, "BOA_ADD_OFFSET", str(BOA_OFFSET), band_id=str(i))
    rc = _sub(pic, "Reflectance_Conversion")
    _sub(rc, "U", repr(_earth_sun_factor(date.fromisoformat(n["sensing"][:10]))))
    sl = _sub(rc, "Solar_Irradiance_List")
    for i, e in enumerate(SOLAR_IRRADIANCE[n["platform"]]):
        _sub(sl, "SOLAR_IRRADIANCE", str(e), bandId=str(i), unit="W/m²/µm")
    sil = _sub(pic, "Spectral_Information_List")
    for i, b in enumerate(BAND_IDS):
        physical = b if b == "B8A" else f"B{int(b[1:])}"
        si = _sub(sil, "Spectral_Information", bandId=str(i), physicalBand=physical)
        _sub(si, "RESOLUTION", str(NATIVE_RESOLUTION[b]))
    scl = _sub(pic, "Scene_Classification_List")
    for i, name in enumerate(SCL_NAMES):
        sc = _sub(scl, "Scene_Classification_ID")
        _sub(sc, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
        _sub(sc, "SCENE_CLASSIFICATION_INDEX", str(i))
    geo = _sub(root, f"{{{ns}}}Geometric_Info")
    pf = _sub(_sub(_sub(geo, "Product_Footprint"), "Product_Footprint"), "Global_Footprint")
    _sub(pf, "EXT_POS_LIST", " ".join(f"{la} {lo}" for la, lo in _footprint(grid)) + " ")
    _sub(geo, "RASTER_CS_TYPE", "POINT")
    _sub(geo, "PIXEL_ORIGIN", "1")
    qi = _sub(root, f"{{{ns}}}Quality_Indicators_Info")
    _sub(qi, "Cloud_Coverage_Assessment", f"{cloud:.6f}")
    tq = _sub(qi, "Image_Content_QI")
    for k, v in pct.items():
        _sub(tq, k, f"{v:.6f}")
    return _xml_bytes(root)


def _angle_grid(parent: ET.Element, tag: str, zenith: np.ndarray, azimuth: np.ndarray, **attrib: str) -> None:
    """A ``Sun_Angles_Grid`` or ``Viewing_Incidence_Angles_Grids`` element as real granules write them."""
    g = _sub(parent, tag, **attrib)
    for name, values in (("Zenith", zenith), ("Azimuth", azimuth)):
        el = _sub(g, name)
        _sub(el, "COL_STEP", str(ANGLE_STEP), unit="m")
        _sub(el, "ROW_STEP", str(ANGLE_STEP), unit="m")
        vl = _sub(el, "Values_List")
        for row in values:
            _sub(vl, "VALUES", " ".join(f"{v:.4f}" for v in row))


def view_angle_grid(shape: tuple[int, int], band_index: int) -> tuple[np.ndarray, np.ndarray]:
    """View (zenith, azimuth) at the angle nodes of band ``band_index`` (one detector).

    The mean angles plus the across-track gradient of a real swath (~0.04 degrees per km eastwards).
    """
    shift = _VIEW_BAND_SHIFT[band_index]
    cols = np.arange(shape[1])[None, :] - (shape[1] - 1) / 2
    zenith = VIEW_ZENITH + shift + 0.04 * ANGLE_STEP / 1000 * cols + np.zeros(shape)
    return zenith, np.full(shape, VIEW_AZIMUTH + 25 * shift)


def tile_xml(
    n: dict[str, str],
    grid: GranuleGrid,
    sun: tuple[float, float],
    pct: dict[str, float],
    sun_grid: tuple[np.ndarray, np.ndarray],
) -> bytes:
    """``GRANULE/<granule>/MTD_TL.xml``: the granule grids, angles (5 km grids and means), quality percentages."""
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_Tile_ID")
    gi = _sub(root, f"{{{ns}}}General_Info")
    _sub(gi, "TILE_ID", n["tile_id"], metadataLevel="Brief")
    _sub(gi, "DATASTRIP_ID", n["datastrip_id"], metadataLevel="Standard")
    _sub(gi, "SENSING_TIME", n["sensing"], metadataLevel="Standard")
    geo = _sub(root, f"{{{ns}}}Geometric_Info")
    tg = _sub(geo, "Tile_Geocoding", metadataLevel="Brief")
    _sub(tg, "HORIZONTAL_CS_NAME", "WGS84 / UTM zone 32N")
    _sub(tg, "HORIZONTAL_CS_CODE", DEMO_S2_CRS)
    for res in (10, 20, 60):
        rows, cols = grid.shape(res)
        s = _sub(tg, "Size", resolution=str(res))
        _sub(s, "NROWS", str(rows))
        _sub(s, "NCOLS", str(cols))
    for res in (10, 20, 60):
        gp = _sub(tg, "Geoposition", resolution=str(res))
        _sub(gp, "ULX", str(int(grid.ulx)))
        _sub(gp, "ULY", str(int(grid.uly)))
        _sub(gp, "XDIM", str(res))
        _sub(gp, "YDIM", str(-res))
    ta = _sub(geo, "Tile_Angles", metadataLevel="Standard")
    _angle_grid(ta, "Sun_Angles_Grid", *sun_grid)
    ms = _sub(ta, "Mean_Sun_Angle")
    _sub(ms, "ZENITH_ANGLE", str(sun[0]), unit="deg")
    _sub(ms, "AZIMUTH_ANGLE", str(sun[1]), unit="deg")
    for i in range(len(_VIEW_BAND_SHIFT)):
        _angle_grid(ta, "Viewing_Incidence_Angles_Grids", *view_angle_grid(sun_grid[0].shape, i),
                    bandId=str(i), detectorId="4")
    vl = _sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, shift in enumerate(_VIEW_BAND_SHIFT):
        va = _sub(vl, "Mean_Viewing_Incidence_Angle", bandId=str(i))
        _sub(va, "ZENITH_ANGLE", f"{VIEW_ZENITH + shift:.6f}", unit="deg")
        _sub(va, "AZIMUTH_ANGLE", f"{VIEW_AZIMUTH + 25 * shift:.6f}", unit="deg")
    qi = _sub(root, f"{{{ns}}}Quality_Indicators_Info", metadataLevel="Standard")
    ic = _sub(qi, "Image_Content_QI")
    for k, v in pct.items():
        _sub(ic, k, f"{v:.6f}")
    return _xml_bytes(root)


def inspire_xml(scene: str, n: dict[str, str], grid: GranuleGrid) -> bytes:
    """``INSPIRE.xml``: the ISO 19139 record of the product."""
    """A small ISO 19139 ``INSPIRE.xml``: identifier, contact, dates, bounding box, time."""
    gmd, gco, gml = (
        "http://www.isotc211.org/2005/gmd",
        "http://www.isotc211.org/2005/gco",
        "http://www.opengis.net/gml",
    )
    for p, u in (("gmd", gmd), ("gco", gco), ("gml", gml)):
        ET.register_namespace(p, u)

    def g(parent: ET.Element, tag: str) -> ET.Element:
        return _sub(parent, f"{{{gmd}}}{tag}")

    def text(parent: ET.Element, tag: str, value: str, kind: str = "CharacterString") -> None:
        _sub(g(parent, tag), f"{{{gco}}}{kind}", value)

    def code(parent: ET.Element, tag: str, code_tag: str, value: str) -> None:
        _sub(
            g(parent, tag),
            f"{{{gmd}}}{code_tag}",
            value,
            codeList=f"http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#{code_tag}",
            codeListValue=value,
        )

    root = ET.Element(f"{{{gmd}}}MD_Metadata")
    text(root, "fileIdentifier", scene)
    code(root, "language", "LanguageCode", "eng")
    code(root, "characterSet", "MD_CharacterSetCode", "utf8")
    code(root, "hierarchyLevel", "MD_ScopeCode", "dataset")
    party = g(g(root, "contact"), "CI_ResponsibleParty")
    text(party, "organisationName", "ESA")
    address = g(g(g(party, "contactInfo"), "CI_Contact"), "address")
    text(g(address, "CI_Address"), "electronicMailAddress", "eosupport@copernicus.esa.int")
    code(party, "role", "CI_RoleCode", "pointOfContact")
    text(root, "dateStamp", n["generation"][:10], "Date")
    text(root, "metadataStandardName", "ISO19115")
    text(root, "metadataStandardVersion", "2003/Cor.1:2006")
    ident = g(g(root, "identificationInfo"), "MD_DataIdentification")
    citation = g(g(ident, "citation"), "CI_Citation")
    text(citation, "title", "SENTINEL-2 MSI Level-2A User Product")
    ci_date = g(g(citation, "date"), "CI_Date")
    text(ci_date, "date", n["generation"][:10], "Date")
    code(ci_date, "dateType", "CI_DateTypeCode", "creation")
    text(g(g(citation, "identifier"), "RS_Identifier"), "code", scene)
    text(ident, "abstract", "Bottom-of-atmosphere reflectance of one MGRS tile (Sentinel-2 MSI Level-2A)")
    code(ident, "language", "LanguageCode", "eng")
    _sub(g(ident, "topicCategory"), f"{{{gmd}}}MD_TopicCategoryCode", "imageryBaseMapsEarthCover")
    extent = g(g(ident, "extent"), "EX_Extent")
    box = g(g(extent, "geographicElement"), "EX_GeographicBoundingBox")
    lats, lons = zip(*_footprint(grid), strict=True)
    for tag, v in (
        ("westBoundLongitude", min(lons)),
        ("eastBoundLongitude", max(lons)),
        ("southBoundLatitude", min(lats)),
        ("northBoundLatitude", max(lats)),
    ):
        text(box, tag, f"{v:.6f}", "Decimal")
    period = _sub(
        g(g(extent, "temporalElement"), "EX_TemporalExtent"), f"{{{gmd}}}extent"
    )
    tp = _sub(period, f"{{{gml}}}TimePeriod", **{f"{{{gml}}}id": "acquisition"})
    _sub(tp, f"{{{gml}}}beginPosition", n["sensing"])
    _sub(tp, f"{{{gml}}}endPosition", n["sensing"])
    return _xml_bytes(root)


def datastrip_xml(n: dict[str, str]) -> bytes:
    """``DATASTRIP/<ds>/MTD_DS.xml``: the datastrip identification."""
    """A small ``MTD_DS.xml``: the datatake, sensing and processing times of the datastrip."""
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Datastrip_Metadata.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_DataStrip_ID")
    gi = _sub(root, f"{{{ns}}}General_Info")
    dt = _sub(gi, "Datatake_Info", datatakeIdentifier=n["datatake_id"])
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "SPACECRAFT_NAME", n["spacecraft"])
    _sub(dt, "DATATAKE_SENSING_START", n["sensing"])
    _sub(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    _sub(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    ti = _sub(gi, "Datastrip_Time_Info")
    _sub(ti, "DATASTRIP_SENSING_START", n["sensing"])
    _sub(ti, "DATASTRIP_SENSING_STOP", n["sensing"])
    pi = _sub(gi, "Processing_Info")
    _sub(pi, "UTC_DATE_TIME", n["generation"])
    _sub(pi, "PROCESSING_CENTER", "2APS")
    _sub(pi, "PROCESSING_BASELINE", "05.10")
    ai = _sub(gi, "Archiving_Info")
    _sub(ai, "ARCHIVING_CENTRE", "2APS")
    _sub(ai, "ARCHIVING_TIME", n["generation"])
    tiles = _sub(_sub(_sub(root, f"{{{ns}}}Image_Data_Info"), "Tiles_Information"), "Tile_List")
    _sub(tiles, "Tile", tileId=n["tile_id"])
    return _xml_bytes(root)


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
    _sub(fp, f"{{{gml}}}coordinates", " ".join(f"{la} {lo}" for la, lo in _footprint(grid)) + " ")
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

