"""Parse a Sentinel-2 SAFE product folder (L2A, and L1C) into a :class:`SceneMeta` value.

Only the metadata is read (``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml`` and the granule's
``MTD_TL.xml``); band file paths come from ``Product_Organisation/IMAGE_FILE``, so
a metadata-only copy of a product parses as well as a full one. Everything after
parsing works on the frozen value, never on the folder.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sporbar.errors import InputDataError, MissingInputError

# Sentinel-2 bandId order, as used by BOA_ADD_OFFSET/@band_id and Spectral_Information/@bandId.
BAND_IDS: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
# Native resolution (m) of each band; SCL is delivered at 20 m natively.
NATIVE_RESOLUTION: dict[str, int] = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
}
_EXT = {"JPEG2000": ".jp2", "GeoTIFF": ".tif"}
_L2A_FILE = re.compile(r"_(?P<band>B\d[\dA]|SCL|AOT|WVP|TCI)_(?P<res>\d+)m$")
_L1C_FILE = re.compile(r"_(?P<band>B\d[\dA]|TCI)$")


@dataclass(frozen=True)
class ResolutionGrid:
    """The pixel grid of one resolution of the granule.

    Attributes:
        resolution: pixel size in metres (10, 20 or 60).
        shape: (rows, cols).
        transform: affine coefficients (a, b, c, d, e, f), as in ``proj:transform``.
    """

    resolution: int
    shape: tuple[int, int]
    transform: tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class BandFile:
    """One image file of the product: band name, resolution (m) and absolute path."""

    band: str
    resolution: int
    path: Path


@dataclass(frozen=True)
class SceneMeta:
    """What sporbar needs to know about one Sentinel-2 product.

    Attributes:
        product_id: product name without ``.SAFE``.
        level: ``"L2A"`` or ``"L1C"``.
        platform: ``"sentinel-2a"``, ``"sentinel-2b"`` or ``"sentinel-2c"``.
        sensing_datetime: granule sensing time, UTC.
        processing_baseline: e.g. ``"05.10"``.
        mgrs_tile: e.g. ``"32VNR"``.
        epsg: EPSG code of the granule CRS (UTM).
        grids: one :class:`ResolutionGrid` per resolution, sorted by resolution.
        band_files: image files, sorted by (band, resolution).
        quantification: DN per unit reflectance (10000).
        offsets: (band, additive DN offset) pairs; reflectance = (DN + offset) / quantification.
        cloud_cover: ``Cloud_Coverage_Assessment`` in percent.
        sun_zenith: mean sun zenith angle, degrees.
        sun_azimuth: mean sun azimuth angle, degrees.
        footprint: data footprint ring as (lon, lat) pairs (WGS84).
        safe_dir: the product folder.
        metadata_path: the product metadata XML.
        granule_metadata_path: the granule's ``MTD_TL.xml``.
        manifest_path: ``manifest.safe``.
    """

    product_id: str
    level: str
    platform: str
    sensing_datetime: datetime
    processing_baseline: str
    mgrs_tile: str
    epsg: int
    grids: tuple[ResolutionGrid, ...]
    band_files: tuple[BandFile, ...]
    quantification: float
    offsets: tuple[tuple[str, float], ...]
    cloud_cover: float
    sun_zenith: float
    sun_azimuth: float
    footprint: tuple[tuple[float, float], ...]
    safe_dir: Path
    metadata_path: Path
    granule_metadata_path: Path
    manifest_path: Path

    @property
    def bands(self) -> list[str]:
        """Band names with at least one file, sorted."""
        return sorted({b.band for b in self.band_files})

    def grid(self, resolution: int) -> ResolutionGrid:
        """The grid at ``resolution`` m.

        Raises:
            InputDataError: the granule metadata has no grid at that resolution.
        """
        for g in self.grids:
            if g.resolution == resolution:
                return g
        have = ",".join(str(g.resolution) for g in self.grids)
        raise InputDataError(f"{self.granule_metadata_path}: no {resolution} m grid (found {have})")

    def band_file(self, band: str, resolution: int | None = None) -> BandFile:
        """The file of ``band`` at ``resolution`` m (default: native resolution, else finest).

        Raises:
            InputDataError: naming the metadata file, the band and the bands present.
        """
        files = [b for b in self.band_files if b.band == band]
        if not files:
            raise InputDataError(
                f"{self.metadata_path}: band {band!r} missing (found {','.join(self.bands)})"
            )
        want = resolution if resolution is not None else NATIVE_RESOLUTION.get(band)
        for f in files:
            if f.resolution == want:
                return f
        if resolution is not None:
            have = ",".join(str(f.resolution) for f in files)
            raise InputDataError(
                f"{self.metadata_path}: band {band!r} has no {resolution} m file (found {have} m)"
            )
        return min(files, key=lambda f: f.resolution)

    def offset(self, band: str) -> float:
        """Additive DN offset of ``band`` (0 before processing baseline 04.00)."""
        return dict(self.offsets).get(band, 0.0)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError as err:
        raise MissingInputError(f"{path}: file not found") from err
    except ET.ParseError as err:
        raise InputDataError(f"{path}: not valid XML: {err}") from err


def _all(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _first(root: ET.Element, name: str, path: Path, *, required: bool = True) -> ET.Element | None:
    for e in root.iter():
        if _local(e.tag) == name:
            return e
    if required:
        raise InputDataError(f"{path}: no {name}")
    return None


def _text(root: ET.Element, name: str, path: Path) -> str:
    el = _first(root, name, path)
    assert el is not None
    if not (el.text or "").strip():
        raise InputDataError(f"{path}: {name} is empty")
    return (el.text or "").strip()


def _float(root: ET.Element, name: str, path: Path) -> float:
    text = _text(root, name, path)
    try:
        return float(text)
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not a number") from err


def _datetime(text: str, path: Path, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not an ISO 8601 time") from err


def _grids(tl: ET.Element, path: Path) -> tuple[ResolutionGrid, ...]:
    sizes = {int(e.get("resolution", "0")): e for e in _all(tl, "Size")}
    out = []
    for gp in _all(tl, "Geoposition"):
        res = int(gp.get("resolution", "0"))
        if res not in sizes:
            raise InputDataError(f"{path}: Geoposition resolution={res} has no Size")
        s = sizes[res]
        rows, cols = int(_text(s, "NROWS", path)), int(_text(s, "NCOLS", path))
        ulx, uly = _float(gp, "ULX", path), _float(gp, "ULY", path)
        xdim, ydim = _float(gp, "XDIM", path), _float(gp, "YDIM", path)
        out.append(ResolutionGrid(res, (rows, cols), (xdim, 0.0, ulx, 0.0, ydim, uly)))
    if not out:
        raise InputDataError(f"{path}: no Geoposition (Tile_Geocoding)")
    return tuple(sorted(out, key=lambda g: g.resolution))


def _band_files(root: ET.Element, safe: Path, mtd: Path, level: str) -> tuple[BandFile, ...]:
    granule = _first(root, "Granule", mtd)
    assert granule is not None
    fmt = granule.get("imageFormat", "JPEG2000")
    if fmt not in _EXT:
        raise InputDataError(f"{mtd}: Granule imageFormat {fmt!r} is not one of {sorted(_EXT)}")
    files = []
    for el in _all(granule, "IMAGE_FILE"):
        rel = (el.text or "").strip()
        m = (_L2A_FILE if level == "L2A" else _L1C_FILE).search(rel)
        if not m or m["band"] in ("AOT", "WVP", "TCI"):
            continue
        res = int(m["res"]) if level == "L2A" else NATIVE_RESOLUTION[m["band"]]
        files.append(BandFile(m["band"], res, safe / (rel + _EXT[fmt])))
    if not files:
        raise InputDataError(
            f"{mtd}: no IMAGE_FILE entries with band files in Product_Organisation"
        )
    return tuple(sorted(files, key=lambda f: (f.band, f.resolution)))


def _footprint(root: ET.Element, mtd: Path) -> tuple[tuple[float, float], ...]:
    el = _first(root, "EXT_POS_LIST", mtd, required=False)
    if el is None or not (el.text or "").split():
        return ()
    vals = [float(v) for v in (el.text or "").split()]
    return tuple((vals[i + 1], vals[i]) for i in range(0, len(vals) - 1, 2))


def read_safe(safe_dir: Path) -> SceneMeta:
    """Parse the SAFE folder ``safe_dir`` (``*.SAFE``, L2A or L1C).

    Raises:
        MissingInputError: the folder, its product metadata or its granule metadata is missing.
        InputDataError: a metadata field is missing or malformed (names the file and field).
    """
    safe = Path(safe_dir)
    if not safe.is_dir():
        raise MissingInputError(f"{safe}: SAFE folder not found")
    candidates = [safe / "MTD_MSIL2A.xml", safe / "MTD_MSIL1C.xml"]
    mtd = next((p for p in candidates if p.exists()), None)
    if mtd is None:
        raise MissingInputError(f"{safe}: neither MTD_MSIL2A.xml nor MTD_MSIL1C.xml found")
    level = "L2A" if mtd.name == "MTD_MSIL2A.xml" else "L1C"
    root = _parse_xml(mtd)
    uri = _text(root, "PRODUCT_URI", mtd)
    product_id = uri.removesuffix(".SAFE")
    spacecraft = _text(root, "SPACECRAFT_NAME", mtd)
    if not re.fullmatch(r"Sentinel-2[A-D]", spacecraft):
        raise InputDataError(f"{mtd}: SPACECRAFT_NAME {spacecraft!r} is not Sentinel-2A/B/C/D")
    baseline = _text(root, "PROCESSING_BASELINE", mtd)
    tile_m = re.search(r"_T(\d{2}[A-Z]{3})_", uri)
    if not tile_m:
        raise InputDataError(f"{mtd}: PRODUCT_URI {uri!r} has no MGRS tile (_Tnnxxx_)")
    quant_name = "BOA_QUANTIFICATION_VALUE" if level == "L2A" else "QUANTIFICATION_VALUE"
    quant = _float(root, quant_name, mtd)
    offset_name = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
    offsets = []
    for el in _all(root, offset_name):
        i = int(el.get("band_id", "-1"))
        if not 0 <= i < len(BAND_IDS):
            raise InputDataError(f"{mtd}: {offset_name} band_id={el.get('band_id')!r} out of range")
        offsets.append((BAND_IDS[i], float((el.text or "0").strip())))
    cloud = _float(root, "Cloud_Coverage_Assessment", mtd)
    files = _band_files(root, safe, mtd, level)

    granule_dirs = sorted(p for p in (safe / "GRANULE").glob("*") if (p / "MTD_TL.xml").exists())
    if not granule_dirs:
        raise MissingInputError(f"{safe}/GRANULE: no granule folder with MTD_TL.xml")
    tl_path = granule_dirs[0] / "MTD_TL.xml"
    tl = _parse_xml(tl_path)
    code = _text(tl, "HORIZONTAL_CS_CODE", tl_path)
    m = re.fullmatch(r"EPSG:(\d+)", code)
    if not m:
        raise InputDataError(f"{tl_path}: HORIZONTAL_CS_CODE {code!r} is not EPSG:<code>")
    sun = _first(tl, "Mean_Sun_Angle", tl_path)
    assert sun is not None
    return SceneMeta(
        product_id=product_id,
        level=level,
        platform=spacecraft.lower(),
        sensing_datetime=_datetime(_text(tl, "SENSING_TIME", tl_path), tl_path, "SENSING_TIME"),
        processing_baseline=baseline,
        mgrs_tile=tile_m.group(1),
        epsg=int(m.group(1)),
        grids=_grids(tl, tl_path),
        band_files=files,
        quantification=quant,
        offsets=tuple(sorted(offsets)),
        cloud_cover=cloud,
        sun_zenith=_float(sun, "ZENITH_ANGLE", tl_path),
        sun_azimuth=_float(sun, "AZIMUTH_ANGLE", tl_path),
        footprint=_footprint(root, mtd),
        safe_dir=safe,
        metadata_path=mtd,
        granule_metadata_path=tl_path,
        manifest_path=safe / "manifest.safe",
    )
