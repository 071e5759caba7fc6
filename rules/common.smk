# Shared by every rule: the validated config, output patterns, input functions.
# Input functions are one-liners over sporbar.workflow.plan (unit-tested there).
import os
import sys
from pathlib import Path

from sporbar.config import Config, validate as validate_config
from sporbar.workflow import plan
from sporbar.workflow.effective import write_effective_config
from sporbar.workflow.preflight import check_inputs


envvars:
    "PATH",


# Steps run the `sporbar` installed beside this Snakemake, so the two cannot drift apart.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

CFG = Config(data=validate_config(config, source="config"), source="config")
# User input files are checked before any job is scheduled.
check_inputs(CFG)
# The effective config (file + command-line overrides) that every sporbar step reads.
CONFIG_FILE = write_effective_config(CFG)
PAT = {name: plan.pattern(CFG, name) for name in plan.PATTERNS}
ROOT = str(CFG.root)
AREA = CFG.data["area"]["name"]
PRODUCT = CFG.data["map"]["product"]


wildcard_constraints:
    tile=r"E-?\d+N-?\d+",
    scene=r"S2[ABC]_MSIL2A_\w+",
    lidar_tile=r"lidar_-?\d+_-?\d+",
    model=r"[a-z0-9-]+",


def scene_items(wildcards):
    # demo: known from the config; real sources: read after the search_s2 checkpoint
    if plan.s2_source(CFG) == "demo":
        return [plan.path(CFG, "raw_s2", scene=s) for s in plan.scene_ids(CFG)]
    search = checkpoints.search_s2.get().output.search
    return [plan.path(CFG, "raw_s2", scene=s) for s in plan.scene_ids(CFG, Path(search))]


def lidar_items_for_tile(wildcards):
    if plan.lidar_source(CFG) != "demo":
        checkpoints.search_lidar.get()
    return [plan.path(CFG, "raw_lidar", lidar_tile=t) for t in plan.lidar_tiles_for(CFG, wildcards.tile)]


def s2_fetch_source(wildcards):
    if plan.s2_source(CFG) == "demo":
        return {"index": PAT["demo_index"]}
    return {"search": PAT["s2_search"]}


def s2_fetch_args(wildcards, input):
    if plan.s2_source(CFG) == "demo":
        return f"--source-dir {Path(input.index).parent}"
    return f"--source {plan.s2_source(CFG)} --search {input.search}"


def lidar_fetch_source(wildcards):
    if plan.lidar_source(CFG) == "demo":
        return {"index": PAT["demo_index"]}
    return {"search": PAT["lidar_search"]}


def lidar_fetch_args(wildcards, input):
    if plan.lidar_source(CFG) == "demo":
        return f"--source-dir {Path(input.index).parent}"
    return f"--source {plan.lidar_source(CFG)} --search {input.search}"


def publish_inputs(wildcards):
    # every item of the run; real sources' scenes/tiles are known only after their search
    # checkpoints, so read them then (a parse-time list would change on the next run)
    if plan.s2_source(CFG) != "demo":
        checkpoints.search_s2.get()
    if plan.lidar_source(CFG) != "demo":
        checkpoints.search_lidar.get()
    return [str(p) for p in plan.all_outputs(CFG)]


def ard_items(wildcards):
    return [plan.path(CFG, "ard", tile=t) for t in CFG.tiles]


def lidar_product_items(wildcards):
    return [plan.path(CFG, "lidar_products", tile=t) for t in CFG.tiles]


def labels_source(wildcards):
    return plan.labels_source(CFG)
