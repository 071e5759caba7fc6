# lidar: delivered LAZ tiles -> DTM, DSM, CHM and point density on each grid tile of a job block.


rule lidar_products:
    input:
        fetched=lidar_fetch_manifests,
    output:
        manifest=PAT["lidar_products_job"],
    params:
        rule="lidar_products",
        config=effective_config,
        stage=plan.stage_hash(CFG, "lidar"),
    log:
        plan.log_pattern(CFG, "lidar_products"),
    benchmark:
        plan.benchmark_pattern(CFG, "lidar_products")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60 * plan.job_block(CFG) ** 2,
    shell:
        "sporbar --rule {params.rule} lidar -c {params.config} --block {wildcards.block}"
        " --manifest {output.manifest} {input.fetched} &> {log}"
