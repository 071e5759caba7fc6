# s1_ard: Sentinel-1 GRD scenes (+ the lidar DTM as DEM) -> calibrated, geocoded backscatter statistics
# per period on each grid tile of a job block (only with sources.sentinel1 on).


rule s1_ard:
    input:
        scenes=s1_items,
        dem=S1_DEM_INPUT,
    output:
        manifest=PAT["s1_ard_job"],
    params:
        rule="s1_ard",
        config=effective_config,
        dem=s1_dem_args,
        stage=plan.stage_hash(CFG, "s1_ard"),
    log:
        plan.log_pattern(CFG, "s1_ard"),
    benchmark:
        plan.benchmark_pattern(CFG, "s1_ard")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30 * plan.job_block(CFG) ** 2,
    shell:
        "sporbar --rule {params.rule} s1-ard -c {params.config} --block {wildcards.block}"
        " {params.dem} --manifest {output.manifest} {input.scenes} &> {log}"
