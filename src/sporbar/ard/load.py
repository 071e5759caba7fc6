"""Load raw Sentinel-2 items onto a tile grid as a lazy, dask-backed cube.

``odc.stac.load`` reads the items' band assets onto the tile's GeoBox (bilinear for
reflectance, nearest for SCL) through :class:`sporbar.ard.warp.BlockWarpDriver`, whose
pixels do not depend on the chunking. By default one chunk spans the tile, so each band
file is decoded once per tile. odc-stac does not apply ``raster:bands`` scale and offset;
:func:`reflectance` does. Nothing is read until a writer computes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox

from sporbar.ard.warp import BlockWarpDriver
from sporbar.errors import InputDataError
from sporbar.stac.record import asset_path, read_item

log = logging.getLogger(__name__)

SCL = "SCL"


@dataclass(frozen=True)
class Scene:
    """A raw Sentinel-2 item and where it is stored.

    Attributes:
        item_path: the item JSON file.
        item: the parsed item.
    """

    item_path: Path
    item: pystac.Item

    @property
    def id(self) -> str:
        """The scene (item) id."""
        return self.item.id

    @property
    def datetime(self) -> datetime:
        """Sensing time (UTC)."""
        assert self.item.datetime is not None
        return self.item.datetime

    @property
    def cloud_cover(self) -> float | None:
        """``eo:cloud_cover`` in percent, if recorded."""
        v = self.item.properties.get("eo:cloud_cover")
        return None if v is None else float(v)

    def band_path(self, band: str) -> Path:
        """Local file of ``band``.

        Raises:
            InputDataError: the item has no such asset (names the item file, band and bands found).
        """
        if band not in self.item.assets:
            found = ",".join(sorted(k for k in self.item.assets if k.startswith("B") or k == SCL))
            raise InputDataError(
                f"{self.item_path}: band {band!r} missing (found {found}); "
                "re-run `sporbar fetch s2` for this scene"
            )
        return asset_path(self.item_path, self.item, band)

    def scale_offset(self, band: str) -> tuple[float, float]:
        """(scale, offset) of ``band`` from ``raster:bands`` (1, 0 if absent)."""
        rb = (self.item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
        return float(rb.get("scale", 1.0)), float(rb.get("offset", 0.0))


def read_scenes(paths: Sequence[Path]) -> list[Scene]:
    """Read raw items, sorted by sensing time then id.

    Raises:
        MissingInputError: an item file does not exist.
    """
    scenes = [Scene(Path(p), read_item(Path(p))) for p in paths]
    return sorted(scenes, key=lambda s: (s.datetime, s.id))


def _times(scenes: Sequence[Scene]) -> np.ndarray:
    return np.array([np.datetime64(s.datetime.replace(tzinfo=None), "ns") for s in scenes])


def load_dn(
    scenes: Sequence[Scene], bands: Sequence[str], *, geobox: GeoBox, chunks: int | None = None
) -> xr.Dataset:
    """Digital numbers of ``bands`` of every scene on ``geobox``, as stored (lazy).

    Args:
        scenes: raw items, in time order (one time step each, also at equal times).
        bands: asset keys, e.g. ``["B02", "B08", "SCL"]``; SCL is resampled nearest,
            the others bilinearly (20 m bands onto the 10 m grid).
        geobox: the tile grid (e.g. EPSG:25833, 10 m).
        chunks: chunk edge in pixels; None: one chunk per tile, so each band file is
            decoded once. The values do not depend on it.

    Returns:
        Dataset of (time, y, x) variables named by band, in the files' dtype, with the
        ``raster:bands`` nodata (0 for Sentinel-2) where there is no data.

    Raises:
        InputDataError: a scene lacks one of ``bands`` (names the item file and band).
    """
    import odc.stac

    for s in scenes:
        for b in bands:
            s.band_path(b)  # the error that names the item file and the band
    ny, nx = geobox.shape.yx
    ds = odc.stac.load(
        [s.item for s in scenes],
        bands=list(bands),
        geobox=geobox,
        groupby="id",  # one time step per item, in the order given
        resampling={SCL: "nearest", "*": "bilinear"},
        chunks={"y": chunks or ny, "x": chunks or nx},
        driver=BlockWarpDriver(),
    )
    ds = ds.drop_vars([c for c in ds.coords if c not in ("time", "y", "x")])
    ds.attrs["crs"] = str(geobox.crs)
    return ds.assign_coords(time=_times(scenes))


def reflectance(dn: xr.Dataset, scenes: Sequence[Scene], bands: Sequence[str]) -> xr.DataArray:
    """Surface reflectance from :func:`load_dn`'s digital numbers (lazy).

    Applies each scene's ``raster:bands`` scale and offset (they change with the
    processing baseline); NaN where the digital number is the nodata value.

    Returns:
        float32 DataArray (time, band, y, x).
    """
    layers = []
    for b in bands:
        so = np.array([s.scale_offset(b) for s in scenes], np.float32).reshape(len(scenes), 2)
        scale = xr.DataArray(so[:, 0], dims="time")
        offset = xr.DataArray(so[:, 1], dims="time")
        v = dn[b]
        refl = v.astype(np.float32) * scale + offset
        layers.append(refl.where(v != v.attrs.get("nodata", 0)).astype(np.float32))
    out = xr.concat(layers, dim="band", coords="minimal", compat="override", join="override")
    out = out.assign_coords(band=list(bands)).transpose("time", "band", "y", "x")
    out.name = "reflectance"
    out.attrs = {"crs": dn.attrs["crs"], "nodata": np.nan}
    return out


def load(
    scenes: Sequence[Scene], bands: Sequence[str], *, geobox: GeoBox, chunks: int | None = None
) -> xr.DataArray:
    """Surface reflectance of ``bands`` of every scene on ``geobox`` (lazy).

    Args:
        scenes: raw items, in time order.
        bands: band names (assets), e.g. ``["B02", "B04", "B08"]``.
        geobox: the tile grid (e.g. EPSG:25833, 10 m).
        chunks: chunk edge in pixels (None: the tile); the values do not depend on it.

    Returns:
        float32 DataArray (time, band, y, x), reflectance (0..1), NaN where no data.

    Raises:
        InputDataError: a scene lacks one of ``bands`` (names the item file and band).
    """
    return reflectance(load_dn(scenes, bands, geobox=geobox, chunks=chunks), scenes, bands)
