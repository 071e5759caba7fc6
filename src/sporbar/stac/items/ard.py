"""The STAC item of one ARD tile (collection ``sentinel-2-ard``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import pystac
from odc.geo.geobox import GeoBox
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension

from sporbar.bands import SPECTRAL_INDICES, eo_band
from sporbar.stac import extensions as ext

#: scenes per period id (0 where a period holds no scene: its composite is all NaN)
PERIOD_SCENES = ext.SPORBAR_PREFIX + "period_scenes"

_INDEX_TITLES = {name: title for name, (_, _, title) in SPECTRAL_INDICES.items()}


def _season_title(name: str) -> str:
    if name == "clear_count":
        return "Number of clear observations in the season"
    band, q = name.rsplit("_p", 1)
    return f"{q}th percentile over the season of {band}"


def _eo_band(name: str) -> Band:
    if name in _INDEX_TITLES:
        return Band.create(name=name, description=_INDEX_TITLES[name])
    return eo_band(name)


class PeriodLike(Protocol):
    """A compositing period, dates inclusive (``sporbar.ard.composite.Period``)."""

    @property
    def id(self) -> str: ...  # noqa: D102

    @property
    def start(self) -> date: ...  # noqa: D102

    @property
    def end(self) -> date: ...  # noqa: D102


# the quality asset's bits (sporbar.ard.mask): bit, name, description
QUALITY_BITS = (
    (0, "nodata", "No data (SCL 0, or a mask band without data)"),
    (1, "cloud", "Cloud (per ard.mask.method: SCL 8, 9, 10 of ard.mask_classes, dilated by ard.mask.dilate_px, "
                 "and/or the s2cloudless mask)"),
    (2, "cloud_shadow", "Cloud shadow (SCL 3 of ard.mask_classes and/or the geometric shadow of the cloud), "
                        "dilated by ard.mask.dilate_px"),
    (3, "snow", "Snow or ice (SCL 11, or NDSI without SCL): kept out of composites, counted"),
    (4, "terrain_shadow", "Terrain shadow: cos(local illumination) <= 0 from the DEM and the sun angles"),
)


def _quality_asset(item: pystac.Item, key: str, path: Path, res: float) -> None:
    """The per-pixel quality asset: one uint8 band of bit flags per scene (classification bitfields)."""
    from pystac.extensions.classification import Bitfield, Classification, ClassificationExtension

    a = pystac.Asset(
        href=str(path),
        media_type=ext.COG,
        roles=["data", "quality"],
        title="Per-pixel quality flags, one band per scene (bits: nodata, cloud, cloud shadow, snow, "
              "terrain shadow)",
    )
    item.add_asset(key, a)
    ClassificationExtension.ext(a, add_if_missing=True).bitfields = [
        Bitfield.create(offset=bit, length=1, name=name, description=text, classes=[
            Classification.create(value=0, name=f"no_{name}", description=f"not {name.replace('_', ' ')}"),
            Classification.create(value=1, name=name, description=text),
        ])
        for bit, name, text in QUALITY_BITS
    ]
    RasterExtension.ext(a, add_if_missing=True).bands = [
        RasterBand.create(data_type=DataType.UINT8, spatial_resolution=res)
    ]


def ard_item(
    tile: str,
    geobox: GeoBox,
    assets: Mapping[str, Path],
    *,
    bands: Sequence[str],
    cube_bands: Sequence[str],
    start: datetime,
    end: datetime,
    periods: Sequence[PeriodLike],
    period_scenes: Mapping[str, int],
    season_bands: Sequence[str] = (),
) -> pystac.Item:
    """Build the ARD item of ``tile`` (asset hrefs as given; made relative when recorded).

    The item records the scenes per period in ``sporbar:period_scenes``, so a period that
    holds no scene (an all-NaN composite) is stated, not only visible in the pixels.

    Args:
        tile: grid tile id.
        geobox: the tile grid (EPSG:25833).
        assets: asset key -> file (``composite-<p>``, ``clear-<p>``, ``cube``, ``season``, ``quality``).
        bands: composite band names (reflectance bands then indices).
        cube_bands: band names in the cube.
        start: first day of the first period (UTC; see ``extent.period_span``).
        end: end of the last period (UTC).
        periods: the compositing periods.
        period_scenes: period id -> number of scenes composited.
        season_bands: band names of the ``season`` asset (``<band>_p<q>``..., ``clear_count``).

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    wgs = geobox.extent.to_crs("EPSG:4326")
    b = wgs.boundingbox
    item = pystac.Item(
        id=f"ard-{tile}",
        geometry=wgs.json,
        bbox=[b.left, b.bottom, b.right, b.top],
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={},
    )
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection sentinel-2-ard from the path.
    item.common_metadata.constellation = "sentinel-2"
    item.common_metadata.instruments = ["msi"]
    item.properties[ext.PROCESSING_LEVEL] = "L3"
    item.properties[PERIOD_SCENES] = {p.id: int(period_scenes[p.id]) for p in periods}
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.code = str(geobox.crs)
    proj.shape = list(geobox.shape.yx)
    proj.transform = list(geobox.affine)[:6]
    EOExtension.ext(item, add_if_missing=True)
    res = abs(geobox.affine.a)
    by_id = {p.id: p for p in periods}
    for key in sorted(assets):
        path = assets[key]
        if key == "cube":
            a = pystac.Asset(
                href=str(path),
                media_type=ext.ZARR,
                roles=["data"],
                title="Cloud-masked reflectance cube (time, band, y, x); bands "
                + ",".join(cube_bands),
            )
            item.add_asset(key, a)
            continue
        if key == "quality":
            _quality_asset(item, key, path, res)
            continue
        if key == "season":
            a = pystac.Asset(
                href=str(path),
                media_type=ext.COG,
                roles=["data"],
                title="Season percentiles of every clear observation (all periods), and their count",
            )
            item.add_asset(key, a)
            EOExtension.ext(a).bands = [Band.create(name=n, description=_season_title(n)) for n in season_bands]
            RasterExtension.ext(a, add_if_missing=True).bands = [
                RasterBand.create(nodata=NoDataStrings.NAN, data_type=DataType.FLOAT32, spatial_resolution=res)
                for _ in season_bands
            ]
            continue
        kind, pid = key.split("-", 1)
        p = by_id[pid]
        if kind == "composite":
            empty = "; no scene in this period: all NaN" if period_scenes[p.id] == 0 else ""
            a = pystac.Asset(
                href=str(path),
                media_type=ext.COG,
                roles=["data"],
                title=f"Median composite {p.id} ({p.start}..{p.end}){empty}",
            )
            item.add_asset(key, a)
            EOExtension.ext(a).bands = [_eo_band(n) for n in bands]
            RasterExtension.ext(a, add_if_missing=True).bands = [
                RasterBand.create(nodata=NoDataStrings.NAN, data_type=DataType.FLOAT32, spatial_resolution=res)
                for _ in bands
            ]
        else:
            a = pystac.Asset(
                href=str(path),
                media_type=ext.COG,
                roles=["data"],
                title=f"Clear observations {p.id} ({p.start}..{p.end})",
            )
            item.add_asset(key, a)
            RasterExtension.ext(a, add_if_missing=True).bands = [
                RasterBand.create(data_type=DataType.UINT8, spatial_resolution=res, unit="count")
            ]
    return item
