"""The metadata files of a demo Sentinel-1 GRD SAFE product, in the layout of real IPF 3.x products.

``manifest.safe`` (platform, mode, orbit, acquisition period, footprint and every data object
with its size and MD5), and per polarisation the product annotation (image size, pixel
spacing, the geolocation grid), the calibration XML (sigmaNought, betaNought, gamma, dn
vectors) and the noise XML (range vectors and one azimuth block), with the element names
and count attributes of the ESA schemas so that xarray-sentinel and sporbar's reader parse
them as they parse real products.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IPF_VERSION = "003.71"


@dataclass(frozen=True)
class ProductNames:
    """The identifiers inside one demo GRD product.

    Attributes:
        scene: product name (without .SAFE).
        start, stop: acquisition times ``YYYY-MM-DDTHH:MM:SS.ffffff``.
        orbit, relative_orbit, datatake: orbit numbers and the data-take id (decimal).
    """

    scene: str
    start: str
    stop: str
    orbit: int
    relative_orbit: int
    datatake: int

    def file_stem(self, pol: str) -> str:
        """The stem of a polarisation's files, e.g. ``s1a-iw-grd-vv-20240529t053012-...-001``."""
        p = self.scene.split("_")
        number = {"vv": "001", "vh": "002"}[pol]
        return f"s1a-iw-grd-{pol}-{p[4].lower()}-{p[5].lower()}-{p[6]}-{p[7].lower()}-{number}"


def _floats(values: np.ndarray, fmt: str = "{:.6e}") -> str:
    return " ".join(fmt.format(float(v)) for v in values)


def _ints(values: Sequence[int] | np.ndarray) -> str:
    return " ".join(str(int(v)) for v in values)


def _header(n: ProductNames, pol: str) -> str:
    return (f"<adsHeader><missionId>S1A</missionId><productType>GRD</productType>"
            f"<polarisation>{pol.upper()}</polarisation><mode>IW</mode><swath>IW</swath>"
            f"<startTime>{n.start}</startTime><stopTime>{n.stop}</stopTime>"
            f"<absoluteOrbitNumber>{n.orbit}</absoluteOrbitNumber>"
            f"<missionDataTakeId>{n.datatake}</missionDataTakeId>"
            f"<imageNumber>{'001' if pol == 'vv' else '002'}</imageNumber></adsHeader>")


def annotation_xml(
    n: ProductNames, pol: str, *, shape: tuple[int, int], spacing: float, mid_incidence: float,
    grid: Sequence[tuple[int, int, float, float, float]],
) -> bytes:
    """The product annotation: image information and the geolocation grid.

    Args:
        n: the product's identifiers.
        pol: ``"vv"`` or ``"vh"``.
        shape: (lines, pixels) of the image.
        spacing: ground-range and azimuth pixel spacing, metres.
        mid_incidence: incidence angle at mid swath, degrees.
        grid: (line, pixel, lon, lat, incidence) of each geolocation grid point; height 0.
    """
    points = "".join(
        f"<geolocationGridPoint><azimuthTime>{n.start}</azimuthTime><slantRangeTime>5.0e-03</slantRangeTime>"
        f"<line>{line}</line><pixel>{pixel}</pixel><latitude>{lat:.9f}</latitude>"
        f"<longitude>{lon:.9f}</longitude><height>0.0</height><incidenceAngle>{inc:.9f}</incidenceAngle>"
        f"<elevationAngle>{inc - 3.5:.9f}</elevationAngle></geolocationGridPoint>"
        for line, pixel, lon, lat, inc in grid
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<product>' + _header(n, pol)
        + "<imageAnnotation><imageInformation>"
        f"<productFirstLineUtcTime>{n.start}</productFirstLineUtcTime>"
        f"<productLastLineUtcTime>{n.stop}</productLastLineUtcTime>"
        f"<rangePixelSpacing>{spacing:.6e}</rangePixelSpacing><azimuthPixelSpacing>{spacing:.6e}</azimuthPixelSpacing>"
        f"<numberOfSamples>{shape[1]}</numberOfSamples><numberOfLines>{shape[0]}</numberOfLines>"
        f"<incidenceAngleMidSwath>{mid_incidence:.9f}</incidenceAngleMidSwath>"
        "</imageInformation></imageAnnotation>"
        f'<geolocationGrid><geolocationGridPointList count="{len(grid)}">{points}'
        "</geolocationGridPointList></geolocationGrid></product>\n"
    ).encode()


def calibration_xml(
    n: ProductNames, pol: str, lines: Sequence[int], pixels: np.ndarray, luts: dict[str, np.ndarray],
) -> bytes:
    """The calibration XML: one vector per line of ``lines``, LUT values per pixel of ``pixels``.

    Args:
        n: the product's identifiers.
        pol: ``"vv"`` or ``"vh"``.
        lines: the image lines of the vectors.
        pixels: the image pixels of each vector.
        luts: ``sigmaNought``, ``betaNought``, ``gamma``, ``dn``: values at ``pixels`` (same on every line).
    """
    vectors = "".join(
        f"<calibrationVector><azimuthTime>{n.start}</azimuthTime><line>{line}</line>"
        f'<pixel count="{len(pixels)}">{_ints(pixels)}</pixel>'
        + "".join(f'<{k} count="{len(pixels)}">{_floats(luts[k])}</{k}>'
                  for k in ("sigmaNought", "betaNought", "gamma", "dn"))
        + "</calibrationVector>"
        for line in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<calibration>' + _header(n, pol)
        + "<calibrationInformation><absoluteCalibrationConstant>1.000000e+00</absoluteCalibrationConstant>"
        f'</calibrationInformation><calibrationVectorList count="{len(lines)}">{vectors}'
        "</calibrationVectorList></calibration>\n"
    ).encode()


def noise_xml(
    n: ProductNames, pol: str, *, lines: Sequence[int], pixels: np.ndarray, range_lut: np.ndarray,
    shape: tuple[int, int], azimuth_lines: np.ndarray, azimuth_lut: np.ndarray,
) -> bytes:
    """The noise XML: range vectors (the same ``range_lut`` on every line) and one azimuth block."""
    vectors = "".join(
        f"<noiseRangeVector><azimuthTime>{n.start}</azimuthTime><line>{line}</line>"
        f'<pixel count="{len(pixels)}">{_ints(pixels)}</pixel>'
        f'<noiseRangeLut count="{len(pixels)}">{_floats(range_lut)}</noiseRangeLut></noiseRangeVector>'
        for line in lines
    )
    block = (
        "<noiseAzimuthVector><swath>IW1</swath><firstAzimuthLine>0</firstAzimuthLine>"
        f"<firstRangeSample>0</firstRangeSample><lastAzimuthLine>{shape[0] - 1}</lastAzimuthLine>"
        f"<lastRangeSample>{shape[1] - 1}</lastRangeSample>"
        f'<line count="{len(azimuth_lines)}">{_ints(azimuth_lines)}</line>'
        f'<noiseAzimuthLut count="{len(azimuth_lut)}">{_floats(azimuth_lut)}</noiseAzimuthLut></noiseAzimuthVector>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<noise>' + _header(n, pol)
        + f'<noiseRangeVectorList count="{len(lines)}">{vectors}</noiseRangeVectorList>'
        + f'<noiseAzimuthVectorList count="1">{block}</noiseAzimuthVectorList></noise>\n'
    ).encode()


# (folder, repID, object id prefix, mime type) of each file kind
_OBJECTS = {
    "annotation": ("annotation", "s1Level1ProductSchema", "product", "text/xml"),
    "noise": ("annotation/calibration", "s1Level1NoiseSchema", "noise", "text/xml"),
    "calibration": ("annotation/calibration", "s1Level1CalibrationSchema", "calibration", "text/xml"),
    "measurement": ("measurement", "s1Level1MeasurementSchema", "", "application/octet-stream"),
}


def relative_path(kind: str, stem: str) -> str:
    """The path of a file of ``kind`` (annotation, noise, calibration, measurement) inside the SAFE."""
    folder = _OBJECTS[kind][0]
    if kind in ("noise", "calibration"):
        return f"{folder}/{kind}-{stem}.xml"
    return f"{folder}/{stem}.{'tiff' if kind == 'measurement' else 'xml'}"


def manifest_xml(safe: Path, n: ProductNames, *, footprint: Sequence[tuple[float, float]]) -> bytes:
    """``manifest.safe``: the metadata the readers use and every file below ``safe`` with size and MD5.

    Args:
        safe: the folder holding the product's files (already written).
        n: the product's identifiers.
        footprint: (lon, lat) corners.
    """
    objects = []
    for pol in ("vh", "vv"):
        stem = n.file_stem(pol)
        for kind, (_, rep, prefix, mime) in _OBJECTS.items():
            rel = relative_path(kind, stem)
            data = (safe / rel).read_bytes()
            oid = f"{prefix}{stem.replace('-', '')}"
            objects.append(
                f'<dataObject ID="{oid}" repID="{rep}"><byteStream mimeType="{mime}" size="{len(data)}">'
                f'<fileLocation locatorType="URL" href="./{rel}"/>'
                f'<checksum checksumName="MD5">{hashlib.md5(data).hexdigest()}</checksum>'  # noqa: S324 (SAFE format)
                "</byteStream></dataObject>"
            )
    coords = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in footprint)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:safe="http://www.esa.int/safe/sentinel-1.0" xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" '
        'xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" '
        'version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp"><metadataSection>'
        '<metadataObject ID="processing" classification="PROVENANCE" category="PDI"><metadataWrap><xmlData>'
        '<safe:processing name="GRD Post Processing"><safe:facility name="sporbar demo">'
        f'<safe:software name="Sentinel-1 IPF" version="{IPF_VERSION}"/></safe:facility></safe:processing>'
        "</xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="platform" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>'
        "<safe:platform><safe:nssdcIdentifier>2014-016A</safe:nssdcIdentifier>"
        "<safe:familyName>SENTINEL-1</safe:familyName><safe:number>A</safe:number>"
        '<safe:instrument><safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>'
        "<safe:extension><s1sarl1:instrumentMode><s1sarl1:mode>IW</s1sarl1:mode></s1sarl1:instrumentMode>"
        "</safe:extension></safe:instrument></safe:platform></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD">'
        "<metadataWrap><xmlData><safe:orbitReference>"
        f'<safe:orbitNumber type="start">{n.orbit}</safe:orbitNumber>'
        f'<safe:orbitNumber type="stop">{n.orbit}</safe:orbitNumber>'
        f'<safe:relativeOrbitNumber type="start">{n.relative_orbit}</safe:relativeOrbitNumber>'
        f'<safe:relativeOrbitNumber type="stop">{n.relative_orbit}</safe:relativeOrbitNumber>'
        "<safe:extension><s1:orbitProperties><s1:pass>DESCENDING</s1:pass></s1:orbitProperties></safe:extension>"
        "</safe:orbitReference></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="generalProductInformation" classification="DESCRIPTION" category="DMD">'
        "<metadataWrap><xmlData><s1sarl1:standAloneProductInformation>"
        f"<s1sarl1:missionDataTakeID>{n.datatake}</s1sarl1:missionDataTakeID>"
        "<s1sarl1:transmitterReceiverPolarisation>VV</s1sarl1:transmitterReceiverPolarisation>"
        "<s1sarl1:transmitterReceiverPolarisation>VH</s1sarl1:transmitterReceiverPolarisation>"
        "<s1sarl1:productType>GRD</s1sarl1:productType>"
        "</s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>'
        f"<safe:acquisitionPeriod><safe:startTime>{n.start}</safe:startTime><safe:stopTime>{n.stop}</safe:stopTime>"
        "</safe:acquisitionPeriod></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="measurementFrameSet" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>'
        f"<safe:frameSet><safe:frame><safe:footPrint><gml:coordinates>{coords}</gml:coordinates>"
        "</safe:footPrint></safe:frame></safe:frameSet></xmlData></metadataWrap></metadataObject>"
        "</metadataSection><dataObjectSection>" + "".join(objects) + "</dataObjectSection></xfdu:XFDU>\n"
    ).encode()
