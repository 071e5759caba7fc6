"""Output paths and the wildcard values of every rule, from the config alone.

Snakemake calls these at DAG-build time, so they never open data files: their
cost is linear in the number of tiles and scenes. The same functions are used by
the CLI and tests, so paths are defined exactly once.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from sporbar.bands import s1_enabled
from sporbar.config import Config, demo_reference_unused
from sporbar.demo.names import demo_lidar_tile_ids, demo_s1_scene_ids, demo_scene_ids, lidar_tile_bounds
from sporbar.workflow.lidar_index import Bounds, LidarIndex, build_lidar_index

ITEM = "item.json"

# Path patterns below the output root. Wildcards: scene, lidar_tile, area, tile, model, product,
# version (the content hash of a training set or model; see sporbar.stac.versions).
PATTERNS: dict[str, str] = {
    "demo_index": "demo-source/index.json",
    "raw_s2": "raw/sentinel-2-l2a/{scene}/" + ITEM,
    "s2_search": "raw/sentinel-2-l2a/search.json",
    "raw_s1": "raw/sentinel-1-grd/{scene}/" + ITEM,
    "s1_search": "raw/sentinel-1-grd/search.json",
    "lidar_search": "raw/lidar/search.json",
    "raw_lidar": "raw/lidar/{lidar_tile}/" + ITEM,
    "raw_labels": "raw/labels/{area}/" + ITEM,
    "ard": "ard/sentinel-2-l2a/{tile}/" + ITEM,
    "s1_ard": "ard/sentinel-1-grd/{tile}/" + ITEM,
    "lidar_products": "lidar/products/{tile}/" + ITEM,
    "training": "training/{area}/{version}/" + ITEM,
    "model": "models/{model}/{version}/" + ITEM,
    "map": "maps/{product}/{tile}/" + ITEM,
    # The map's accuracy: the validation sample (for interpreters), then the assessment.
    "validation_sample": "accuracy/{product}/sample/" + ITEM,
    "accuracy": "accuracy/{product}/assessment/" + ITEM,
    "catalog": "catalog/catalog.json",
    # Job manifests: per job block, the items a per-tile stage wrote (sporbar.workflow.blocks).
    # Snakemake tracks these, so one job can do several tiles (`job_block` in the config).
    # Workflow bookkeeping, like logs/: kept out of the data folders.
    "raw_lidar_job": "jobs/fetch_lidar/{block}.json",
    "ard_job": "jobs/ard/{block}.json",
    "s1_ard_job": "jobs/s1_ard/{block}.json",
    "lidar_products_job": "jobs/lidar_products/{block}.json",
    "map_job": "jobs/predict/{product}/{block}.json",
    # Versioned items (training sets, models): the version a run made is known only after the
    # step, so Snakemake tracks a manifest per series listing it (sporbar.workflow.blocks).
    "training_job": "jobs/samples/{area}.json",
    "model_job": "jobs/train/{model}.json",
}

# Log file of each rule below the root (its benchmark file: the same below benchmarks/, .tsv).
# Per-tile stages log per job block (`job_block`), not per tile.
LOGS: dict[str, str] = {
    "demo_source": "logs/demo_source.log",
    "search_s2": "logs/search_s2.log",
    "search_s1": "logs/search_s1.log",
    "search_lidar": "logs/search_lidar.log",
    "fetch_s2": "logs/fetch_s2/{scene}.log",
    "fetch_s1": "logs/fetch_s1/{scene}.log",
    "fetch_lidar": "logs/fetch_lidar/{block}.log",
    "fetch_labels": "logs/fetch_labels/{area}.log",
    "ard": "logs/ard/{block}.log",
    "s1_ard": "logs/s1_ard/{block}.log",
    "lidar_products": "logs/lidar_products/{block}.log",
    "samples": "logs/samples/{area}.log",
    "train": "logs/train/{model}.log",
    "predict": "logs/predict/{product}/{block}.log",
    "validation_sample": "logs/validation_sample/{product}.log",
    "assess": "logs/assess/{product}.log",
    "publish": "logs/publish.log",
    "export_metadata": "logs/export_metadata.log",
    "stage_out": "logs/stage_out.log",
}


def log_pattern(cfg: Config, rule: str) -> str:
    """Snakemake ``log:`` pattern of ``rule`` (wildcards left in braces)."""
    return str(cfg.root / LOGS[rule])


def benchmark_pattern(cfg: Config, rule: str) -> str:
    """Snakemake ``benchmark:`` pattern of ``rule``: its log path below benchmarks/, as .tsv."""
    rel = LOGS[rule].removeprefix("logs/").removesuffix(".log")
    return str(cfg.root / "benchmarks" / f"{rel}.tsv")


def path(cfg: Config, name: str, **wildcards: str) -> Path:
    """Path of output ``name`` (a key of PATTERNS) below the config's root."""
    return cfg.root / PATTERNS[name].format(**wildcards)


def series_dir(cfg: Config, name: str, **wildcards: str) -> Path:
    """Folder holding every version of versioned output ``name`` (``training``, ``model``).

    E.g. ``<root>/models/rf``: each version's item is ``<series_dir>/<version>/item.json``.
    """
    return cfg.root / PATTERNS[name].split("{version}")[0].format(**wildcards)


def pattern(cfg: Config, name: str) -> str:
    """Snakemake path pattern of output ``name`` (wildcards left in braces)."""
    return str(cfg.root / PATTERNS[name])


def s2_source(cfg: Config) -> str:
    """The Sentinel-2 source kind: demo, dhus, stac_api or local."""
    return str(cfg.data["sources"]["sentinel2"]["source"])


def s1_source(cfg: Config) -> str:
    """The Sentinel-1 GRD source kind: none (section absent or off), demo, dhus, stac_api or local."""
    return str((cfg.data["sources"].get("sentinel1") or {}).get("source", "none"))


# Sentinel-1 GRD product names (the fetch_s1 wildcard): mission, beam (IW, EW, WV, strip-map
# S1..S6), GRD + resolution class, then the rest (STAC APIs may drop the final CRC).
S1_SCENE_PATTERN = r"S1[A-D]_(?:IW|EW|WV|S[1-6])_GRD[FHM]_\w+"


def s1_scene_ids(cfg: Config, search_json: Path | None = None) -> list[str]:
    """Sentinel-1 GRD product names the config's S1 source delivers, in date order.

    None when ``sources.sentinel1`` is off; the demo archive's from the config alone; else the ids
    of the search result file
    (``search_json``, default ``raw/sentinel-1-grd/search.json``, written by ``sporbar search s1``),
    or none while it does not exist yet (the ``search_s1`` checkpoint has not run).
    """
    if search_json is None and s1_source(cfg) == "demo":
        return demo_s1_scene_ids(cfg)
    if search_json is None:
        if s1_source(cfg) == "none" or not path(cfg, "s1_search").exists():
            return []
        search_json = path(cfg, "s1_search")
    return _search_ids(search_json)


def s1_items(cfg: Config) -> list[Path]:
    """The raw Sentinel-1 items of the run (empty while not searched, or with S1 off)."""
    return [path(cfg, "raw_s1", scene=s) for s in s1_scene_ids(cfg)]


def lidar_source(cfg: Config) -> str:
    """The lidar source kind: demo, stac_api, urls or local."""
    return str(cfg.data["sources"]["lidar"]["source"])


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


def lidar_tile_ids(cfg: Config, search_json: Path | None = None) -> list[str]:
    """Delivered lidar tiles (their own tiling) that cover the area.

    Non-demo sources: the tile ids of the lidar search result (``raw/lidar/search.json``).
    """
    if search_json is not None or (lidar_source(cfg) != "demo" and path(cfg, "lidar_search").exists()):
        return _search_ids(search_json or path(cfg, "lidar_search"))
    return demo_lidar_tile_ids(cfg)


def lidar_bounds(cfg: Config) -> dict[str, Bounds]:
    """Delivered lidar tile -> (minx, miny, maxx, maxy) metres: the demo tiling, or the search result's.

    Raises:
        MissingInputError: a non-demo source whose search result does not exist yet.
    """
    if lidar_source(cfg) == "demo":
        return {t: lidar_tile_bounds(cfg, t) for t in lidar_tile_ids(cfg)}
    import json

    search_json = path(cfg, "lidar_search")
    _search_ids(search_json)  # raises if absent
    doc = json.loads(search_json.read_text(encoding="utf-8"))
    return {t["id"]: tuple(t["bounds"]) for t in doc["scenes"]}


def job_block(cfg: Config) -> int:
    """Grid tiles per side of one job block (``job_block`` in the config, default 1)."""
    return int(cfg.data.get("job_block", 1))


def block_of(cfg: Config, tile: str) -> str:
    """Id of the job block holding ``tile``: the id of the block's lower-left grid tile."""
    k = job_block(cfg)
    ix, iy = cfg.grid.tile_index(tile)
    return cfg.grid.tile_id(ix // k * k, iy // k * k)


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


def all_outputs(cfg: Config) -> list[Path]:
    """Every item the pipeline writes for this config (what `publish --all` catalogs).

    Training sets and models are listed as their job manifests (``training_job``,
    ``model_job``): which version a run makes is known only after it ran. Expand them with
    ``sporbar.workflow.blocks.expand_items``.
    """
    return _outputs(cfg, blocks=None)


def _outputs(cfg: Config, *, blocks: list[str] | None) -> list[Path]:
    """The run's items; with ``blocks``, the per-tile stages' job manifests instead of their items."""
    area = cfg.data["area"]["name"]
    product = cfg.data["map"]["product"]

    def per_tile(name: str, **wildcards: str) -> list[Path]:
        if blocks is not None:
            return [path(cfg, f"{name}_job", block=b, **wildcards) for b in blocks]
        return [path(cfg, name, tile=t, **wildcards) for t in cfg.tiles]

    searched = s2_source(cfg) == "demo" or path(cfg, "s2_search").exists()
    out = [path(cfg, "raw_s2", scene=s) for s in scene_ids(cfg)] if searched else []
    if lidar_source(cfg) == "demo" or path(cfg, "lidar_search").exists():
        out += (per_tile("raw_lidar") if blocks is not None
                else [path(cfg, "raw_lidar", lidar_tile=t) for t in lidar_tile_ids(cfg)])
    out += s1_items(cfg)
    out.append(path(cfg, "raw_labels", area=area))
    out += per_tile("ard") + per_tile("lidar_products")
    if s1_enabled(cfg.data):
        out += per_tile("s1_ard")
    out.append(path(cfg, "training_job", area=area))
    out += [path(cfg, "model_job", model=m) for m in model_ids(cfg)]
    out += per_tile("map", product=product)
    out.append(path(cfg, "validation_sample", product=product))
    if accuracy_reference(cfg) is not None:
        out.append(path(cfg, "accuracy", product=product))
    return out


def accuracy_reference(cfg: Config) -> str | None:
    """``accuracy.reference``: 'demo', the interpreted sample file, or None (no labels yet: no assessment).

    'demo' with real sources is None too: there is no synthetic truth (``config_warnings`` says so).
    """
    ref = cfg.data["accuracy"].get("reference")
    return None if ref is None or demo_reference_unused(cfg.data) else str(ref)


def map_items(cfg: Config) -> list[Path]:
    """The map items of every tile of the config's product (what the accuracy steps read)."""
    return [path(cfg, "map", product=cfg.data["map"]["product"], tile=t) for t in cfg.tiles]


class Plan:
    """The jobs of a run: the job blocks and the lidar index, each worked out once.

    Snakemake asks per tile and per block, thousands of times per DAG build; one ``Plan`` per
    parse (``rules/common.smk``) or per CLI command answers from what it built on the first
    question. A ``Plan`` reads no data file, except a real lidar source's search result.

    Attributes:
        cfg: the validated config.
    """

    def __init__(self, cfg: Config) -> None:
        """A plan of ``cfg``; it works nothing out until first asked."""
        self.cfg = cfg
        # (search result mtime, index): the lidar search checkpoint may rewrite the file
        # while Snakemake runs, and the index of the old file must not be used after it.
        self._lidar: tuple[int | None, LidarIndex] | None = None

    @cached_property
    def block_map(self) -> dict[str, list[str]]:
        """Job block id -> its grid tiles, sorted (``job_block`` x ``job_block`` tiles at most)."""
        out: dict[str, list[str]] = {}
        for t in self.cfg.tiles:
            out.setdefault(block_of(self.cfg, t), []).append(t)
        return out

    @cached_property
    def blocks(self) -> list[str]:
        """Ids of the job blocks covering the area, sorted. With ``job_block: 1`` the tile ids."""
        return sorted(self.block_map)

    def block_tiles(self, block: str) -> list[str]:
        """The area's grid tiles in job block ``block``, sorted.

        Raises:
            GridError: no tile of the area is in that block.
        """
        from sporbar.errors import GridError

        try:
            return list(self.block_map[block])
        except KeyError:
            raise GridError(f"{block}: not a job block of area {self.cfg.data['area']['name']} "
                            f"(job_block {job_block(self.cfg)}); see `sporbar tiles`") from None

    def lidar_index(self) -> LidarIndex:
        """The lidar index of the current lidar search result (or of the demo tiling)."""
        search_json = path(self.cfg, "lidar_search")
        key = search_json.stat().st_mtime_ns if lidar_source(self.cfg) != "demo" and search_json.exists() else None
        if self._lidar is None or self._lidar[0] != key:
            index = build_lidar_index(self.cfg.grid, self.cfg.tiles, lidar_bounds(self.cfg),
                                      lambda t: block_of(self.cfg, t), float(self.cfg.data["lidar"]["buffer"]))
            self._lidar = (key, index)
        return self._lidar[1]

    def lidar_tiles_for(self, tile: str) -> list[str]:
        """Delivered lidar tiles overlapping grid tile ``tile`` or its ``lidar.buffer`` (touching edges don't count)."""
        return list(self.lidar_index().overlaps.get(tile, ()))

    def block_lidar_tiles(self, block: str) -> list[str]:
        """Delivered lidar tiles fetched by job block ``block`` (those whose centre it holds)."""
        return list(self.lidar_index().owned.get(block, ()))

    def lidar_blocks_for(self, block: str) -> list[str]:
        """Job blocks whose lidar fetch delivers tiles that overlap the tiles of ``block``."""
        index = self.lidar_index()
        return sorted({index.owner[lt] for t in self.block_tiles(block) for lt in index.overlaps.get(t, ())})

    def tracked_outputs(self) -> list[Path]:
        """The files Snakemake tracks.

        Per-scene and per-area items, and the job manifests of the per-tile stages (each lists
        its tiles' items). ``all_outputs`` lists items.
        """
        return _outputs(self.cfg, blocks=self.blocks)


# The config settings each stage reads (dotted key paths), so a rule's params carry the hash
# of what its outputs depend on and Snakemake re-runs exactly the stages whose settings
# changed: a new label file re-runs the label fetch, not the Sentinel-2 fetch or ARD.
# The per-tile stages hash ``job_block``: a block's manifest lists the tiles of the layout it
# was made with, and the same block id holds other tiles under another job_block.
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "demo": ("area", "demo", "sources.labels.class_column"),
    "search_s2": ("area", "grid.crs", "ard.periods", "sources.sentinel2"),
    "fetch_s2": ("area", "sources.sentinel2"),
    "search_s1": ("area", "grid.crs", "ard.periods", "sources.sentinel1"),
    "fetch_s1": ("area", "sources.sentinel1"),
    "search_lidar": ("area", "grid.crs", "sources.lidar"),
    "fetch_lidar": ("area", "grid", "job_block", "sources.lidar"),
    "fetch_labels": ("area", "classes", "sources.labels"),
    "ard": ("grid", "job_block", "ard", "sources.sentinel2.max_cloud_cover"),
    "lidar": ("grid", "job_block", "sources.lidar.epsg", "lidar"),
    "s1_ard": ("grid", "job_block", "ard.periods", "s1_ard"),
    "samples": ("grid", "ard", "classes", "training", "sources.labels.class_column", "lidar.metrics",
                "sources.sentinel1.source", "s1_ard.enabled"),
    "train": ("classes", "training", "models", "threads", "lidar.metrics", "sources.sentinel1.source",
              "s1_ard.enabled"),
    "predict": ("grid", "job_block", "classes", "map", "lidar.metrics", "sources.sentinel1.source",
                "s1_ard.enabled"),
    "validation_sample": ("grid", "classes", "map", "accuracy.per_class", "accuracy.target_standard_error",
                          "accuracy.expected_users_accuracy", "accuracy.min_per_class", "accuracy.seed"),
    "assess": ("grid", "classes", "map", "accuracy", "demo", "area"),
    "publish": ("area", "catalog", "classes"),
    "export_metadata": ("metadata",),
}


def _setting(cfg: Config, key: str) -> object:
    """The config value at dotted path ``key`` (``sources.labels.path``), or None where absent."""
    value: object = cfg.data
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def stage_hash(cfg: Config, stage: str) -> str:
    """Short hash of the config settings that ``stage``'s outputs depend on (``STAGE_SECTIONS``)."""
    from sporbar.config import config_hash

    return config_hash({k: _setting(cfg, k) for k in STAGE_SECTIONS[stage]})[:16]
