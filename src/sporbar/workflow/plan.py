"""Output paths and the wildcard values of every rule, from the config alone.

Snakemake calls these at DAG-build time, so they never open data files: their
cost is linear in the number of tiles and scenes. The same functions are used by
the CLI and tests, so paths are defined exactly once.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from sporbar.config import Config

ITEM = "item.json"

# Path patterns below the output root. Wildcards: scene, lidar_tile, area, tile, model, product.
PATTERNS: dict[str, str] = {
    "demo_index": "demo-source/index.json",
    "raw_s2": "raw/sentinel-2-l2a/{scene}/" + ITEM,
    "s2_search": "raw/sentinel-2-l2a/search.json",
    "raw_s1": "raw/sentinel-1-grd/{scene}/" + ITEM,
    "lidar_search": "raw/lidar/search.json",
    "raw_lidar": "raw/lidar/{lidar_tile}/" + ITEM,
    "raw_labels": "raw/labels/{area}/" + ITEM,
    "ard": "ard/sentinel-2-l2a/{tile}/" + ITEM,
    "lidar_products": "lidar/products/{tile}/" + ITEM,
    "training": "training/{area}/" + ITEM,
    "model": "models/{model}/" + ITEM,
    "map": "maps/{product}/{tile}/" + ITEM,
    "catalog": "catalog/catalog.json",
}

# The demo Sentinel-2 granule: MGRS tile 32VNR (UTM 32N) covers the demo area south of
# Trondheim; the output grid is UTM 33N, so ARD really reprojects, as with real data.
DEMO_MGRS_TILE = "32VNR"
DEMO_S2_CRS = "EPSG:32632"
DEMO_SENSING_TIME = "T104031"
DEMO_RELATIVE_ORBIT = "R094"
DEMO_BASELINE = "N0510"


def path(cfg: Config, name: str, **wildcards: str) -> Path:
    """Path of output ``name`` (a key of PATTERNS) below the config's root."""
    return cfg.root / PATTERNS[name].format(**wildcards)


def pattern(cfg: Config, name: str) -> str:
    """Snakemake path pattern of output ``name`` (wildcards left in braces)."""
    return str(cfg.root / PATTERNS[name])


def demo_scene_id(day: date, index: int) -> str:
    """SAFE product name of the demo scene on ``day`` (S2A and S2B alternate)."""
    platform = "S2A" if index % 2 == 0 else "S2B"
    d = day.strftime("%Y%m%d")
    return (
        f"{platform}_MSIL2A_{d}{DEMO_SENSING_TIME}_{DEMO_BASELINE}_{DEMO_RELATIVE_ORBIT}"
        f"_T{DEMO_MGRS_TILE}_{d}T130000"
    )


def s2_source(cfg: Config) -> str:
    """The Sentinel-2 source kind: demo, dhus, stac_api or local."""
    return cfg.data["sources"]["sentinel2"]["source"]


def lidar_source(cfg: Config) -> str:
    """The lidar source kind: demo, stac_api, urls or local."""
    return cfg.data["sources"]["lidar"]["source"]


def _search_ids(search_json: Path) -> list[str]:
    import json

    from sporbar.errors import MissingInputError

    search_json = Path(search_json)
    if not search_json.exists():
        raise MissingInputError(
            f"{search_json}: search result not found; run `sporbar search` (the search checkpoint) first"
        )
    doc = json.loads(search_json.read_text(encoding="utf-8"))
    return [s["id"] for s in doc["scenes"]]


def scene_ids(cfg: Config, search_json: Path | None = None) -> list[str]:
    """Sentinel-2 product names the config's S2 source delivers, in date order.

    Demo: from the config alone. Other sources: from the search result file
    (``search_json``, default ``raw/sentinel-2-l2a/search.json``), written by ``sporbar search s2``.
    A non-demo config with no search file yet gives the demo ids (``demo_scene_ids``), which is
    what the demo generator needs (it still makes the demo archive, e.g. for demo labels).
    """
    if search_json is not None or (s2_source(cfg) != "demo" and path(cfg, "s2_search").exists()):
        return _search_ids(search_json or path(cfg, "s2_search"))
    return demo_scene_ids(cfg)


def demo_scene_ids(cfg: Config) -> list[str]:
    """The demo source's Sentinel-2 product names, in date order."""
    days = sorted(date.fromisoformat(d) for d in cfg.data["demo"]["dates"])
    return [demo_scene_id(d, i) for i, d in enumerate(days)]


def lidar_tile_id(x0: int, y0: int) -> str:
    """Name of the delivered lidar tile whose lower-left corner is (x0, y0) metres."""
    return f"lidar_{x0}_{y0}"


def _lidar_tiles_in(bbox: tuple[float, float, float, float], size: int) -> list[str]:
    minx, miny, maxx, maxy = bbox
    xs = range(math.floor(minx / size) * size, math.ceil(maxx / size) * size, size)
    ys = range(math.floor(miny / size) * size, math.ceil(maxy / size) * size, size)
    return sorted(lidar_tile_id(x, y) for x in xs for y in ys)


def lidar_tile_ids(cfg: Config, search_json: Path | None = None) -> list[str]:
    """Delivered lidar tiles (their own tiling) that cover the area.

    Non-demo sources: the tile ids of the lidar search result (``raw/lidar/search.json``).
    """
    if search_json is not None or (lidar_source(cfg) != "demo" and path(cfg, "lidar_search").exists()):
        return _search_ids(search_json or path(cfg, "lidar_search"))
    return _lidar_tiles_in(tuple(cfg.data["area"]["bbox"]), cfg.data["demo"]["lidar_tile_size"])


def lidar_tile_bounds(cfg: Config, lidar_tile: str) -> tuple[int, int, int, int]:
    """(minx, miny, maxx, maxy) metres of a delivered lidar tile."""
    _, x0, y0 = lidar_tile.split("_")
    size = cfg.data["demo"]["lidar_tile_size"]
    return int(x0), int(y0), int(x0) + size, int(y0) + size


def lidar_tiles_for(cfg: Config, tile: str) -> list[str]:
    """Delivered lidar tiles that overlap grid tile ``tile``."""
    b = cfg.grid.geobox(tile).extent.boundingbox
    eps = 1e-6  # touching edges do not count as overlap
    if lidar_source(cfg) != "demo":  # the searched tiles' header bounds (grid CRS)
        import json

        search_json = path(cfg, "lidar_search")
        _search_ids(search_json)  # raises if absent
        doc = json.loads(search_json.read_text(encoding="utf-8"))
        return sorted(
            t["id"] for t in doc["scenes"]
            if t["bounds"][0] < b.right - eps and t["bounds"][2] > b.left + eps
            and t["bounds"][1] < b.top - eps and t["bounds"][3] > b.bottom + eps
        )
    return _lidar_tiles_in((b.left + eps, b.bottom + eps, b.right - eps, b.top - eps),
                           cfg.data["demo"]["lidar_tile_size"])


def labels_source(cfg: Config) -> dict[str, str]:
    """Input files of the labels fetch: the demo index, or the demo index and the user's file.

    The user's label file is an input so that editing it re-runs the stages after it.
    """
    out = {"index": str(path(cfg, "demo_index"))}
    if cfg.data["sources"]["labels"]["source"] == "file":
        out["labels"] = cfg.data["sources"]["labels"]["path"]
    return out


def model_ids(cfg: Config) -> list[str]:
    """Ids of the models to train."""
    return [m["id"] for m in cfg.data["models"]]


def model_spec(cfg: Config, model_id: str) -> dict:
    """The models[] entry with id ``model_id``."""
    for m in cfg.data["models"]:
        if m["id"] == model_id:
            return m
    raise KeyError(model_id)


def all_outputs(cfg: Config) -> list[Path]:
    """Every item the pipeline writes for this config (what `rule all` needs)."""
    area = cfg.data["area"]["name"]
    product = cfg.data["map"]["product"]
    searched = s2_source(cfg) == "demo" or path(cfg, "s2_search").exists()
    out = [path(cfg, "raw_s2", scene=s) for s in scene_ids(cfg)] if searched else []
    if lidar_source(cfg) == "demo" or path(cfg, "lidar_search").exists():
        out += [path(cfg, "raw_lidar", lidar_tile=t) for t in lidar_tile_ids(cfg)]
    out.append(path(cfg, "raw_labels", area=area))
    out += [path(cfg, "ard", tile=t) for t in cfg.tiles]
    out += [path(cfg, "lidar_products", tile=t) for t in cfg.tiles]
    out.append(path(cfg, "training", area=area))
    out += [path(cfg, "model", model=m) for m in model_ids(cfg)]
    out += [path(cfg, "map", product=product, tile=t) for t in cfg.tiles]
    return out


# Config sections each stage's outputs depend on. A rule's params carry the hash of
# its sections, so Snakemake re-runs exactly the stages whose settings changed.
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "demo": ("area", "grid", "demo"),
    "fetch": ("area", "sources"),
    "ard": ("grid", "sources", "ard"),
    "lidar": ("grid",),
    "samples": ("grid", "ard", "classes", "training", "sources"),
    "train": ("classes", "training", "models", "threads"),
    "predict": ("grid", "classes", "map"),
    "publish": ("area", "catalog", "classes"),
}


def stage_hash(cfg: Config, stage: str) -> str:
    """Short hash of the config sections that ``stage``'s outputs depend on."""
    from sporbar.config import config_hash

    return config_hash({k: cfg.data.get(k) for k in STAGE_SECTIONS[stage]})[:16]
