"""The raw STAC item of a Sentinel-1 GRD product, from its parsed SAFE metadata.

Fields follow stactools-sentinel1's GRD items (sar and sat extensions, the nominal
resolution and looks of the product class), built with pystac's own extension classes
so that only the bundled sar v1.0.0 / sat v1.0.0 schemas are needed.
"""

from __future__ import annotations

import pystac
from pystac.extensions.sar import FrequencyBand, ObservationDirection, Polarization, SarExtension
from pystac.extensions.sat import OrbitState, SatExtension

from sporbar.fetch.s1_safe import RESOLUTION_NAMES, S1SceneMeta
from sporbar.stac import extensions as ext

CENTER_FREQUENCY_GHZ = 5.405
VIEW_SCHEMA_URI = "https://stac-extensions.github.io/view/v1.0.0/schema.json"


def raw_s1_item(meta: S1SceneMeta) -> pystac.Item:
    """Build the raw item of a Sentinel-1 GRD product (asset hrefs absolute; relative when recorded).

    Measurement TIFFs are assets only when present on disk; the manifest and every
    polarisation's annotation, calibration and noise XML always are.
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
        if f.calibration is not None:
            metadata.append(("calibration", f.calibration, "Calibration LUTs"))
        if f.noise is not None:
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
