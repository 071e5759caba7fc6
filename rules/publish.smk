# publish: every item of the run -> one self-contained static STAC catalog.


rule publish:
    input:
        outputs=publish_inputs,
    output:
        catalog=PAT["catalog"],
    params:
        rule="publish",
        config=effective_config,
        stage=plan.stage_hash(CFG, "publish"),
    log:
        plan.log_pattern(CFG, "publish"),
    benchmark:
        plan.benchmark_pattern(CFG, "publish")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} publish -c {params.config} -o {output.catalog} --all &> {log}"


rule export_metadata:
    input:
        catalog=PAT["catalog"],
    output:
        dcat=f"{ROOT}/metadata/dcat/catalog.ttl",
    params:
        rule="export_metadata",
        config=effective_config,
        stage=plan.stage_hash(CFG, "export_metadata"),
        outdir=lambda wildcards, output: Path(output.dcat).parent.parent,
    log:
        plan.log_pattern(CFG, "export_metadata"),
    benchmark:
        plan.benchmark_pattern(CFG, "export_metadata")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "sporbar --rule {params.rule} export-metadata {input.catalog} -c {params.config} -o {params.outdir} &> {log}"
