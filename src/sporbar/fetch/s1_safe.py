"""Parse a Sentinel-1 Level-1 GRD SAFE product folder into a :class:`~sporbar.safe_meta.S1SceneMeta` value.

Only metadata is read: ``manifest.safe`` (platform, mode, product type, polarisations,
orbit, acquisition period, footprint, the list of data objects) and the product
annotation ``annotation/*.xml`` of each polarisation (pixel spacing, incidence angles,
geolocation grid). Measurement, calibration and noise paths come from the manifest's
``dataObjectSection``, so a metadata-only copy of a product parses as well as a full
one; the measurement TIFFs may be absent.

A small reader rather than ``stactools-sentinel1``: that package pins ``pystac~=1.9``
(see shared/DESIGN.md). The nominal resolution and looks per mode and resolution class
(:data:`sporbar.safe_meta.NOMINAL`) are those of the Sentinel-1 Product Definition.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.s1_names import NAME
from sporbar.fetch.safe_manifest import listed_files, manifest_of
from sporbar.fetch.xmltools import find_all, find_first, float_of, int_of, parse_xml, text_of
from sporbar.safe_meta import RESOLUTION_NAMES, PolarisationFiles, S1SceneMeta

MODES = ("IW", "EW", "SM", "WV")
_REP_ANNOTATION = "s1Level1ProductSchema"
_REP_CALIBRATION = "s1Level1CalibrationSchema"
_REP_NOISE = "s1Level1NoiseSchema"
_REP_MEASUREMENT = "s1Level1MeasurementSchema"


def _utc(text: str, path: Path, name: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not an ISO 8601 time") from err
    # SAFE times carry no zone designator and are UTC
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _typed_int(root: ET.Element, name: str, path: Path, type_: str) -> int:
    """The integer of the ``name`` element with ``type="<type_>"`` (else the first one)."""
    el = next((e for e in find_all(root, name) if e.get("type") == type_), None)
    if el is None:
        el = find_first(root, name, path)  # raises naming the element when there is none
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
    el = find_first(root, "coordinates", path, required=False)
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
    for p in find_all(root, "geolocationGridPoint"):
        pts.append(
            (
                int_of(p, "line", path),
                int_of(p, "pixel", path),
                float_of(p, "longitude", path),
                float_of(p, "latitude", path),
                float_of(p, "incidenceAngle", path),
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
    mf = manifest_of(safe, "Sentinel-1")
    product_id = safe.name.removesuffix(".SAFE")
    name = NAME.match(product_id)
    if name is None:
        raise InputDataError(
            f"{safe}: folder name {safe.name!r} is not a Sentinel-1 product name "
            "(S1x_MM_TTTR_LFPP_YYYYMMDDTHHMMSS_YYYYMMDDTHHMMSS_OOOOOO_DDDDDD_CCCC.SAFE)"
        )
    root = parse_xml(mf)

    family = text_of(root, "familyName", mf)
    number = text_of(root, "number", mf)
    if family.upper() != "SENTINEL-1" or not re.fullmatch(r"[A-D]", number):
        raise InputDataError(f"{mf}: platform {family} {number} is not Sentinel-1A/B/C/D")
    platform = f"sentinel-1{number.lower()}"
    if name["mission"] != f"S1{number}":
        raise InputDataError(f"{mf}: platform Sentinel-1{number} but the product name says {name['mission']}")
    nssdc = find_first(root, "nssdcIdentifier", mf, required=False)

    mode = text_of(root, "mode", mf)
    if mode not in MODES:
        raise InputDataError(f"{mf}: s1sarl1:mode {mode!r} is not one of {', '.join(MODES)}")
    product_type = text_of(root, "productType", mf)
    if product_type != "GRD":
        raise InputDataError(f"{mf}: s1sarl1:productType is {product_type!r}; only GRD is supported")
    res = name["res"]
    if res not in RESOLUTION_NAMES:
        raise InputDataError(f"{safe}: product name has resolution class {res!r}, expected F, H or M")
    pols = tuple(
        (e.text or "").strip() for e in find_all(root, "transmitterReceiverPolarisation") if (e.text or "").strip()
    )
    if not pols:
        raise InputDataError(f"{mf}: no s1sarl1:transmitterReceiverPolarisation")
    datatake = int_of(root, "missionDataTakeID", mf)
    if datatake != int(name["datatake"], 16):
        raise InputDataError(
            f"{mf}: missionDataTakeID {datatake} does not match the product name's {name['datatake']} (hex)"
        )

    orbit_ref = find_first(root, "orbitReference", mf)
    assert orbit_ref is not None
    abs_orbit = _typed_int(orbit_ref, "orbitNumber", mf, "start")
    rel_orbit = _typed_int(orbit_ref, "relativeOrbitNumber", mf, "start")
    if abs_orbit != int(name["orbit"]):
        raise InputDataError(f"{mf}: orbitNumber {abs_orbit} does not match the product name's {name['orbit']}")
    orbit_state = text_of(orbit_ref, "pass", mf).lower()
    if orbit_state not in ("ascending", "descending"):
        raise InputDataError(f"{mf}: s1:pass {orbit_state!r} is not ASCENDING or DESCENDING")

    period = find_first(root, "acquisitionPeriod", mf)
    assert period is not None
    start = _utc(text_of(period, "startTime", mf), mf, "startTime")
    stop = _utc(text_of(period, "stopTime", mf), mf, "stopTime")
    software = next((e for e in find_all(root, "software") if e.get("name") == "Sentinel-1 IPF"), None)

    objects: dict[str, list[Path]] = {}  # repID -> the files the manifest lists
    for listed in listed_files(mf):
        objects.setdefault(listed.rep_id, []).append(listed.path)
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
        aroot = parse_xml(ann)
        header = find_first(aroot, "adsHeader", ann)
        assert header is not None
        pol_el = find_first(header, "polarisation", ann, required=False)
        pol = (pol_el.text or "").strip().upper() if pol_el is not None else ""
        if not pol:
            raise InputDataError(f"{ann}: no polarisation in adsHeader")
        if pol not in pols:
            raise InputDataError(f"{ann}: polarisation {pol} is not in the manifest's {','.join(pols)}")
        if pol in by_pol:
            raise InputDataError(f"{ann}: second annotation for polarisation {pol} (first {by_pol[pol].annotation})")
        spacing.append((float_of(aroot, "rangePixelSpacing", ann), float_of(aroot, "azimuthPixelSpacing", ann)))
        mids.append(float_of(aroot, "incidenceAngleMidSwath", ann))
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

