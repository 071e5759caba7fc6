# sporbar: raw Sentinel-2 + airborne lidar -> ARD -> training data -> models -> maps -> STAC catalog.
# Every output is a folder with its data and an item.json recording its provenance.
#
#   snakemake --cores 2 --configfile config/config.yaml          # the demo area
#   snakemake --profile slurm/saga --configfile config/myarea.yaml  # on Sigma2
from snakemake.utils import min_version

min_version("9.0")


# The user's --configfile alone, never merged with another file: a key it lacks is an error
# (rules/common.smk validates it), not the demo's value. The demo config only without one.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"



report: "workflow/report/workflow.rst"


# The image every rule runs in with --software-deployment-method apptainer (see containers/).
container: "containers/sporbar.sif"


# Cheap bookkeeping steps run in the head job, not as Slurm jobs.
localrules:
    all,
    demo_source,
    publish,
    export_metadata,


include: "rules/common.smk"
include: "rules/fetch.smk"
include: "rules/ard.smk"
include: "rules/lidar.smk"
include: "rules/s1_ard.smk"
include: "rules/training.smk"
include: "rules/train.smk"
include: "rules/predict.smk"
include: "rules/accuracy.smk"
include: "rules/publish.smk"
include: "rules/staging.smk"


rule all:
    input:
        catalog=PAT["catalog"],
        metadata=f"{ROOT}/metadata/dcat/catalog.ttl",
        # staging.enabled: the stage-out manifest on NIRD (rules/staging.smk); else nothing.
        staged=STAGE_OUT,
    default_target: True
