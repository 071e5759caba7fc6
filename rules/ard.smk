# ard: Sentinel-2 scenes (+ the lidar DTM for the terrain correction) -> corrected, cloud-masked, per-period median composites + indices on each grid tile
# of a job block.


rule ard:
    input:
        scenes=ARD_SCENES,
        lidar=PAT["lidar_products_job"],
    output:
        manifest=PAT["ard_job"],
    params:
        rule="ard",
        config=effective_config,
        stage=plan.stage_hash(CFG, "ard"),
    log:
        plan.log_pattern(CFG, "ard"),
    benchmark:
        plan.benchmark_pattern(CFG, "ard")
    threads: CFG.data["threads"]
    resources:
        mem_mb=4000,
        runtime=60 * plan.job_block(CFG) ** 2,
    shell:
        "sporbar --rule {params.rule} ard -c {params.config} --block {wildcards.block}"
        " --manifest {output.manifest} --lidar {input.lidar} {input.scenes} &> {log}"
