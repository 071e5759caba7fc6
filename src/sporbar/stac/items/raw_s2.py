"""Raw Sentinel-2 items: from a SAFE product's metadata, or from a STAC API's item."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
from stactools.sentinel2.constants import SENTINEL2_EXTENSION_SCHEMA

from sporbar.errors import InputDataError
from sporbar.safe_meta import SceneMeta
from sporbar.stac import extensions as ext

# stactools' s2:* fields, unprefixed (the sentinel-2 extension schema is not bundled offline)
S2_PROPERTY = "sporbar:s2"
# asset fields kept from a STAC API's assets
_KEEP_API_ASSET_FIELDS = ("proj:shape", "proj:transform", "raster:bands", "eo:bands", "gsd", "title", "roles", "type")
_API_EXTENSIONS = (
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
)


def raw_s2_item(meta: SceneMeta) -> pystac.Item:
    """The raw item of a SAFE product (asset hrefs absolute; made relative when recorded).

    It is the item stactools-sentinel2 made from the product's metadata (``meta.stac``):
    its geometry (split at the antimeridian), datetime (``PRODUCT_START_TIME``), platform,
    providers, ``eo:cloud_cover``, ``sat:*``, ``proj:*``, ``mgrs:*``, ``grid:code``,
    ``view:*`` and its assets' roles, titles, ``eo:bands`` and ``raster:bands`` (scale,
    offset; the SCL classes), with these changes:

    - id: the product name (``meta.product_id``), as in sporbar's paths;
    - no ``created``: a clock time, and raw items must come out the same when reproduced;
    - the ``s2:*`` fields move, unprefixed, into the ``sporbar:s2`` object and the
      sentinel-2 extension is dropped: its schema is not in the offline validation bundle;
    - ``processing:level`` (L2A/L1C) and ``processing:version`` (the processing baseline);
    - sporbar's asset keys: ``B01``..``B12``/``B8A`` and ``SCL`` at native resolution,
      ``<band>_<res>m`` for the resampled files, ``metadata``, ``granule-metadata``,
      ``manifest``, and ``inspire-metadata``/``datastrip-metadata`` where those files exist;
      stactools' AOT, WVP, TCI and preview assets are left out;
    - ``proj:shape``/``proj:transform``/``proj:bbox`` of each band from the granule's grid
      (stactools swaps rows and columns there, which only shows on non-square granules).
    """
    d = copy.deepcopy(meta.stac)
    d["id"] = meta.product_id
    d["links"] = []
    d["stac_extensions"] = [u for u in d["stac_extensions"] if u != SENTINEL2_EXTENSION_SCHEMA]
    props = d["properties"]
    props.pop("created", None)
    props[S2_PROPERTY] = {k.removeprefix("s2:"): props.pop(k) for k in sorted(props) if k.startswith("s2:")}
    props[ext.PROCESSING_LEVEL] = meta.level
    props[ext.PROCESSING_VERSION] = meta.processing_baseline
    by_path = {Path(a["href"]): a for a in d["assets"].values() if a.get("href")}
    assets: dict[str, Any] = {}
    for bf in meta.band_files:
        key = bf.band if bf == meta.band_file(bf.band) else f"{bf.band}_{bf.resolution}m"
        if bf.path not in by_path:
            raise InputDataError(f"{meta.metadata_path}: stactools-sentinel2 made no asset for {bf.path.name}")
        asset = by_path[bf.path]
        g = meta.grid(bf.resolution)
        a, _, c, _, e, f = g.transform
        asset["proj:shape"] = list(g.shape)
        asset["proj:transform"] = list(g.transform)
        asset["proj:bbox"] = [c, f + e * g.shape[0], c + a * g.shape[1], f]
        assets[key] = asset
    for key, stactools_key, title in (
        ("metadata", "product_metadata", "Product metadata"),
        ("granule-metadata", "granule_metadata", "Granule metadata"),
        ("manifest", "safe_manifest", "SAFE manifest"),
        ("inspire-metadata", "inspire_metadata", "INSPIRE metadata (ISO 19139)"),
        ("datastrip-metadata", "datastrip_metadata", "Datastrip metadata"),
    ):
        asset = d["assets"].get(stactools_key) or {}
        if asset.get("href") and Path(asset["href"]).is_file():
            assets[key] = {**asset, "title": title}
    d["assets"] = assets
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection sentinel-2-l2a-raw from the path.
    d.pop("collection", None)
    return pystac.Item.from_dict(d)


def raw_s2_api_item(
    remote: Mapping[str, Any], *, product_id: str, assets: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> pystac.Item:
    """The raw item of a Sentinel-2 product fetched from a STAC API (asset hrefs as given).

    It keeps the API item's geometry, bbox, datetime, platform, constellation, instruments,
    cloud cover and sun angles, its projection code (``proj:code``, or ``proj:epsg``) and MGRS
    tile (``s2:mgrs_tile``, or ``grid:code``), sets ``processing:level`` (L2A when the product
    name says so) and ``processing:version`` (``s2:processing_baseline``), and gives each asset
    the API asset's ``proj:*``, ``raster:bands``, ``eo:bands``, ``gsd``, title, roles and type.

    Args:
        remote: the API's item (a dict, as searched).
        product_id: the SAFE product name: the raw item's id.
        assets: sporbar asset key -> (local path of the downloaded file, the API's asset dict).
    """
    props = remote["properties"]
    item = pystac.Item(
        id=product_id,
        geometry=remote["geometry"],
        bbox=remote.get("bbox"),
        datetime=datetime.fromisoformat(props["datetime"].replace("Z", "+00:00")),
        properties={},
        stac_extensions=list(_API_EXTENSIONS),
    )
    for k in ("platform", "constellation", "instruments", "eo:cloud_cover", "view:sun_azimuth", "view:sun_elevation"):
        if k in props:
            item.properties[k] = props[k]
    code = props.get("proj:code") or (f"EPSG:{props['proj:epsg']}" if props.get("proj:epsg") else None)
    if code:
        item.properties["proj:code"] = code
    tile = props.get("s2:mgrs_tile") or (props.get("grid:code", "").removeprefix("MGRS-") or None)
    if tile:
        item.properties["s2:mgrs_tile"] = tile
    item.properties[ext.PROCESSING_LEVEL] = "L2A" if "L2A" in product_id else props.get("processing:level", "L1C")
    if props.get("s2:processing_baseline"):
        item.properties[ext.PROCESSING_VERSION] = props["s2:processing_baseline"]
    for key, (href, a) in assets.items():
        asset = pystac.Asset(href=href)
        for f in _KEEP_API_ASSET_FIELDS:
            if f not in a:
                continue
            if f == "type":
                asset.media_type = a[f]
            elif f == "title":
                asset.title = a[f]
            elif f == "roles":
                asset.roles = list(a[f])
            else:
                asset.extra_fields[f] = a[f]
        item.add_asset(key, asset)
    return item
