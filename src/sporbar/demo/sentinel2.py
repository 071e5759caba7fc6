"""Synthetic Sentinel-2 L2A products in the real SAFE layout, sampled from the demo landscape.

Each demo date becomes one ``<scene>.SAFE`` folder with ``manifest.safe`` (standard
dataObject IDs such as ``S2_Level-2A_Product_Metadata``), ``MTD_MSIL2A.xml``,
``INSPIRE.xml``, ``DATASTRIP/<ds>/MTD_DS.xml``, ``GRANULE/<granule>/MTD_TL.xml`` and
lossless JPEG 2000 bands in ``IMG_DATA/R10m|R20m|R60m``, as delivered by the Copernicus
Data Space, so that stactools-sentinel2 reads it as it reads a real product. The granule
is in UTM 32N (EPSG:32632, MGRS 32VNR) while the landscape and the output grid are in
UTM 33N, so the ARD step really reprojects.

The reflectance is simulated by :mod:`sporbar.demo.s2_reflectance` and the metadata files
written by :mod:`sporbar.demo.s2_safe_xml`; this module puts them into SAFE folders.
Same config, same bytes: no clock is read and every random draw is seeded.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import transform as transform_points

from sporbar.config import Config
from sporbar.demo.landscape import Landscape
from sporbar.demo.names import DEMO_S2_CRS, demo_product_names, demo_scene_ids
from sporbar.demo.s2_reflectance import (
    SPECTRAL_ORDER,
    GranuleGrid,
    block_mean,
    granule_grid,
    sample_classes,
    sample_elevation,
    scene_percentages,
    simulate,
    smooth,
    sun_angle_grid,
    sun_angles,
    terrain_illumination,
    to_dn,
)
from sporbar.demo.s2_safe_manifest import manifest_xml
from sporbar.demo.s2_safe_xml import datastrip_xml, inspire_xml, product_xml, tile_xml
from sporbar.io import atomic_path

log = logging.getLogger(__name__)

# Files written per resolution folder (as in real L2A products, minus AOT/WVP/TCI).
FILES_PER_RES: dict[int, list[str]] = {
    10: ["B02", "B03", "B04", "B08"],
    20: ["B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL"],
    60: ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "SCL"],
}


def _write_jp2(path: Path, data: np.ndarray, transform: Affine) -> None:
    profile: dict[str, Any] = {
        "driver": "JP2OpenJPEG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": DEMO_S2_CRS,
        "transform": transform,
        "nodata": 0,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        rasterio.open(path, "w", **profile, QUALITY=100, REVERSIBLE="YES", YCBCR420="NO") as ds,
    ):
        ds.write(data, 1)


def write_scene(
    safe_dir: Path,
    scene: str,
    day: date,
    index: int,
    *,
    classes: np.ndarray,
    texture: np.ndarray,
    patches: np.ndarray,
    grid: GranuleGrid,
    cloud_fraction: float,
    rng: np.random.Generator,
    elevation: np.ndarray,
) -> float:
    """Write one SAFE folder at ``safe_dir`` (atomically); return its cloud cover in percent."""
    n = demo_product_names(scene, day, index)
    rows, cols = grid.shape(10)
    lons, lats = transform_points(
        DEMO_S2_CRS, "EPSG:4326", [grid.ulx + cols * 5], [grid.uly - rows * 5]
    )
    sun = sun_angles(day, lats[0], lons[0])
    sim = simulate(classes, texture, patches, day, sun, cloud_fraction, rng,
                   illumination=terrain_illumination(elevation, sun))
    scl20 = sim.scl[::2, ::2]
    scl_by_res = {20: scl20, 60: scl20[1::3, 1::3]}
    pct = scene_percentages(scl20)
    cloud = round(pct["CLOUDY_PIXEL_PERCENTAGE"], 6)
    image_files: list[str] = []
    with atomic_path(safe_dir) as tmp:
        img = tmp / "GRANULE" / n["granule"] / "IMG_DATA"
        for res in (20, 60, 10):  # the order of a real Product_Organisation
            for band in FILES_PER_RES[res]:
                rel = f"GRANULE/{n['granule']}/IMG_DATA/R{res}m/{n['prefix']}_{band}_{res}m"
                image_files.append(rel)
                if band == "SCL":
                    data = scl_by_res[res]
                else:
                    k = res // 10
                    refl = sim.reflectance[SPECTRAL_ORDER.index(band)]
                    valid = (
                        sim.valid if k == 1 else block_mean(sim.valid.astype(np.float32), k) == 1
                    )
                    data = to_dn(refl if k == 1 else block_mean(refl, k), valid)
                _write_jp2(
                    img / f"R{res}m" / f"{n['prefix']}_{band}_{res}m.jp2", data, grid.transform(res)
                )
        tile_meta = tile_xml(n, grid, sun, pct, sun_angle_grid(grid, day))
        (tmp / "GRANULE" / n["granule"] / "MTD_TL.xml").write_bytes(tile_meta)
        (tmp / "MTD_MSIL2A.xml").write_bytes(product_xml(scene, n, image_files, grid, cloud, pct))
        (tmp / "INSPIRE.xml").write_bytes(inspire_xml(scene, n, grid))
        ds = tmp / "DATASTRIP" / n["datastrip_dir"]
        ds.mkdir(parents=True)
        (ds / "MTD_DS.xml").write_bytes(datastrip_xml(n))
        (tmp / "manifest.safe").write_bytes(manifest_xml(tmp, scene, n, grid))
    return cloud


def write_scenes(cfg: Config, landscape: Landscape, out_dir: Path) -> list[dict[str, Any]]:
    """Write one Sentinel-2 L2A SAFE folder per ``demo.dates`` below ``out_dir/sentinel-2``.

    Args:
        cfg: the config (area bbox, demo seed, dates and cloud fraction).
        landscape: the demo landscape (EPSG:25833) to sample.
        out_dir: the demo source folder.

    Returns:
        Index entries ``{"id", "path" (relative to out_dir), "cloud_cover" (percent)}``,
        in date order.
    """
    demo = cfg.data["demo"]
    grid = granule_grid(tuple(cfg.data["area"]["bbox"]))
    classes = sample_classes(landscape, grid)
    elevation = sample_elevation(landscape, grid)
    texture = smooth(np.random.default_rng([demo["seed"], 2]), classes.shape, 1.5).astype(
        np.float32
    )
    prng = np.random.default_rng([demo["seed"], 3])
    patches = np.stack([smooth(prng, classes.shape, 5.0) for _ in range(4)]).astype(np.float32)
    days = sorted(date.fromisoformat(d) for d in demo["dates"])
    out: list[dict[str, Any]] = []
    for i, (day, scene) in enumerate(zip(days, demo_scene_ids(cfg), strict=True)):
        rng = np.random.default_rng([demo["seed"], 1000 + i])
        rel = f"sentinel-2/{scene}.SAFE"
        cloud = write_scene(
            Path(out_dir) / rel,
            scene,
            day,
            i,
            classes=classes,
            texture=texture,
            patches=patches,
            grid=grid,
            cloud_fraction=demo["cloud_fraction"],
            rng=rng,
            elevation=elevation,
        )
        log.info("demo: %s (cloud %.1f%%)", scene, cloud)
        out.append({"id": scene, "path": rel, "cloud_cover": cloud})
    return out
