"""The STAC item of one map tile (collection ``land-ecology-maps``): classes, confidence, margin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pystac
from odc.geo.geobox import GeoBox
from pystac.extensions.classification import ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension

from sporbar.stac import extensions as ext
from sporbar.stac.items.extent import spanning_item
from sporbar.stac.items.model import mlm_classes

#: pixel value of "no data" in ``classes.tif``, ``confidence.tif`` and ``margin.tif``
CLASS_NODATA = 0
CONFIDENCE_NODATA = 255
MARGIN_NODATA = 255
MARGIN_DESCRIPTION = (
    "Per-pixel uncertainty: highest minus second-highest class probability, in percent "
    "(0 = the model cannot tell the two likeliest classes apart, 100 = one class takes all)"
)


def _raster(
    asset: pystac.Asset, *, nodata: int, resolution: float, unit: str | None = None, description: str | None = None
) -> None:
    band = RasterBand.create(nodata=nodata, data_type=DataType.UINT8, spatial_resolution=resolution)
    if unit:
        band.unit = unit
    if description:  # raster v1.1 bands allow more fields; STAC 1.1 common metadata names this one
        band.properties["description"] = description
    RasterExtension.ext(asset, add_if_missing=True).bands = [band]


def map_item(
    product: str,
    tile: str,
    *,
    geobox: GeoBox,
    classes: Sequence[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    bbox_wgs84: Sequence[float],
    mapped: Sequence[int] = (),
    model: str | None = None,
) -> pystac.Item:
    """The map item: assets ``classes`` (classification ext), ``confidence`` and ``margin``; proj and raster.

    Args:
        product: ``map.product``; the item id is ``<product>-<tile>``.
        tile: grid tile id.
        geobox: the tile grid.
        classes: the ``classes[]`` config entries (value, name, colour).
        start: start of the ARD periods (``extent.period_span``).
        end: end of the ARD periods.
        bbox_wgs84: lon/lat bbox of the tile (``extent.tiles_bbox_wgs84``).
        mapped: the class values present in the tile: their names, in ``classes`` order, become
            ``sporbar:classes``, so a search finds the tiles holding a class (a queryable).
        model: id of the model item that made the map (``sporbar:model``, a queryable).

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    item = spanning_item(f"{product}-{tile}", bbox_wgs84, start, end)
    present = {int(v) for v in mapped}
    item.properties[ext.SPORBAR_CLASSES] = [c["name"] for c in classes if int(c["value"]) in present]
    if model is not None:
        item.properties[ext.SPORBAR_MODEL] = model
    b = geobox.boundingbox
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    assert geobox.crs is not None, "tile grids (cfg.grid.geobox) always have a CRS"
    proj.code = f"EPSG:{geobox.crs.epsg}"
    proj.shape = list(geobox.shape.yx)
    proj.transform = list(geobox.affine)[:6]
    proj.bbox = [b.left, b.bottom, b.right, b.top]
    res = abs(float(geobox.affine.a))
    cls_asset = pystac.Asset(
        "./classes.tif",
        media_type=ext.COG,
        # visual: the COG carries the legend as its colour table, and map viewers (STAC Browser)
        # draw the asset with this role first, not the confidence or margin
        roles=["data", "visual"],
        title="Land-ecology class (0 = no data)",
    )
    item.add_asset("classes", cls_asset)
    ClassificationExtension.ext(cls_asset, add_if_missing=True).classes = mlm_classes(classes)
    _raster(cls_asset, nodata=CLASS_NODATA, resolution=res)
    conf_asset = pystac.Asset(
        "./confidence.tif",
        media_type=ext.COG,
        roles=["data"],
        title="Confidence: highest class probability in percent (255 = no data)",
    )
    item.add_asset("confidence", conf_asset)
    _raster(conf_asset, nodata=CONFIDENCE_NODATA, resolution=res, unit="percent")
    margin_asset = pystac.Asset(
        "./margin.tif",
        media_type=ext.COG,
        roles=["data"],
        title="Class margin: highest minus second-highest class probability in percent (255 = no data)",
    )
    item.add_asset("margin", margin_asset)
    _raster(margin_asset, nodata=MARGIN_NODATA, resolution=res, unit="percent", description=MARGIN_DESCRIPTION)
    return item
