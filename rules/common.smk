# Shared by every rule: the validated config, output patterns, input functions.
# Input functions are one-liners over sporbar.workflow.plan (unit-tested there).
import os
import sys
from pathlib import Path

from sporbar.bands import s1_enabled
from sporbar.config import Config, config_warnings, validate as validate_config
from sporbar.workflow import plan
from sporbar.workflow.effective import write_effective_config
from sporbar.workflow.missing import damaged_outputs
from sporbar.workflow.preflight import check_inputs


envvars:
    "PATH",


# Steps run the `sporbar` installed beside this Snakemake, so the two cannot drift apart.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# Validated against workflow/schemas/config.schema.yaml as `sporbar check-config` does, with
# its one-line message naming the file and the key (not Snakemake's dump of the schema).
CONFIG_SOURCE = ", ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml"
CFG = Config(data=validate_config(config, source=CONFIG_SOURCE), source=CONFIG_SOURCE)
# User input files are checked before any job is scheduled; likely mistakes are shown.
check_inputs(CFG)
for _warning in config_warnings(CFG):
    print(f"warning: {_warning}", file=sys.stderr)
# The effective config (file + command-line overrides) that every sporbar step reads, named
# by its hash, so a parse with another config never changes the file a running step reads.
CONFIG_FILE = write_effective_config(CFG)
PAT = {name: plan.pattern(CFG, name) for name in plan.PATTERNS}
ROOT = str(CFG.root)
AREA = CFG.data["area"]["name"]
PRODUCT = CFG.data["map"]["product"]
# The job blocks and the lidar index, worked out once per parse.
PLAN = plan.Plan(CFG)
# Per-tile stages run one job per job block of `job_block` x `job_block` tiles.
BLOCKS = PLAN.blocks


wildcard_constraints:
    tile=r"E-?\d+N-?\d+",
    block=r"E-?\d+N-?\d+",
    scene=r"S2[ABC]_MSIL2A_\w+",
    lidar_tile=r"lidar_-?\d+_-?\d+",
    model=r"[a-z0-9-]+",


def effective_config(wildcards, input):
    # params.config of every rule. A param function that takes `input` is "derived" to Snakemake
    # and left out of its params rerun trigger: a new config (a new file name) re-runs only the
    # stages whose settings changed (params.stage), not every rule.
    return CONFIG_FILE


def scene_items(wildcards):
    # real sources: the scene list is read after the search_s2 checkpoint
    search = checkpoints.search_s2.get().output.search
    return [plan.path(CFG, "raw_s2", scene=s) for s in plan.scene_ids(CFG, Path(search))]


def lidar_fetch_manifests(wildcards):
    # the lidar fetch jobs whose delivered tiles overlap this block (itself and neighbours)
    if plan.lidar_source(CFG) != "demo":
        checkpoints.search_lidar.get()
    return [plan.path(CFG, "raw_lidar_job", block=b) for b in PLAN.lidar_blocks_for(wildcards.block)]


# What does not depend on wildcards is computed once here, not in input functions: Snakemake
# inspects an input function's signature on every call, which is seconds at 10,000 tiles.
if plan.s2_source(CFG) == "demo":
    ARD_SCENES = [str(plan.path(CFG, "raw_s2", scene=s)) for s in plan.scene_ids(CFG)]
    S2_FETCH_INPUT = {"index": PAT["demo_index"]}
    S2_FETCH_ARGS = f"--source-dir {Path(PAT['demo_index']).parent}"
else:
    ARD_SCENES = scene_items
    S2_FETCH_INPUT = {"search": PAT["s2_search"]}
    S2_FETCH_ARGS = f"--source {plan.s2_source(CFG)} --search {PAT['s2_search']}"

if plan.lidar_source(CFG) == "demo":
    LIDAR_FETCH_INPUT = {"index": PAT["demo_index"]}
    LIDAR_FETCH_ARGS = f"--source-dir {Path(PAT['demo_index']).parent}"
else:
    LIDAR_FETCH_INPUT = {"search": PAT["lidar_search"]}
    LIDAR_FETCH_ARGS = f"--source {plan.lidar_source(CFG)} --search {PAT['lidar_search']}"

# The interpreted validation sample (accuracy.reference), an input of the assessment; none for 'demo'.
ACCURACY_REFERENCE_FILES = [r for r in [plan.accuracy_reference(CFG)] if r not in (None, "demo")]

# Sentinel-1 GRD (sources.sentinel1, off by default): fetch_s1 reads the demo index or the search_s1 result.
if plan.s1_source(CFG) == "demo":
    S1_FETCH_INPUT = {"index": PAT["demo_index"]}
    S1_FETCH_ARGS = f"--source-dir {Path(PAT['demo_index']).parent}"
else:
    S1_FETCH_INPUT = {"search": PAT["s1_search"]}
    S1_FETCH_ARGS = f"--source {plan.s1_source(CFG)} --search {PAT['s1_search']}"


def s1_items(wildcards):
    # none while sources.sentinel1 is off; the demo's from the config; else read after the search_s1 checkpoint
    if plan.s1_source(CFG) in ("none", "demo"):
        return [plan.path(CFG, "raw_s1", scene=s) for s in plan.s1_scene_ids(CFG)]
    search = checkpoints.search_s1.get().output.search
    return [plan.path(CFG, "raw_s1", scene=s) for s in plan.s1_scene_ids(CFG, Path(search))]


# The Sentinel-1 ARD job manifests samples and predict read (features), while sources.sentinel1 is on.
S1_ARD_JOBS = expand(PAT["s1_ard_job"], block=BLOCKS) if s1_enabled(CFG.data) else []
S1_ARD_JOB = [PAT["s1_ard_job"]] if s1_enabled(CFG.data) else []


def s1_predict_args(wildcards, input):
    return " ".join(f"--s1 {p}" for p in input.s1)


# s1_ard's DEM: the lidar products of the same block (s1_ard.dem: lidar), or none (ellipsoid geocoding).
S1_DEM_INPUT = [PAT["lidar_products_job"]] if CFG.data["s1_ard"]["dem"] == "lidar" else []


def s1_dem_args(wildcards, input):
    return " ".join(f"--dem {p}" for p in input.dem)


def publish_inputs(wildcards):
    # every item of the run; real sources' scenes/tiles are known only after their search
    # checkpoints, so read them then (a parse-time list would change on the next run)
    if plan.s2_source(CFG) != "demo":
        checkpoints.search_s2.get()
    if plan.lidar_source(CFG) != "demo":
        checkpoints.search_lidar.get()
    s1_items(wildcards)  # with Sentinel-1 on: its search_s1 checkpoint, so all_outputs lists the S1 items
    outputs = PLAN.tracked_outputs()
    force_damaged(outputs)
    return [str(p) for p in outputs]


def force_damaged(outputs):
    # Made outputs whose data files were deleted since (a raw band, an ARD composite, a map
    # tile): Snakemake knows only the item or manifest and would call them done. Their jobs are
    # forced, so a re-run redoes what is missing. The DAG reads forcefiles when it decides what
    # needs to run, after every input function; only in the head, not in a job's own Snakemake.
    if not workflow.is_main_process:
        return
    for output, gone in damaged_outputs(outputs).items():
        print(f"{output}: {len(gone)} file(s) missing ({gone[0]}); its job runs again", file=sys.stderr)
        workflow.dag.forcefiles.add(str(output))


def labels_source(wildcards):
    return plan.labels_source(CFG)
