"""``fetch s2`` from the demo source: copy a SAFE product into raw/ and record its raw item.

The SAFE folder is copied whole (atomically) beside ``item.json``; the item points at
the band files inside it, with their grids (``proj:*``), scale and offset
(``raster:bands``) and spectral bands (``eo:bands``) taken from the parsed metadata.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pystac
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from rasterio.warp import transform as transform_points

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe import SceneMeta, read_safe
from sporbar.io import atomic_path, check_writable
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

SOURCE_SUBDIR = "sentinel-2"
INDEX = "index.json"

# band -> (common name, centre wavelength um, full width half max um), Sentinel-2A MSI
BAND_INFO: dict[str, tuple[str | None, float, float]] = {
    "B01": ("coastal", 0.443, 0.027),
    "B02": ("blue", 0.490, 0.098),
    "B03": ("green", 0.560, 0.045),
    "B04": ("red", 0.665, 0.038),
    "B05": ("rededge", 0.704, 0.019),
    "B06": ("rededge", 0.740, 0.018),
    "B07": ("rededge", 0.783, 0.028),
    "B08": ("nir", 0.842, 0.145),
    "B8A": ("nir08", 0.865, 0.033),
    "B09": ("nir09", 0.945, 0.026),
    "B10": ("cirrus", 1.374, 0.075),
    "B11": ("swir16", 1.610, 0.143),
    "B12": ("swir22", 2.190, 0.242),
}


def eo_band(name: str) -> Band:
    """The ``eo:bands`` entry of a Sentinel-2 band (name, common name, wavelengths in um)."""
    common, center, fwhm = BAND_INFO[name]
    return Band.create(
        name=name, common_name=common, center_wavelength=center, full_width_half_max=fwhm
    )


def locate_scene(source_dir: Path, scene: str) -> Path:
    """The SAFE folder of ``scene`` in the demo source.

    Raises:
        MissingInputError: naming the source folder and scene, and the scenes it has.
    """
    source_dir = Path(source_dir)
    safe = source_dir / SOURCE_SUBDIR / f"{scene}.SAFE"
    index = source_dir / INDEX
    known: list[str] = []
    if index.exists():
        known = sorted(
            s["id"] for s in json.loads(index.read_text(encoding="utf-8")).get("sentinel2", [])
        )
    elif (source_dir / SOURCE_SUBDIR).is_dir():
        known = sorted(
            p.name.removesuffix(".SAFE") for p in (source_dir / SOURCE_SUBDIR).glob("*.SAFE")
        )
    if not safe.is_dir() or (index.exists() and scene not in known):
        have = ", ".join(known) or "none"
        raise MissingInputError(
            f"{source_dir}: scene {scene!r} not in the demo source (has: {have}); "
            "run `sporbar demo generate` with the same config"
        )
    return safe


def raw_s2_item(meta: SceneMeta) -> pystac.Item:
    """Build the raw item of a SAFE product (asset hrefs absolute; made relative when recorded)."""
    ring = list(meta.footprint)
    if len(ring) < 4:  # no footprint in the metadata: the granule bounds
        g = meta.grid(10)
        a, _, c, _, e, f = g.transform
        x0, x1, y1, y0 = c, c + a * g.shape[1], f, f + e * g.shape[0]
        lons, lats = transform_points(
            f"EPSG:{meta.epsg}", "EPSG:4326", [x0, x0, x1, x1, x0], [y1, y0, y0, y1, y1]
        )
        ring = list(zip(lons, lats, strict=True))
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    item = pystac.Item(
        id=meta.product_id,
        geometry={"type": "Polygon", "coordinates": [[[lo, la] for lo, la in ring]]},
        bbox=[min(lons), min(lats), max(lons), max(lats)],
        datetime=meta.sensing_datetime,
        properties={},
    )
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection sentinel-2-l2a-raw from the path.
    item.common_metadata.platform = meta.platform
    item.common_metadata.constellation = "sentinel-2"
    item.common_metadata.instruments = ["msi"]
    item.properties[ext.PROCESSING_LEVEL] = meta.level
    item.properties[ext.PROCESSING_VERSION] = meta.processing_baseline
    item.properties["s2:mgrs_tile"] = meta.mgrs_tile  # plain property: no sentinel-2 extension
    item.properties["view:sun_azimuth"] = meta.sun_azimuth
    item.properties["view:sun_elevation"] = round(90.0 - meta.sun_zenith, 6)
    item.stac_extensions.append("https://stac-extensions.github.io/view/v1.0.0/schema.json")
    eo = EOExtension.ext(item, add_if_missing=True)
    eo.cloud_cover = meta.cloud_cover
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.code = f"EPSG:{meta.epsg}"

    # Every image file of the SAFE is an asset (as in stactools-sentinel2): the band's native
    # resolution under the band name, resampled copies as "<band>_<res>m".
    for bf in meta.band_files:
        name = bf.band
        key = name if bf == meta.band_file(name) else f"{name}_{bf.resolution}m"
        grid = meta.grid(bf.resolution)
        is_scl = name == "SCL"
        asset = pystac.Asset(
            href=str(bf.path),
            media_type=pystac.MediaType.JPEG2000
            if bf.path.suffix == ".jp2"
            else pystac.MediaType.GEOTIFF,
            title="Scene classification (Sen2Cor)" if is_scl else f"{name} reflectance",
            roles=["data"],
        )
        asset.common_metadata.gsd = float(bf.resolution)
        item.add_asset(key, asset)
        pa = ProjectionExtension.ext(asset)
        pa.shape = list(grid.shape)
        pa.transform = list(grid.transform)
        if is_scl:
            rb = RasterBand.create(
                nodata=0, data_type=DataType.UINT8, spatial_resolution=bf.resolution
            )
        else:
            rb = RasterBand.create(
                nodata=0,
                data_type=DataType.UINT16,
                spatial_resolution=bf.resolution,
                scale=1.0 / meta.quantification,
                offset=meta.offset(name) / meta.quantification,
            )
            EOExtension.ext(asset).bands = [eo_band(name)]
        RasterExtension.ext(asset, add_if_missing=True).bands = [rb]
    for key, path, title in (
        ("metadata", meta.metadata_path, "Product metadata"),
        ("granule-metadata", meta.granule_metadata_path, "Granule metadata"),
        ("manifest", meta.manifest_path, "SAFE manifest"),
    ):
        item.add_asset(
            key, pystac.Asset(href=str(path), media_type=ext.XML, title=title, roles=["metadata"])
        )
    return item


def fetch_scene(
    cfg: Config,
    source_dir: Path,
    scene: str,
    item_path: Path,
    *,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Copy ``scene`` from the demo source beside ``item_path`` and write its raw item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: the scene is not in the source.
        OutputExistsError: ``item_path`` exists and ``overwrite`` is False.
        InputDataError: the SAFE metadata is incomplete.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    src = locate_scene(source_dir, scene)
    src_meta = read_safe(src)
    if src_meta.product_id != scene:
        raise InputDataError(
            f"{src_meta.metadata_path}: PRODUCT_URI is {src_meta.product_id!r}, expected {scene!r}"
        )
    dest = item_path.parent / src.name
    log.info("fetch s2: copying %s -> %s", src, dest)
    with atomic_path(dest) as tmp:
        shutil.copytree(src, tmp)
    meta = read_safe(dest.resolve())
    item = raw_s2_item(meta)
    step = Step(
        lineage=f"Copied Sentinel-2 L2A product {scene} (SAFE folder) from the demo source.",
        command="fetch s2",
        parameters={"source_dir": str(source_dir), "scene": scene},
        rule=rule,
    )
    return record_item(
        item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash)
    )
