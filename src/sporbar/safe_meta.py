"""What sporbar knows about one SAFE product: frozen values the readers return.

:func:`sporbar.fetch.safe.read_safe` (Sentinel-2) and :func:`sporbar.fetch.s1_safe.read_s1_safe`
(Sentinel-1 GRD) parse a product folder into :class:`SceneMeta` and :class:`S1SceneMeta`; the
raw item builders in :mod:`sporbar.stac.items` take these values, never the folder. A low
module: it imports only :mod:`sporbar.bands` and :mod:`sporbar.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sporbar.bands import NATIVE_RESOLUTION
from sporbar.errors import InputDataError

RESOLUTION_NAMES = {"F": "full", "H": "high", "M": "medium"}


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
        platform: ``"sentinel-2a"``, ``"sentinel-2b"``, ``"sentinel-2c"`` or ``"sentinel-2d"``.
        sensing_datetime: ``PRODUCT_START_TIME``, UTC: the item datetime stactools-sentinel2 sets.
        processing_baseline: e.g. ``"05.10"``.
        mgrs_tile: e.g. ``"32VNR"``.
        epsg: EPSG code of the granule CRS (UTM).
        grids: one :class:`ResolutionGrid` per resolution, sorted by resolution.
        band_files: image files, sorted by (band, resolution).
        quantification: DN per unit reflectance (10000).
        offsets: (band, additive DN offset) pairs; reflectance = (DN + offset) / quantification.
        cloud_cover: the granule's ``CLOUDY_PIXEL_PERCENTAGE`` (``eo:cloud_cover``), percent.
        sun_zenith: mean sun zenith angle, degrees.
        sun_azimuth: mean sun azimuth angle, degrees.
        footprint: the product metadata's footprint ring as (lon, lat) pairs (WGS84), as written
            (not split at the antimeridian: see ``geometry``).
        safe_dir: the product folder.
        metadata_path: the product metadata XML.
        granule_metadata_path: the granule's ``MTD_TL.xml``.
        manifest_path: ``manifest.safe``.
        geometry: GeoJSON footprint from stactools (a MultiPolygon where it crosses the
            antimeridian).
        bbox: (west, south, east, north) of ``geometry`` (west > east across the antimeridian).
        stac: the item stactools-sentinel2 made, as a dict, without its clock-based ``created``.
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
    geometry: dict[str, Any] = field(compare=False)
    bbox: tuple[float, ...]
    stac: dict[str, Any] = field(compare=False, repr=False)

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


@dataclass(frozen=True)
class NominalQuality:
    """Nominal resolution (m), looks and equivalent number of looks of a GRD product class."""

    resolution_range: float
    resolution_azimuth: float
    looks_range: int
    looks_azimuth: int
    looks_equivalent_number: float


# (mode, resolution class) -> nominal values, Sentinel-1 Product Definition (S1-RS-MDA-52-7440)
# table 5-1, as stactools-sentinel1 uses them too.
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
