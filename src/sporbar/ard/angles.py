"""Sun and view angles of a Sentinel-2 granule, from its ``MTD_TL.xml`` angle grids, on a tile grid.

The granule metadata holds the sun zenith and azimuth, and per band and detector the view
(incidence) zenith and azimuth, on a grid of nodes every 5 km (``COL_STEP``/``ROW_STEP``) whose
first node is the granule's upper-left corner (``Geoposition`` ULX/ULY). The detectors of one
band each fill their own stripe (NaN elsewhere); :func:`read_angle_grids` merges them into one
view grid (the mean of the detectors that see a node, as unit vectors for the azimuth) and
averages the bands, so one view geometry serves every band (their view zenith differs by
< 0.2 degrees). :func:`tile_geometry` interpolates bilinearly onto coarse nodes of the tile
grid (every :data:`NODE_STEP` pixels, transformed into the granule CRS) and returns the
smooth terms of the corrections there; :func:`upsample` brings them to every pixel with two
small matrix products, so no trigonometry runs per pixel.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from odc.geo.geobox import GeoBox

from sporbar.errors import InputDataError, MissingInputError

NODE_STEP = 32  # tile pixels between the nodes the angles are computed at (320 m at 10 m)


@dataclass(frozen=True)
class AngleGrids:
    """The angle grids of one granule (degrees), nodes ``step`` metres apart from (ulx, uly).

    Attributes:
        path: the ``MTD_TL.xml`` read.
        crs: the granule CRS, e.g. ``"EPSG:32633"``.
        ulx, uly: the first node (the granule's upper-left corner), metres.
        step: node spacing (x and y), metres.
        sun_zenith, sun_azimuth: (rows, cols) float64.
        view_zenith, view_azimuth: (rows, cols) float64, detectors merged and bands averaged;
            NaN where no detector sees the node.
    """

    path: Path
    crs: str
    ulx: float
    uly: float
    step: float
    sun_zenith: np.ndarray
    sun_azimuth: np.ndarray
    view_zenith: np.ndarray
    view_azimuth: np.ndarray


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(parent: ET.Element, name: str) -> ET.Element | None:
    for el in parent.iter():
        if _local(el.tag) == name:
            return el
    return None


def _values(grid: ET.Element, which: str, path: Path) -> tuple[np.ndarray, float]:
    """(values, step) of the ``Zenith`` or ``Azimuth`` child of an angle grid element."""
    node = next((c for c in grid if _local(c.tag) == which), None)
    values = None if node is None else _find(node, "Values_List")
    col_step = None if node is None else _find(node, "COL_STEP")
    if node is None or values is None or col_step is None or col_step.text is None:
        raise InputDataError(f"{path}: angle grid {_local(grid.tag)} has no {which} values")
    rows = [[float(v) for v in (r.text or "").split()] for r in values if _local(r.tag) == "VALUES"]
    if not rows or len({len(r) for r in rows}) != 1:
        raise InputDataError(f"{path}: {_local(grid.tag)} {which} rows are empty or of unequal length")
    return np.array(rows, np.float64), float(col_step.text)


def _unit_mean(azimuth_deg: np.ndarray, axis: int) -> np.ndarray:
    """Mean direction (degrees, 0..360) along ``axis``, ignoring NaN; NaN where all are NaN."""
    a = np.radians(azimuth_deg)
    s, c = np.nanmean(np.sin(a), axis=axis), np.nanmean(np.cos(a), axis=axis)
    out: np.ndarray = np.degrees(np.arctan2(s, c)) % 360.0
    return out


def read_angle_grids(path: Path) -> AngleGrids:
    """Read the sun and view angle grids of a granule's ``MTD_TL.xml``.

    Args:
        path: the granule metadata (processing baselines 02.xx to 05.xx share the layout).

    Returns:
        The grids; view angles merged over detectors and averaged over bands.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: the file is not XML, or has no sun or no view angle grids, or no
            10 m ``Geoposition``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: granule metadata (MTD_TL.xml) not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise InputDataError(f"{path}: not valid XML ({err})") from None
    sun = _find(root, "Sun_Angles_Grid")
    if sun is None:
        raise InputDataError(
            f"{path}: no Sun_Angles_Grid in Tile_Angles; the terrain and BRDF corrections need the "
            "granule's angle grids (set ard.terrain.method and ard.brdf.method to none to go without)"
        )
    sun_zen, step = _values(sun, "Zenith", path)
    sun_az, _ = _values(sun, "Azimuth", path)
    zeniths, azimuths = [], []
    bands: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for el in root.iter():
        if _local(el.tag) == "Viewing_Incidence_Angles_Grids":
            z, _ = _values(el, "Zenith", path)
            a, _ = _values(el, "Azimuth", path)
            if z.shape != sun_zen.shape or a.shape != sun_zen.shape:
                raise InputDataError(f"{path}: view angle grid of band {el.get('bandId')} is "
                                     f"{z.shape}, the sun grid {sun_zen.shape}")
            bands.setdefault(el.get("bandId", "?"), []).append((z, a))
    if not bands:
        raise InputDataError(f"{path}: no Viewing_Incidence_Angles_Grids in Tile_Angles")
    with warnings.catch_warnings():  # a node no detector sees is an empty slice: NaN, as wanted
        warnings.simplefilter("ignore", RuntimeWarning)
        for detectors in bands.values():  # per band: the mean over the detectors that see each node
            zeniths.append(np.nanmean(np.stack([d[0] for d in detectors]), axis=0))
            azimuths.append(_unit_mean(np.stack([d[1] for d in detectors]), axis=0))
        view_zen = np.nanmean(np.stack(zeniths), axis=0)
        view_az = _unit_mean(np.stack(azimuths), axis=0)
    crs = _find(root, "HORIZONTAL_CS_CODE")
    geo = next((g for g in root.iter() if _local(g.tag) == "Geoposition" and g.get("resolution") == "10"), None)
    ulx = None if geo is None else _find(geo, "ULX")
    uly = None if geo is None else _find(geo, "ULY")
    if crs is None or not crs.text or ulx is None or uly is None:
        raise InputDataError(f"{path}: no HORIZONTAL_CS_CODE or 10 m Geoposition (ULX/ULY)")
    return AngleGrids(path, crs.text.strip(), float(ulx.text or "nan"), float(uly.text or "nan"), step,
                      sun_zen, sun_az, view_zen, view_az)


def _fill_nan(grid: np.ndarray) -> np.ndarray:
    """NaN nodes (outside every detector) set to the nearest valid node, so edges interpolate."""
    from scipy import ndimage

    nan = np.isnan(grid)
    if not nan.any():
        return grid
    if nan.all():
        return grid
    _, (ri, ci) = ndimage.distance_transform_edt(nan, return_indices=True)
    filled: np.ndarray = grid[ri, ci]
    return filled


def interpolate(grids: AngleGrids, values: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of one angle grid at granule-CRS points ``x``, ``y`` (metres).

    Points beyond the last node are extrapolated linearly from the edge cells (a tile can reach
    past a granule's last node by less than one step). Azimuths must be unwrapped by the caller.
    """
    v = _fill_nan(values)
    fr = (grids.uly - y) / grids.step
    fc = (x - grids.ulx) / grids.step
    r0 = np.clip(np.floor(fr).astype(np.intp), 0, v.shape[0] - 2)
    c0 = np.clip(np.floor(fc).astype(np.intp), 0, v.shape[1] - 2)
    tr, tc = fr - r0, fc - c0
    top = v[r0, c0] * (1 - tc) + v[r0, c0 + 1] * tc
    bottom = v[r0 + 1, c0] * (1 - tc) + v[r0 + 1, c0 + 1] * tc
    out: np.ndarray = top * (1 - tr) + bottom * tr
    return out


def interpolate_azimuth(grids: AngleGrids, values: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`interpolate` of an azimuth grid (degrees) through its sine and cosine, so 359 and 1 give 0."""
    a = np.radians(values)
    s, c = interpolate(grids, np.sin(a), x, y), interpolate(grids, np.cos(a), x, y)
    out: np.ndarray = np.degrees(np.arctan2(s, c)) % 360.0
    return out


def node_positions(n: int, step: int = NODE_STEP) -> np.ndarray:
    """Pixel indices of the nodes along an axis of ``n`` pixels: every ``step``, and the last."""
    idx = np.arange(0, n, step)
    if idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    return idx


def upsample(coarse: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear from values at node (rows x cols) pixel positions to every pixel of ``shape``, float32.

    Two matrix products with the (sparse in effect) linear interpolation weights; the leading
    axes of ``coarse`` are kept.
    """
    wy = _weights(rows, shape[0])
    wx = _weights(cols, shape[1])
    out: np.ndarray = (wy @ coarse @ wx.T).astype(np.float32)
    return out


def _weights(nodes: np.ndarray, n: int) -> np.ndarray:
    """(n, len(nodes)) weights of linear interpolation at pixels 0..n-1 between ``nodes``."""
    w = np.zeros((n, len(nodes)), np.float64)
    if len(nodes) == 1:
        w[:, 0] = 1.0
        return w
    p = np.arange(n)
    k = np.clip(np.searchsorted(nodes, p, side="right") - 1, 0, len(nodes) - 2)
    t = (p - nodes[k]) / (nodes[k + 1] - nodes[k])
    w[p, k] = 1 - t
    w[p, k + 1] = t
    return w


@dataclass(frozen=True)
class NodeAngles:
    """Sun and view angles (degrees) at the nodes of a tile (:func:`node_positions` rows x cols)."""

    rows: np.ndarray
    cols: np.ndarray
    sun_zenith: np.ndarray
    sun_azimuth: np.ndarray
    view_zenith: np.ndarray
    view_azimuth: np.ndarray


def angles_at_nodes(grids: AngleGrids, geobox: GeoBox, step: int = NODE_STEP) -> NodeAngles:
    """The granule's angles at the node pixels of ``geobox`` (pixel centres, any CRS).

    Raises:
        InputDataError: no view angle covers the tile (every node NaN).
    """
    from pyproj import Transformer

    ny, nx = geobox.shape.yx
    rows, cols = node_positions(ny, step), node_positions(nx, step)
    cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
    a = geobox.affine
    gx, gy = a.c + a.a * cc + a.b * rr, a.f + a.d * cc + a.e * rr
    t = Transformer.from_crs(str(geobox.crs), grids.crs, always_xy=True)
    x, y = t.transform(gx, gy)
    if np.isnan(grids.view_zenith).all():
        raise InputDataError(f"{grids.path}: every view angle node is NaN")
    return NodeAngles(
        rows, cols,
        interpolate(grids, grids.sun_zenith, x, y),
        interpolate_azimuth(grids, grids.sun_azimuth, x, y),
        interpolate(grids, grids.view_zenith, x, y),
        interpolate_azimuth(grids, grids.view_azimuth, x, y),
    )
