# accuracy: the map -> a stratified random validation sample (for interpreters) -> with reference
# labels (accuracy.reference: 'demo' truth or the interpreted GeoPackage), the area-adjusted
# accuracy and class areas with 95 % confidence intervals (Olofsson et al. 2014).


rule validation_sample:
    input:
        maps=expand(PAT["map_job"], product=PRODUCT, block=BLOCKS),
    output:
        item=PAT["validation_sample"],
    params:
        rule="validation_sample",
        config=effective_config,
        stage=plan.stage_hash(CFG, "validation_sample"),
    log:
        plan.log_pattern(CFG, "validation_sample"),
    benchmark:
        plan.benchmark_pattern(CFG, "validation_sample")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} validation-sample -c {params.config} --all-tiles"
        " -o {output.item} --overwrite &> {log}"


rule assess:
    input:
        sample=PAT["validation_sample"],
        maps=expand(PAT["map_job"], product=PRODUCT, block=BLOCKS),
        # the interpreted sample file, so that editing it re-runs the assessment (none for 'demo')
        reference=ACCURACY_REFERENCE_FILES,
    output:
        item=PAT["accuracy"],
    params:
        rule="assess",
        config=effective_config,
        stage=plan.stage_hash(CFG, "assess"),
        reference=plan.accuracy_reference(CFG),
    log:
        plan.log_pattern(CFG, "assess"),
    benchmark:
        plan.benchmark_pattern(CFG, "assess")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} assess -c {params.config} --all-tiles --sample {input.sample}"
        " --reference {params.reference} -o {output.item} --overwrite &> {log}"
