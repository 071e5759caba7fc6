# predict: the chosen model applied to each tile of a job block -> class map + confidence COGs.


rule predict:
    input:
        model=expand(PAT["model_job"], model=CFG.data["map"]["model"]),
        ard=PAT["ard_job"],
        lidar=PAT["lidar_products_job"],
        s1=S1_ARD_JOB,
    output:
        manifest=PAT["map_job"],
    params:
        rule="predict",
        config=effective_config,
        s1=s1_predict_args,
        stage=plan.stage_hash(CFG, "predict"),
    log:
        plan.log_pattern(CFG, "predict"),
    benchmark:
        plan.benchmark_pattern(CFG, "predict")
    threads: CFG.data["threads"]
    resources:
        mem_mb=4000,
        runtime=60 * plan.job_block(CFG) ** 2,
    shell:
        "sporbar --rule {params.rule} predict -c {params.config} --block {wildcards.block}"
        " --model {input.model} --ard {input.ard} --lidar {input.lidar} {params.s1}"
        " --manifest {output.manifest} &> {log}"
