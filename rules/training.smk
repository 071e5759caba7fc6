# training: label polygons + ARD + lidar products -> sampled feature table with spatial blocks and folds.
# The training set is a version (training/<area>/<version>/); the manifest lists the one this run made.


rule samples:
    input:
        labels=expand(PAT["raw_labels"], area=AREA),
        ard=expand(PAT["ard_job"], block=BLOCKS),
        lidar=expand(PAT["lidar_products_job"], block=BLOCKS),
        s1=S1_ARD_JOBS,
    output:
        manifest=PAT["training_job"],
    params:
        rule="samples",
        config=effective_config,
        stage=plan.stage_hash(CFG, "samples"),
    log:
        plan.log_pattern(CFG, "samples"),
    benchmark:
        plan.benchmark_pattern(CFG, "samples")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} samples -c {params.config} --manifest {output.manifest}"
        " --all-tiles &> {log}"
