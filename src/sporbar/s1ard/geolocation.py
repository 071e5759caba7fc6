"""The geolocation grid of a GRD product annotation, and its inverse on a tile grid.

The product annotation's ``geolocationGrid`` ties image (line, pixel) to WGS84 longitude,
latitude, height and incidence angle at a coarse lattice of points (read with
xarray-sentinel's schema-aware parser). :func:`radar_coordinates` inverts it at the centres
of a tile's pixels: the points are projected to the tile CRS, triangulated (Delaunay), and
line, pixel, incidence angle and grid height are interpolated linearly in each triangle.
Pixels outside the grid's hull are NaN: the product does not see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.errors import InputDataError


@dataclass(frozen=True)
class Geolocation:
    """What the annotation says about the image geometry.

    Attributes:
        path: the annotation XML.
        shape: (lines, pixels) of the image.
        range_spacing: ground-range pixel spacing, metres.
        points: (n, 6) float64: line, pixel, longitude, latitude, height (m), incidence angle (degrees).
    """

    path: Path
    shape: tuple[int, int]
    range_spacing: float
    points: np.ndarray


def read_geolocation(annotation: Path) -> Geolocation:
    """Read the image size, range pixel spacing and geolocation grid of a product annotation.

    Raises:
        InputDataError: the file is not a product annotation or lacks a field (names it).
    """
    from xml.etree.ElementTree import ParseError

    from xarray_sentinel import esa_safe

    path = Path(annotation)
    try:
        info = esa_safe.parse_tag(path, "//imageAnnotation/imageInformation", "annotation")
        grid = esa_safe.parse_tag_as_list(path, "//geolocationGridPoint", "annotation")
        shape = (int(info["numberOfLines"]), int(info["numberOfSamples"]))
        spacing = float(info["rangePixelSpacing"])
        points = np.array([[g["line"], g["pixel"], g["longitude"], g["latitude"], g["height"], g["incidenceAngle"]]
                           for g in grid], dtype=np.float64)
    except (KeyError, TypeError, ValueError, ParseError) as err:
        raise InputDataError(f"{path}: not a Sentinel-1 product annotation with imageInformation and a "
                             f"geolocationGrid ({type(err).__name__}: {err})") from err
    if len(points) < 3:
        raise InputDataError(f"{path}: geolocationGrid has {len(points)} points; at least 3 are needed")
    return Geolocation(path, shape, spacing, points)


@dataclass(frozen=True)
class RadarCoordinates:
    """Image coordinates of every pixel centre of a tile, each (y, x) float64, NaN where not seen.

    Attributes:
        line, pixel: fractional image coordinates on the ellipsoid (grid heights).
        incidence: ellipsoid incidence angle, degrees.
        height: the geolocation grid's height there, metres.
        range_x, range_y: unit vector (tile CRS) of increasing pixel, i.e. away from the sensor.
    """

    line: np.ndarray
    pixel: np.ndarray
    incidence: np.ndarray
    height: np.ndarray
    range_x: float
    range_y: float

    @property
    def coverage(self) -> float:
        """Fraction of the tile's pixels the product sees."""
        return float(np.isfinite(self.line).mean())


def radar_coordinates(geo: Geolocation, geobox: GeoBox) -> RadarCoordinates:
    """Invert the geolocation grid at the pixel centres of ``geobox``."""
    from pyproj import Transformer
    from scipy.interpolate import LinearNDInterpolator

    to_grid = Transformer.from_crs("EPSG:4326", str(geobox.crs), always_xy=True)
    gx, gy = to_grid.transform(geo.points[:, 2], geo.points[:, 3])
    values = geo.points[:, [0, 1, 5, 4]]  # line, pixel, incidence, height
    interp = LinearNDInterpolator(np.column_stack([gx, gy]), values)
    ny, nx = geobox.shape.yx
    a = geobox.affine
    xs = a.c + (np.arange(nx) + 0.5) * a.a
    ys = a.f + (np.arange(ny) + 0.5) * a.e
    xx, yy = np.meshgrid(xs, ys)
    out = interp(xx, yy)
    # direction of increasing pixel in map coordinates: least squares over the grid points
    design = np.column_stack([gx - gx.mean(), gy - gy.mean()])
    grad, *_ = np.linalg.lstsq(design, geo.points[:, 1] - geo.points[:, 1].mean(), rcond=None)
    norm = float(np.hypot(*grad)) or 1.0
    return RadarCoordinates(out[..., 0], out[..., 1], out[..., 2], out[..., 3],
                            float(grad[0] / norm), float(grad[1] / norm))
