"""Write the whole demo source (the stand-in for remote archives) into one folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.demo.landscape import make_landscape
from sporbar.io import write_json_atomic

log = logging.getLogger(__name__)

INDEX = "index.json"


def generate(cfg: Config, out_dir: Path) -> dict[str, Any]:
    """Generate Sentinel-2 L2A and Sentinel-1 GRD SAFE products, LAZ tiles and label polygons for the config's area.

    Deterministic: the same config (area, demo section, classes) gives identical files.
    ``index.json`` is written last and lists every product; its presence means the
    source is complete.

    Returns:
        The index written.
    """
    from sporbar.demo.labels import write_labels
    from sporbar.demo.lidar import write_lidar_tiles
    from sporbar.demo.sentinel1 import write_s1_scenes
    from sporbar.demo.sentinel2 import write_scenes

    out_dir = Path(out_dir)
    demo = cfg.data["demo"]
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=demo["seed"])
    log.info("demo: landscape %s cells around area %s", landscape.shape, cfg.data["area"]["name"])
    scenes = write_scenes(cfg, landscape, out_dir)
    log.info("demo: wrote %d Sentinel-2 L2A SAFE products", len(scenes))
    s1_scenes = write_s1_scenes(cfg, landscape, out_dir)
    log.info("demo: wrote %d Sentinel-1 GRD SAFE products", len(s1_scenes))
    lidar = write_lidar_tiles(cfg, landscape, out_dir)
    log.info("demo: wrote %d LAZ tiles", len(lidar))
    labels = write_labels(cfg, landscape, out_dir)
    log.info("demo: wrote label polygons %s", labels["path"])
    index = {
        "area": cfg.data["area"]["name"],
        "seed": demo["seed"],
        "sentinel2": scenes,
        "sentinel1": s1_scenes,
        "lidar": lidar,
        "labels": labels,
    }
    write_json_atomic(out_dir / INDEX, index)
    return index
