# NIRD staging (config section `staging`; see README "Run on Sigma2").
# NIRD project areas are mounted on Sigma2 login nodes, not on compute nodes, so stage-out
# is a local rule: it runs in the head process, which must then run where NIRD is visible
# (a login node; `bash slurm/submit.sh CONFIG saga` again on the login node after the sbatch
# head job finishes runs only this step). Every file is verified by sha2-256; a second run
# copies only what is missing or differs. Disabled: no rule, and the DAG is unchanged.
from sporbar.workflow import staging as _staging

STAGING = _staging.settings(CFG)
STAGE_OUT = []

if STAGING["enabled"]:
    NIRD_AREA = str(_staging.nird_area(CFG))
    STAGE_OUT = [f"{NIRD_AREA}/stage-out-manifest.json"]

    rule stage_out:
        input:
            catalog=PAT["catalog"],
            metadata=f"{ROOT}/metadata/dcat/catalog.ttl",
        output:
            manifest=STAGE_OUT[0],
        params:
            rule="stage_out",
            # <root>/<staging.outputs>, <nird_root>/<area>, <nird_root>: derived from input/output
            sources=lambda w, input: [
                str(Path(input.catalog).parent.parent / name) for name in STAGING["outputs"]
            ],
            dest=lambda w, output: str(Path(output.manifest).parent),
            nird_root=lambda w, output: str(Path(output.manifest).parent.parent),
        log:
            plan.log_pattern(CFG, "stage_out"),
        localrule: True
        threads: 1
        resources:
            mem_mb=1000,
            runtime=240,
        shell:
            "sporbar --rule {params.rule} stage {params.sources} {params.dest}"
            " --require {params.nird_root} --manifest {output.manifest} &> {log}"
