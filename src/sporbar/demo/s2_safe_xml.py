"""The metadata files of a demo SAFE product, as the Copernicus Data Space delivers them.

``manifest.safe`` (standard dataObject IDs such as ``S2_Level-2A_Product_Metadata``),
``MTD_MSIL2A.xml``, ``INSPIRE.xml``, ``DATASTRIP/<ds>/MTD_DS.xml`` and
``GRANULE/<granule>/MTD_TL.xml``, so that stactools-sentinel2 reads a demo product as it
reads a real one. Every function returns the bytes of one file; none reads a clock.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import date

import numpy as np
from rasterio.warp import transform as transform_points

from sporbar.bands import BAND_IDS, NATIVE_RESOLUTION
from sporbar.demo.names import DEMO_S2_CRS
from sporbar.demo.s2_reflectance import ANGLE_STEP, BOA_OFFSET, QUANTIFICATION, GranuleGrid

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


def sub_element(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    """A child ``tag`` of ``parent`` with ``attrib`` and, if given, ``text``."""
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def xml_bytes(root: ET.Element) -> bytes:
    """``root`` as an indented UTF-8 XML document with its declaration."""
    ET.indent(root, "  ")
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + body + b"\n"


def footprint(grid: GranuleGrid) -> list[tuple[float, float]]:
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
    gi = sub_element(root, f"{{{ns}}}General_Info")
    pi = sub_element(gi, "Product_Info")
    sub_element(pi, "PRODUCT_START_TIME", n["sensing"])
    sub_element(pi, "PRODUCT_STOP_TIME", n["sensing"])
    sub_element(pi, "PRODUCT_URI", f"{scene}.SAFE")
    sub_element(pi, "PROCESSING_LEVEL", "Level-2A")
    sub_element(pi, "PRODUCT_TYPE", "S2MSI2A")
    sub_element(pi, "PROCESSING_BASELINE", "05.10")
    sub_element(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-znk9xsj")
    sub_element(pi, "GENERATION_TIME", n["generation"])
    sub_element(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    sub_element(pi, "PREVIEW_GEO_INFO", "Not applicable")
    dt = sub_element(pi, "Datatake", datatakeIdentifier=n["datatake_id"])
    sub_element(dt, "SPACECRAFT_NAME", n["spacecraft"])
    sub_element(dt, "DATATAKE_TYPE", "INS-NOBS")
    sub_element(dt, "DATATAKE_SENSING_START", n["sensing"])
    sub_element(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    sub_element(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    qo = sub_element(pi, "Query_Options", completeSingleTile="true")
    sub_element(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    po = sub_element(pi, "Product_Organisation")
    gl = sub_element(po, "Granule_List")
    g = sub_element(
        gl,
        "Granule",
        datastripIdentifier=n["datastrip_id"],
        granuleIdentifier=n["tile_id"],
        imageFormat="JPEG2000",
    )
    for f in image_files:
        sub_element(g, "IMAGE_FILE", f)
    pic = sub_element(gi, "Product_Image_Characteristics")
    for text, idx in (("NODATA", "0"), ("SATURATED", "65535")):
        sv = sub_element(pic, "Special_Values")
        sub_element(sv, "SPECIAL_VALUE_TEXT", text)
        sub_element(sv, "SPECIAL_VALUE_INDEX", idx)
    ql = sub_element(pic, "QUANTIFICATION_VALUES_LIST")
    sub_element(ql, "BOA_QUANTIFICATION_VALUE", str(QUANTIFICATION), unit="none")
    sub_element(ql, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
    sub_element(ql, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
    ol = sub_element(pic, "BOA_ADD_OFFSET_VALUES_LIST")
    for i in range(len(BAND_IDS)):
        sub_element(ol, "BOA_ADD_OFFSET", str(BOA_OFFSET), band_id=str(i))
    rc = sub_element(pic, "Reflectance_Conversion")
    sub_element(rc, "U", repr(_earth_sun_factor(date.fromisoformat(n["sensing"][:10]))))
    sl = sub_element(rc, "Solar_Irradiance_List")
    for i, e in enumerate(SOLAR_IRRADIANCE[n["platform"]]):
        sub_element(sl, "SOLAR_IRRADIANCE", str(e), bandId=str(i), unit="W/m²/µm")
    sil = sub_element(pic, "Spectral_Information_List")
    for i, b in enumerate(BAND_IDS):
        physical = b if b == "B8A" else f"B{int(b[1:])}"
        si = sub_element(sil, "Spectral_Information", bandId=str(i), physicalBand=physical)
        sub_element(si, "RESOLUTION", str(NATIVE_RESOLUTION[b]))
    scl = sub_element(pic, "Scene_Classification_List")
    for i, name in enumerate(SCL_NAMES):
        sc = sub_element(scl, "Scene_Classification_ID")
        sub_element(sc, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
        sub_element(sc, "SCENE_CLASSIFICATION_INDEX", str(i))
    geo = sub_element(root, f"{{{ns}}}Geometric_Info")
    pf = sub_element(sub_element(sub_element(geo, "Product_Footprint"), "Product_Footprint"), "Global_Footprint")
    sub_element(pf, "EXT_POS_LIST", " ".join(f"{la} {lo}" for la, lo in footprint(grid)) + " ")
    sub_element(geo, "RASTER_CS_TYPE", "POINT")
    sub_element(geo, "PIXEL_ORIGIN", "1")
    qi = sub_element(root, f"{{{ns}}}Quality_Indicators_Info")
    sub_element(qi, "Cloud_Coverage_Assessment", f"{cloud:.6f}")
    tq = sub_element(qi, "Image_Content_QI")
    for k, v in pct.items():
        sub_element(tq, k, f"{v:.6f}")
    return xml_bytes(root)


def _angle_grid(parent: ET.Element, tag: str, zenith: np.ndarray, azimuth: np.ndarray, **attrib: str) -> None:
    """A ``Sun_Angles_Grid`` or ``Viewing_Incidence_Angles_Grids`` element as real granules write them."""
    g = sub_element(parent, tag, **attrib)
    for name, values in (("Zenith", zenith), ("Azimuth", azimuth)):
        el = sub_element(g, name)
        sub_element(el, "COL_STEP", str(ANGLE_STEP), unit="m")
        sub_element(el, "ROW_STEP", str(ANGLE_STEP), unit="m")
        vl = sub_element(el, "Values_List")
        for row in values:
            sub_element(vl, "VALUES", " ".join(f"{v:.4f}" for v in row))


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
    gi = sub_element(root, f"{{{ns}}}General_Info")
    sub_element(gi, "TILE_ID", n["tile_id"], metadataLevel="Brief")
    sub_element(gi, "DATASTRIP_ID", n["datastrip_id"], metadataLevel="Standard")
    sub_element(gi, "SENSING_TIME", n["sensing"], metadataLevel="Standard")
    geo = sub_element(root, f"{{{ns}}}Geometric_Info")
    tg = sub_element(geo, "Tile_Geocoding", metadataLevel="Brief")
    sub_element(tg, "HORIZONTAL_CS_NAME", "WGS84 / UTM zone 32N")
    sub_element(tg, "HORIZONTAL_CS_CODE", DEMO_S2_CRS)
    for res in (10, 20, 60):
        rows, cols = grid.shape(res)
        s = sub_element(tg, "Size", resolution=str(res))
        sub_element(s, "NROWS", str(rows))
        sub_element(s, "NCOLS", str(cols))
    for res in (10, 20, 60):
        gp = sub_element(tg, "Geoposition", resolution=str(res))
        sub_element(gp, "ULX", str(int(grid.ulx)))
        sub_element(gp, "ULY", str(int(grid.uly)))
        sub_element(gp, "XDIM", str(res))
        sub_element(gp, "YDIM", str(-res))
    ta = sub_element(geo, "Tile_Angles", metadataLevel="Standard")
    _angle_grid(ta, "Sun_Angles_Grid", *sun_grid)
    ms = sub_element(ta, "Mean_Sun_Angle")
    sub_element(ms, "ZENITH_ANGLE", str(sun[0]), unit="deg")
    sub_element(ms, "AZIMUTH_ANGLE", str(sun[1]), unit="deg")
    for i in range(len(_VIEW_BAND_SHIFT)):
        _angle_grid(ta, "Viewing_Incidence_Angles_Grids", *view_angle_grid(sun_grid[0].shape, i),
                    bandId=str(i), detectorId="4")
    vl = sub_element(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, shift in enumerate(_VIEW_BAND_SHIFT):
        va = sub_element(vl, "Mean_Viewing_Incidence_Angle", bandId=str(i))
        sub_element(va, "ZENITH_ANGLE", f"{VIEW_ZENITH + shift:.6f}", unit="deg")
        sub_element(va, "AZIMUTH_ANGLE", f"{VIEW_AZIMUTH + 25 * shift:.6f}", unit="deg")
    qi = sub_element(root, f"{{{ns}}}Quality_Indicators_Info", metadataLevel="Standard")
    ic = sub_element(qi, "Image_Content_QI")
    for k, v in pct.items():
        sub_element(ic, k, f"{v:.6f}")
    return xml_bytes(root)


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
        return sub_element(parent, f"{{{gmd}}}{tag}")

    def text(parent: ET.Element, tag: str, value: str, kind: str = "CharacterString") -> None:
        sub_element(g(parent, tag), f"{{{gco}}}{kind}", value)

    def code(parent: ET.Element, tag: str, code_tag: str, value: str) -> None:
        sub_element(
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
    sub_element(g(ident, "topicCategory"), f"{{{gmd}}}MD_TopicCategoryCode", "imageryBaseMapsEarthCover")
    extent = g(g(ident, "extent"), "EX_Extent")
    box = g(g(extent, "geographicElement"), "EX_GeographicBoundingBox")
    lats, lons = zip(*footprint(grid), strict=True)
    for tag, v in (
        ("westBoundLongitude", min(lons)),
        ("eastBoundLongitude", max(lons)),
        ("southBoundLatitude", min(lats)),
        ("northBoundLatitude", max(lats)),
    ):
        text(box, tag, f"{v:.6f}", "Decimal")
    period = sub_element(
        g(g(extent, "temporalElement"), "EX_TemporalExtent"), f"{{{gmd}}}extent"
    )
    tp = sub_element(period, f"{{{gml}}}TimePeriod", **{f"{{{gml}}}id": "acquisition"})
    sub_element(tp, f"{{{gml}}}beginPosition", n["sensing"])
    sub_element(tp, f"{{{gml}}}endPosition", n["sensing"])
    return xml_bytes(root)


def datastrip_xml(n: dict[str, str]) -> bytes:
    """``DATASTRIP/<ds>/MTD_DS.xml``: the datastrip identification."""
    """A small ``MTD_DS.xml``: the datatake, sensing and processing times of the datastrip."""
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Datastrip_Metadata.xsd"
    ET.register_namespace("n1", ns)
    root = ET.Element(f"{{{ns}}}Level-2A_DataStrip_ID")
    gi = sub_element(root, f"{{{ns}}}General_Info")
    dt = sub_element(gi, "Datatake_Info", datatakeIdentifier=n["datatake_id"])
    sub_element(dt, "DATATAKE_TYPE", "INS-NOBS")
    sub_element(dt, "SPACECRAFT_NAME", n["spacecraft"])
    sub_element(dt, "DATATAKE_SENSING_START", n["sensing"])
    sub_element(dt, "SENSING_ORBIT_NUMBER", n["rel_orbit"])
    sub_element(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    ti = sub_element(gi, "Datastrip_Time_Info")
    sub_element(ti, "DATASTRIP_SENSING_START", n["sensing"])
    sub_element(ti, "DATASTRIP_SENSING_STOP", n["sensing"])
    pi = sub_element(gi, "Processing_Info")
    sub_element(pi, "UTC_DATE_TIME", n["generation"])
    sub_element(pi, "PROCESSING_CENTER", "2APS")
    sub_element(pi, "PROCESSING_BASELINE", "05.10")
    ai = sub_element(gi, "Archiving_Info")
    sub_element(ai, "ARCHIVING_CENTRE", "2APS")
    sub_element(ai, "ARCHIVING_TIME", n["generation"])
    tiles = sub_element(sub_element(sub_element(root, f"{{{ns}}}Image_Data_Info"), "Tiles_Information"), "Tile_List")
    sub_element(tiles, "Tile", tileId=n["tile_id"])
    return xml_bytes(root)
