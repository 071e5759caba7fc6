"""Parse a Sentinel-1 Level-1 GRD SAFE product folder into a :class:`S1SceneMeta` value.

Only metadata is read: ``manifest.safe`` (platform, mode, product type, polarisations,
orbit, acquisition period, footprint, the list of data objects) and the product
annotation ``annotation/*.xml`` of each polarisation (pixel spacing, incidence angles,
geolocation grid). Measurement, calibration and noise paths come from the manifest's
``dataObjectSection``, so a metadata-only copy of a product parses as well as a full
one; the measurement TIFFs may be absent.

A small reader rather than ``stactools-sentinel1``: that package pins ``pystac~=1.9``
(see shared/DESIGN.md). Nominal resolution and looks per mode and resolution class
are the values of the Sentinel-1 Product Definition (S1-RS-MDA-52-7440), table 5-1,
as stactools-sentinel1 uses them too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe import _all, _first, _float, _parse_xml, _text

MANIFEST = "manifest.safe"
# S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8
_NAME = re.compile(
    r"^(?P<mission>S1[A-D])_(?P<beam>[A-Z0-9]{2})_(?P<type>[A-Z]{3})(?P<res>[FHM_])_"
    r"(?P<level>\d)(?P<cls>[SA])(?P<pol>SH|SV|DH|DV|HH|VV|HV|VH)_"
    r"(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_(?P<datatake>[0-9A-F]{6})_"
    r"(?P<crc>[0-9A-F]{4})$"
)
MODES = ("IW", "EW", "SM", "WV")
RESOLUTION_NAMES = {"F": "full", "H": "high", "M": "medium"}
_REP_ANNOTATION = "s1Level1ProductSchema"
_REP_CALIBRATION = "s1Level1CalibrationSchema"
_REP_NOISE = "s1Level1NoiseSchema"
_REP_MEASUREMENT = "s1Level1MeasurementSchema"


@dataclass(frozen=True)
class NominalQuality:
    """Nominal resolution (m), looks and equivalent number of looks of a GRD product class."""

    resolution_range: float
    resolution_azimuth: float
    looks_range: int
    looks_azimuth: int
    looks_equivalent_number: float


# (mode, resolution class) -> nominal values, Sentinel-1 Product Definition table 5-1.
NOMINAL: dict[tuple[str, str], NominalQuality] = {
    ("SM", "F"): NominalQuality(9, 9, 2, 2, 3.7),
    ("SM", "H"): NominalQuality(23, 23, 6, 6, 29.7),
    ("SM", "M"): NominalQuality(84, 84, 22, 22, 398.4),
    ("IW", "H"): NominalQuality(20, 22, 5, 1, 4.4),
    ("IW", "M"): NominalQuality(88, 87, 22, 5, 81.8),
    ("EW", "H"): NominalQuality(50, 50, 3, 1, 2.7),
    ("EW", "M"): NominalQuality(93, 87, 6, 2, 10.7),
    ("WV", "M"): NominalQuality(52, 51, 13, 13, 123.7),
}


@dataclass(frozen=True)
class PolarisationFiles:
    """The files of one polarisation (absolute paths).

    Attributes:
        polarisation: ``"VV"``, ``"VH"``, ``"HH"`` or ``"HV"``.
        annotation: product annotation XML.
        calibration: calibration LUT XML (None if the manifest lists none).
        noise: thermal noise LUT XML (None if the manifest lists none).
        measurement: the image TIFF as listed in the manifest; it may not exist
            (metadata-only copies); None if the manifest lists none.
    """

    polarisation: str
    annotation: Path
    calibration: Path | None
    noise: Path | None
    measurement: Path | None

    @property
    def has_measurement(self) -> bool:
        """Whether the measurement TIFF is present on disk."""
        return self.measurement is not None and self.measurement.is_file()


@dataclass(frozen=True)
class S1SceneMeta:
    """What sporbar needs to know about one Sentinel-1 GRD product.

    Attributes:
        product_id: product name without ``.SAFE``.
        platform: ``"sentinel-1a"``, ``"sentinel-1b"``, ``"sentinel-1c"`` (or ``-1d``).
        international_designator: NSSDC identifier, e.g. ``"2014-016A"``.
        mission_datatake_id: the mission data-take id (decimal; hex in the name).
        start_datetime, end_datetime: acquisition period, UTC.
        instrument_mode: ``"IW"``, ``"EW"``, ``"SM"`` (or ``"WV"``).
        product_type: ``"GRD"``.
        resolution_class: ``"H"``, ``"M"`` or ``"F"`` (from the product name).
        polarisations: in manifest order, e.g. ``("VV", "VH")``.
        orbit_state: ``"ascending"`` or ``"descending"``.
        absolute_orbit, relative_orbit: orbit numbers at the start.
        footprint: closed ring of (lon, lat) pairs in WGS84, counter-clockwise.
        files: one :class:`PolarisationFiles` per polarisation, in ``polarisations`` order.
        pixel_spacing_range, pixel_spacing_azimuth: ground pixel spacing (m), annotation.
        incidence_angle_near, incidence_angle_far: incidence angle range (degrees) over
            the geolocation grids of all annotations.
        incidence_angle_mid: ``incidenceAngleMidSwath`` (degrees, mean over annotations).
        ipf_version: Sentinel-1 IPF version that made the product, e.g. ``"003.31"``.
        safe_dir: the product folder.
        manifest_path: ``manifest.safe``.
    """

    product_id: str
    platform: str
    international_designator: str | None
    mission_datatake_id: int
    start_datetime: datetime
    end_datetime: datetime
    instrument_mode: str
    product_type: str
    resolution_class: str
    polarisations: tuple[str, ...]
    orbit_state: str
    absolute_orbit: int
    relative_orbit: int
    footprint: tuple[tuple[float, float], ...]
    files: tuple[PolarisationFiles, ...]
    pixel_spacing_range: float
    pixel_spacing_azimuth: float
    incidence_angle_near: float
    incidence_angle_far: float
    incidence_angle_mid: float
    ipf_version: str | None
    safe_dir: Path
    manifest_path: Path

    @property
    def nominal(self) -> NominalQuality:
        """Nominal resolution and looks of this mode and resolution class.

        Raises:
            InputDataError: no nominal values for the combination.
        """
        try:
            return NOMINAL[(self.instrument_mode, self.resolution_class)]
        except KeyError:
            raise InputDataError(
                f"{self.manifest_path}: no nominal GRD resolution for mode {self.instrument_mode} "
                f"resolution class {self.resolution_class!r} (known: "
                + ", ".join(f"{m}/{r}" for m, r in NOMINAL)
                + ")"
            ) from None

    def files_of(self, polarisation: str) -> PolarisationFiles:
        """The files of ``polarisation``.

        Raises:
            InputDataError: naming the manifest and the polarisations present.
        """
        for f in self.files:
            if f.polarisation == polarisation:
                return f
        raise InputDataError(
            f"{self.manifest_path}: no polarisation {polarisation!r} (has {','.join(self.polarisations)})"
        )


def is_s1_product(name: str) -> bool:
    """Whether a product name (with or without ``.SAFE``) is a Sentinel-1 product."""
    return name.startswith("S1")


def _utc(text: str, path: Path, name: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not an ISO 8601 time") from err
    # SAFE times carry no zone designator and are UTC
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _int(root: ET.Element, name: str, path: Path) -> int:
    text = _text(root, name, path)
    try:
        return int(text)
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not an integer") from err


def _typed_int(root: ET.Element, name: str, path: Path, type_: str) -> int:
    """The integer of the ``name`` element with ``type="<type_>"`` (else the first one)."""
    el = next((e for e in _all(root, name) if e.get("type") == type_), None)
    if el is None:
        el = _first(root, name, path)  # raises naming the element when there is none
    assert el is not None
    text = (el.text or "").strip()
    try:
        return int(text)
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not an integer") from err


def _ccw(ring: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Close the ring and orient it counter-clockwise (GeoJSON right-hand rule)."""
    if ring[0] != ring[-1]:
        ring = [*ring, ring[0]]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
    return tuple(ring if area2 > 0 else ring[::-1])


def _manifest_footprint(root: ET.Element, path: Path) -> list[tuple[float, float]]:
    el = _first(root, "coordinates", path, required=False)
    if el is None or not (el.text or "").split():
        return []
    ring = []
    for pair in (el.text or "").split():
        try:
            lat, lon = (float(v) for v in pair.split(","))
        except ValueError as err:
            raise InputDataError(f"{path}: gml:coordinates pair {pair!r} is not 'lat,lon'") from err
        ring.append((lon, lat))
    if len(ring) < 3:
        raise InputDataError(f"{path}: gml:coordinates has {len(ring)} points, need at least 3")
    return ring


def _grid_points(root: ET.Element, path: Path) -> list[tuple[int, int, float, float, float]]:
    """(line, pixel, lon, lat, incidence) of every geolocation grid point."""
    pts = []
    for p in _all(root, "geolocationGridPoint"):
        pts.append(
            (
                _int(p, "line", path),
                _int(p, "pixel", path),
                _float(p, "longitude", path),
                _float(p, "latitude", path),
                _float(p, "incidenceAngle", path),
            )
        )
    if not pts:
        raise InputDataError(f"{path}: no geolocationGridPoint (geolocationGrid)")
    return pts


def _grid_footprint(pts: list[tuple[int, int, float, float, float]]) -> list[tuple[float, float]]:
    """The four corners of the geolocation grid (first/last line x first/last pixel)."""
    lines = (min(p[0] for p in pts), max(p[0] for p in pts))
    pixels = (min(p[1] for p in pts), max(p[1] for p in pts))
    at = {(p[0], p[1]): (p[2], p[3]) for p in pts}
    corners = [(lines[0], pixels[0]), (lines[0], pixels[1]), (lines[1], pixels[1]), (lines[1], pixels[0])]
    return [at[c] for c in corners if c in at]


def _data_objects(root: ET.Element, safe: Path) -> dict[str, list[Path]]:
    """repID -> file paths listed in the manifest's dataObjectSection."""
    out: dict[str, list[Path]] = {}
    for obj in _all(root, "dataObject"):
        loc = _first(obj, "fileLocation", safe / MANIFEST, required=False)
        href = (loc.get("href") if loc is not None else None) or ""
        if href:
            out.setdefault(obj.get("repID", ""), []).append(safe / href.removeprefix("./"))
    return out


def _match(annotation: Path, candidates: list[Path], suffix: str = ".xml") -> Path | None:
    """The candidate whose name ends with the annotation's stem (+ ``suffix``)."""
    want = annotation.stem + suffix
    return next((c for c in candidates if c.name.endswith(want)), None)


def read_s1_safe(safe_dir: Path) -> S1SceneMeta:
    """Parse the Sentinel-1 GRD SAFE folder ``safe_dir``.

    Raises:
        MissingInputError: the folder, its ``manifest.safe`` or an annotation it lists is missing.
        InputDataError: a field is missing or malformed, or the product is not a GRD
            (names the file and the field).
    """
    safe = Path(safe_dir)
    if not safe.is_dir():
        raise MissingInputError(f"{safe}: SAFE folder not found")
    mf = safe / MANIFEST
    if not mf.is_file():
        raise MissingInputError(f"{safe}: no {MANIFEST} (not a complete Sentinel-1 SAFE product)")
    product_id = safe.name.removesuffix(".SAFE")
    name = _NAME.match(product_id)
    if name is None:
        raise InputDataError(
            f"{safe}: folder name {safe.name!r} is not a Sentinel-1 product name "
            "(S1x_MM_TTTR_LFPP_YYYYMMDDTHHMMSS_YYYYMMDDTHHMMSS_OOOOOO_DDDDDD_CCCC.SAFE)"
        )
    root = _parse_xml(mf)

    family = _text(root, "familyName", mf)
    number = _text(root, "number", mf)
    if family.upper() != "SENTINEL-1" or not re.fullmatch(r"[A-D]", number):
        raise InputDataError(f"{mf}: platform {family} {number} is not Sentinel-1A/B/C/D")
    platform = f"sentinel-1{number.lower()}"
    if name["mission"] != f"S1{number}":
        raise InputDataError(f"{mf}: platform Sentinel-1{number} but the product name says {name['mission']}")
    nssdc = _first(root, "nssdcIdentifier", mf, required=False)

    mode = _text(root, "mode", mf)
    if mode not in MODES:
        raise InputDataError(f"{mf}: s1sarl1:mode {mode!r} is not one of {', '.join(MODES)}")
    product_type = _text(root, "productType", mf)
    if product_type != "GRD":
        raise InputDataError(f"{mf}: s1sarl1:productType is {product_type!r}; only GRD is supported")
    res = name["res"]
    if res not in RESOLUTION_NAMES:
        raise InputDataError(f"{safe}: product name has resolution class {res!r}, expected F, H or M")
    pols = tuple(
        (e.text or "").strip() for e in _all(root, "transmitterReceiverPolarisation") if (e.text or "").strip()
    )
    if not pols:
        raise InputDataError(f"{mf}: no s1sarl1:transmitterReceiverPolarisation")
    datatake = _int(root, "missionDataTakeID", mf)
    if datatake != int(name["datatake"], 16):
        raise InputDataError(
            f"{mf}: missionDataTakeID {datatake} does not match the product name's {name['datatake']} (hex)"
        )

    orbit_ref = _first(root, "orbitReference", mf)
    assert orbit_ref is not None
    abs_orbit = _typed_int(orbit_ref, "orbitNumber", mf, "start")
    rel_orbit = _typed_int(orbit_ref, "relativeOrbitNumber", mf, "start")
    if abs_orbit != int(name["orbit"]):
        raise InputDataError(f"{mf}: orbitNumber {abs_orbit} does not match the product name's {name['orbit']}")
    orbit_state = _text(orbit_ref, "pass", mf).lower()
    if orbit_state not in ("ascending", "descending"):
        raise InputDataError(f"{mf}: s1:pass {orbit_state!r} is not ASCENDING or DESCENDING")

    period = _first(root, "acquisitionPeriod", mf)
    assert period is not None
    start = _utc(_text(period, "startTime", mf), mf, "startTime")
    stop = _utc(_text(period, "stopTime", mf), mf, "stopTime")
    software = next((e for e in _all(root, "software") if e.get("name") == "Sentinel-1 IPF"), None)

    objects = _data_objects(root, safe)
    annotations = objects.get(_REP_ANNOTATION, [])
    if not annotations:
        raise InputDataError(f"{mf}: dataObjectSection lists no product annotation ({_REP_ANNOTATION})")
    by_pol: dict[str, PolarisationFiles] = {}
    spacing: list[tuple[float, float]] = []
    mids: list[float] = []
    points: list[tuple[int, int, float, float, float]] = []
    incidence: list[float] = []
    for ann in sorted(annotations):
        if not ann.is_file():
            raise MissingInputError(f"{ann}: product annotation listed in {mf} not found")
        aroot = _parse_xml(ann)
        header = _first(aroot, "adsHeader", ann)
        assert header is not None
        pol_el = _first(header, "polarisation", ann, required=False)
        pol = (pol_el.text or "").strip().upper() if pol_el is not None else ""
        if not pol:
            raise InputDataError(f"{ann}: no polarisation in adsHeader")
        if pol not in pols:
            raise InputDataError(f"{ann}: polarisation {pol} is not in the manifest's {','.join(pols)}")
        if pol in by_pol:
            raise InputDataError(f"{ann}: second annotation for polarisation {pol} (first {by_pol[pol].annotation})")
        spacing.append((_float(aroot, "rangePixelSpacing", ann), _float(aroot, "azimuthPixelSpacing", ann)))
        mids.append(_float(aroot, "incidenceAngleMidSwath", ann))
        pts = _grid_points(aroot, ann)
        points = points or pts
        incidence += [p[4] for p in pts]
        by_pol[pol] = PolarisationFiles(
            polarisation=pol,
            annotation=ann,
            calibration=_match(ann, objects.get(_REP_CALIBRATION, [])),
            noise=_match(ann, objects.get(_REP_NOISE, [])),
            measurement=_match(ann, objects.get(_REP_MEASUREMENT, []), ".tiff"),
        )
    missing = [p for p in pols if p not in by_pol]
    if missing:
        raise InputDataError(f"{mf}: no product annotation for polarisation(s) {','.join(missing)}")
    if len(set(spacing)) > 1:
        raise InputDataError(f"{safe}/annotation: pixel spacing differs between polarisations: {spacing}")

    ring = _manifest_footprint(root, mf) or _grid_footprint(points)
    if len(ring) < 3:
        raise InputDataError(f"{mf}: no footprint (gml:coordinates) and no usable geolocation grid corners")
    return S1SceneMeta(
        product_id=product_id,
        platform=platform,
        international_designator=((nssdc.text or "").strip() or None) if nssdc is not None else None,
        mission_datatake_id=datatake,
        start_datetime=start,
        end_datetime=stop,
        instrument_mode=mode,
        product_type=product_type,
        resolution_class=res,
        polarisations=pols,
        orbit_state=orbit_state,
        absolute_orbit=abs_orbit,
        relative_orbit=rel_orbit,
        footprint=_ccw(ring),
        files=tuple(by_pol[p] for p in pols),
        pixel_spacing_range=spacing[0][0],
        pixel_spacing_azimuth=spacing[0][1],
        incidence_angle_near=min(incidence),
        incidence_angle_far=max(incidence),
        incidence_angle_mid=sum(mids) / len(mids),
        ipf_version=software.get("version") if software is not None else None,
        safe_dir=safe,
        manifest_path=mf,
    )


__all__ = [
    "NOMINAL",
    "NominalQuality",
    "PolarisationFiles",
    "S1SceneMeta",
    "is_s1_product",
    "read_s1_safe",
]
