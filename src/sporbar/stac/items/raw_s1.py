"""Raw Sentinel-1 GRD items: from a SAFE product's metadata, or from a STAC API's item.

Fields follow stactools-sentinel1's GRD items (sar and sat extensions, the nominal
resolution and looks of the product class), built with pystac's own extension classes
so that only the bundled sar v1.0.0 / sat v1.0.0 schemas are needed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pystac
from pystac.extensions.sar import FrequencyBand, ObservationDirection, Polarization, SarExtension
from pystac.extensions.sat import OrbitState, SatExtension

from sporbar.safe_meta import RESOLUTION_NAMES, S1SceneMeta
from sporbar.stac import extensions as ext

log = logging.getLogger(__name__)

CENTER_FREQUENCY_GHZ = 5.405
SAR_SCHEMA_URI = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
SAT_SCHEMA_URI = "https://stac-extensions.github.io/sat/v1.0.0/schema.json"
VIEW_SCHEMA_URI = "https://stac-extensions.github.io/view/v1.0.0/schema.json"
# item properties kept from a STAC API's item (besides every sar:*, sat:* and s1:* field)
_KEEP_API_PROPS = ("platform", "constellation", "instruments", "start_datetime", "end_datetime",
                   "view:incidence_angle")
_API_TITLES = {"measurement": "amplitude (GRD)", "annotation": "Product annotation",
               "calibration": "Calibration LUTs", "noise": "Thermal noise LUTs"}
_POLARISATION_KEYS = ("vv", "vh", "hh", "hv")


def raw_s1_item(meta: S1SceneMeta) -> pystac.Item:
    """Build the raw item of a Sentinel-1 GRD product (asset hrefs absolute; relative when recorded).

    The manifest and every polarisation's annotation XML are always assets; measurement TIFFs
    and calibration and noise XML only when present on disk (metadata-only copies lack them).

    Args:
        meta: the product's metadata, as :func:`sporbar.fetch.s1_safe.read_s1_safe` read it.
    """
    ring = [list(p) for p in meta.footprint]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    item = pystac.Item(
        id=meta.product_id,
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=[min(lons), min(lats), max(lons), max(lats)],
        datetime=meta.start_datetime,
        properties={},
    )
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection sentinel-1-grd-raw from the path.
    cm = item.common_metadata
    cm.start_datetime = meta.start_datetime
    cm.end_datetime = meta.end_datetime
    cm.platform = meta.platform
    cm.constellation = "sentinel-1"
    cm.instruments = ["c-sar"]
    nominal = meta.nominal

    sar = SarExtension.ext(item, add_if_missing=True)
    sar.apply(
        instrument_mode=meta.instrument_mode,
        frequency_band=FrequencyBand.C,
        polarizations=[Polarization(p) for p in meta.polarisations],
        product_type=meta.product_type,
        center_frequency=CENTER_FREQUENCY_GHZ,
        resolution_range=float(nominal.resolution_range),
        resolution_azimuth=float(nominal.resolution_azimuth),
        pixel_spacing_range=meta.pixel_spacing_range,
        pixel_spacing_azimuth=meta.pixel_spacing_azimuth,
        looks_range=nominal.looks_range,
        looks_azimuth=nominal.looks_azimuth,
        looks_equivalent_number=nominal.looks_equivalent_number,
        observation_direction=ObservationDirection.RIGHT,
    )
    sat = SatExtension.ext(item, add_if_missing=True)
    sat.orbit_state = OrbitState(meta.orbit_state)
    sat.absolute_orbit = meta.absolute_orbit
    sat.relative_orbit = meta.relative_orbit
    if meta.international_designator:
        sat.platform_international_designator = meta.international_designator

    item.properties[ext.PROCESSING_LEVEL] = "L1"
    if meta.ipf_version:
        item.properties[ext.PROCESSING_VERSION] = meta.ipf_version
    if ext.PROCESSING_SCHEMA_URI not in item.stac_extensions:
        item.stac_extensions.append(ext.PROCESSING_SCHEMA_URI)
    item.properties["view:incidence_angle"] = round(meta.incidence_angle_mid, 6)
    item.stac_extensions.append(VIEW_SCHEMA_URI)
    # plain properties (no sentinel-1 extension is bundled)
    item.properties["s1:datatake_id"] = str(meta.mission_datatake_id)
    item.properties["s1:resolution"] = RESOLUTION_NAMES[meta.resolution_class]
    item.properties["s1:incidence_angle_range"] = [
        round(meta.incidence_angle_near, 6),
        round(meta.incidence_angle_far, 6),
    ]

    absent = [f"{kind} {f.polarisation}" for f in meta.files for kind, path in
              (("measurement", f.measurement), ("calibration", f.calibration), ("noise", f.noise))
              if path is None or not path.is_file()]
    if absent:  # a metadata-only copy: catalogued with what it has, and said so
        log.warning("%s: metadata-only copy of %s: no %s on disk; catalogued without them (sporbar s1-ard "
                    "needs the measurement TIFFs and the calibration and noise LUTs)",
                    meta.safe_dir, meta.product_id, ", ".join(absent))
    for f in meta.files:
        pol = f.polarisation.lower()
        if f.has_measurement:
            assert f.measurement is not None
            asset = pystac.Asset(
                href=str(f.measurement),
                media_type=pystac.MediaType.GEOTIFF,
                title=f"{f.polarisation} amplitude (GRD, ground range geometry, no map CRS)",
                roles=["data"],
            )
            item.add_asset(pol, asset)
            SarExtension.ext(asset).polarizations = [Polarization(f.polarisation)]
        metadata = [("annotation", f.annotation, "Product annotation")]
        # a metadata-only copy may lack the calibration and noise XML that its manifest lists
        if f.calibration is not None and f.calibration.is_file():
            metadata.append(("calibration", f.calibration, "Calibration LUTs"))
        if f.noise is not None and f.noise.is_file():
            metadata.append(("noise", f.noise, "Thermal noise LUTs"))
        for kind, path, title in metadata:
            item.add_asset(
                f"{kind}-{pol}",
                pystac.Asset(
                    href=str(path), media_type=ext.XML, title=f"{title} {f.polarisation}", roles=["metadata"]
                ),
            )
    item.add_asset(
        "manifest",
        pystac.Asset(href=str(meta.manifest_path), media_type=ext.XML, title="SAFE manifest", roles=["metadata"]),
    )
    return item


def raw_s1_api_item(
    remote: Mapping[str, Any],
    *,
    product_id: str,
    sensor_mode: str | None,
    assets: Mapping[str, tuple[str, Mapping[str, Any]]],
) -> pystac.Item:
    """The raw item of a Sentinel-1 GRD product fetched from a STAC API (asset hrefs as given).

    It keeps the API item's geometry, bbox, times, platform, constellation, instruments,
    incidence angle and every ``sar:*``, ``sat:*`` and ``s1:*`` field, fills in the fields the
    sar v1.0.0 schema requires where the API leaves them out, and gives each asset the API
    asset's type, title and roles (defaults by kind where the API gives none).

    Args:
        remote: the API's item (a dict, as searched).
        product_id: the product name: the raw item's id.
        sensor_mode: the acquisition mode the search found (used when the item has none).
        assets: sporbar asset key (as :func:`raw_s1_item` names them: ``vv``, ``annotation-vv``,
            ``manifest``...) -> (local path of the downloaded file, the API's asset dict).
    """
    props = remote["properties"]
    when = props.get("datetime") or props["start_datetime"]
    item = pystac.Item(
        id=product_id,
        geometry=remote["geometry"],
        bbox=remote.get("bbox"),
        datetime=datetime.fromisoformat(when.replace("Z", "+00:00")),
        properties={},
    )
    for k, v in sorted(props.items()):
        if k in _KEEP_API_PROPS or k.startswith(("sar:", "sat:", "s1:")):
            item.properties[k] = v
    # the fields the sar v1.0.0 schema requires, where an API leaves them out
    item.properties.setdefault("sar:instrument_mode", sensor_mode or "IW")
    item.properties.setdefault("sar:frequency_band", "C")
    item.properties.setdefault("sar:center_frequency", CENTER_FREQUENCY_GHZ)
    item.properties.setdefault("sar:product_type", "GRD")
    item.properties.setdefault("sar:polarizations", [str(p).upper() for p in props.get("sar:polarizations") or []])
    item.properties.setdefault("constellation", "sentinel-1")
    item.properties.setdefault("instruments", ["c-sar"])
    item.properties[ext.PROCESSING_LEVEL] = "L1"
    item.stac_extensions = [SAR_SCHEMA_URI, ext.PROCESSING_SCHEMA_URI]
    if any(k.startswith("sat:") for k in item.properties):
        item.stac_extensions.append(SAT_SCHEMA_URI)
    if "view:incidence_angle" in item.properties:
        item.stac_extensions.append(VIEW_SCHEMA_URI)
    for key, (href, a) in assets.items():
        kind, _, pol = key.partition("-")
        if key in _POLARISATION_KEYS:
            kind, pol = "measurement", key
        measurement = kind == "measurement"
        asset = pystac.Asset(
            href=href,
            media_type=a.get("type") or (pystac.MediaType.GEOTIFF if measurement else ext.XML),
            title=a.get("title") or (f"{_API_TITLES[kind]} {pol.upper()}" if pol else "SAFE manifest"),
            roles=list(a.get("roles") or (["data"] if measurement else ["metadata"])),
        )
        if measurement:
            asset.extra_fields["sar:polarizations"] = [pol.upper()]
        item.add_asset(key, asset)
    return item
