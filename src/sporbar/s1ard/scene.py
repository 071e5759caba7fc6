"""One Sentinel-1 GRD scene onto one tile: calibrate, filter speckle, geocode, flatten.

Order: the image window that the tile needs is read from the measurement GeoTIFF, calibrated
with the product's LUTs (:mod:`sporbar.s1ard.calibration`) and speckle-filtered in radar
geometry; then each map pixel samples it (bilinear) at its image coordinates from the
geolocation grid, displaced by the terrain height where a DEM is given
(:mod:`sporbar.s1ard.terrain`), and is terrain-flattened if configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pystac
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.windows import Window
from scipy import ndimage

from sporbar.errors import InputDataError, MissingInputError
from sporbar.s1ard.calibration import CalibrationType, calibrate, read_luts
from sporbar.s1ard.geolocation import RadarCoordinates, radar_coordinates, read_geolocation
from sporbar.s1ard.speckle import filter_speckle
from sporbar.s1ard.terrain import displaced_pixel, flatten, local_incidence
from sporbar.stac.record import asset_path, check_input_assets

POLARISATIONS = ("vv", "vh")
DEFAULT_LOOKS = 4.4  # IW GRDH, when the raw item does not say


@dataclass(frozen=True)
class S1ArdSettings:
    """The ``s1_ard`` config section as exact types.

    Attributes:
        calibration: backscatter convention without terrain flattening.
        noise_removal: subtract the thermal noise LUTs.
        terrain_flattening: gamma0 from beta0 and the local incidence angle (needs a DEM).
        speckle_filter: ``none`` or ``lee``.
        speckle_window: the filter's box size (odd, pixels).
    """

    calibration: CalibrationType
    noise_removal: bool
    terrain_flattening: bool
    speckle_filter: str
    speckle_window: int

    @classmethod
    def from_config(cls, section: dict[str, object]) -> S1ArdSettings:
        """From the validated ``s1_ard`` section."""
        speckle = section["speckle_filter"]
        assert isinstance(speckle, dict)
        return cls(CalibrationType(str(section["calibration"])), bool(section["noise_removal"]),
                   bool(section["terrain_flattening"]), str(speckle["method"]), int(speckle["window"]))


def _window(rc: RadarCoordinates, pixel: np.ndarray, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    """(first line, stop line, first pixel, stop pixel) of the image the tile needs, clipped to it."""
    ok = np.isfinite(rc.line) & np.isfinite(pixel)
    l0 = max(0, int(np.floor(rc.line[ok].min())) - pad)
    l1 = min(shape[0], int(np.ceil(rc.line[ok].max())) + pad + 1)
    p0 = max(0, int(np.floor(pixel[ok].min())) - pad)
    p1 = min(shape[1], int(np.ceil(pixel[ok].max())) + pad + 1)
    return l0, l1, p0, p1


def _need(item_path: Path, item: pystac.Item, key: str) -> Path:
    if key not in item.assets:
        raise MissingInputError(
            f"{item_path}: raw Sentinel-1 item {item.id} has no {key!r} asset (a metadata-only copy?); "
            "Sentinel-1 ARD needs the measurement, calibration and noise files: fetch the full GRD product"
        )
    return asset_path(item_path, item, key)


def scene_backscatter(
    item_path: Path,
    item: pystac.Item,
    geobox: GeoBox,
    *,
    settings: S1ArdSettings,
    dem: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], float]:
    """Backscatter of one scene on ``geobox`` per polarisation (linear, (y, x) float32, NaN unseen).

    Args:
        item_path: the raw Sentinel-1 item.
        item: it, read.
        geobox: the tile grid.
        settings: the ``s1_ard`` settings.
        dem: terrain heights on ``geobox`` (metres), or None (ellipsoid geocoding, no flattening).

    Returns:
        ({"vv": ..., "vh": ...}, the fraction of the tile the scene sees); empty dict when 0.

    Raises:
        MissingInputError: the item lacks a measurement, calibration or noise file it needs.
        InputDataError: a file differs from its checksum, or the product is not dual VV+VH.
    """
    pols = [p for p in POLARISATIONS if f"annotation-{p}" in item.assets]
    if pols != list(POLARISATIONS):
        raise InputDataError(f"{item_path}: Sentinel-1 ARD needs a VV+VH product; {item.id} has "
                             f"{','.join(p.upper() for p in pols) or 'no'} annotation(s)")
    keys = [f"{kind}-{p}" for p in pols for kind in ("annotation", "calibration")] + list(pols)
    if settings.noise_removal:
        keys += [f"noise-{p}" for p in pols]
    paths = {k: _need(item_path, item, k) for k in keys}
    check_input_assets(item_path, item, keys)
    geo = read_geolocation(paths["annotation-vv"])
    rc = radar_coordinates(geo, geobox)
    if rc.coverage == 0:
        return {}, 0.0
    pixel = displaced_pixel(rc, dem, geo.range_spacing) if dem is not None else rc.pixel
    flat = settings.terrain_flattening and dem is not None
    kind = CalibrationType.beta0 if flat else settings.calibration
    looks = float(item.properties.get("sar:looks_equivalent_number") or DEFAULT_LOOKS)
    l0, l1, p0, p1 = _window(rc, pixel, geo.shape, settings.speckle_window // 2 + 2)
    if l1 <= l0 or p1 <= p0:
        return {}, 0.0
    seen = np.isfinite(rc.line) & np.isfinite(pixel)
    coords = np.stack([np.where(seen, rc.line - l0, -1.0), np.where(seen, pixel - p0, -1.0)])
    local = local_incidence(rc, dem, abs(float(geobox.affine.a))) if flat and dem is not None else None
    out: dict[str, np.ndarray] = {}
    for pol in pols:
        luts = read_luts(paths[f"calibration-{pol}"], paths.get(f"noise-{pol}"), calibration_type=kind,
                         polarisation=pol.upper(), remove_noise=settings.noise_removal)
        try:
            with rasterio.open(paths[pol]) as ds:
                dn = ds.read(1, window=Window(p0, l0, p1 - p0, l1 - l0))
        except rasterio.errors.RasterioIOError as err:
            raise InputDataError(f"{paths[pol]}: measurement GeoTIFF unreadable ({err})") from err
        lin = calibrate(dn, np.arange(l0, l1, dtype=float), np.arange(p0, p1, dtype=float), luts)
        lin = filter_speckle(lin, method=settings.speckle_filter, window=settings.speckle_window, looks=looks)
        value = ndimage.map_coordinates(lin.astype(np.float64), coords, order=1, mode="constant", cval=np.nan)
        value = np.where(seen, value, np.nan).astype(np.float32)
        out[pol] = flatten(value, local) if local is not None else value
    return out, rc.coverage
