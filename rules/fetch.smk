# fetch: raw data into raw/, one item per scene, lidar tile and label file.


rule demo_source:
    output:
        index=PAT["demo_index"],
    params:
        rule="demo_source",
        config=effective_config,
        outdir=lambda wildcards, output: Path(output.index).parent,
        stage=plan.stage_hash(CFG, "demo"),
    log:
        plan.log_pattern(CFG, "demo_source"),
    benchmark:
        plan.benchmark_pattern(CFG, "demo_source")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "sporbar --rule {params.rule} demo generate -c {params.config} -o {params.outdir} &> {log}"


# Real sources (dhus, stac_api, local) only know their products once searched: the
# checkpoint writes the scene list, and scene_items (common.smk) reads it afterwards.
checkpoint search_s2:
    output:
        search=PAT["s2_search"],
    params:
        rule="search_s2",
        config=effective_config,
        stage=plan.stage_hash(CFG, "search_s2"),
    log:
        plan.log_pattern(CFG, "search_s2"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "sporbar --rule {params.rule} search s2 -c {params.config} -o {output.search} &> {log}"


checkpoint search_lidar:
    output:
        search=PAT["lidar_search"],
    params:
        rule="search_lidar",
        config=effective_config,
        stage=plan.stage_hash(CFG, "search_lidar"),
    log:
        plan.log_pattern(CFG, "search_lidar"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "sporbar --rule {params.rule} search lidar -c {params.config} -o {output.search} &> {log}"


rule fetch_s2:
    input:
        **S2_FETCH_INPUT,
    output:
        item=PAT["raw_s2"],
    params:
        rule="fetch_s2",
        config=effective_config,
        source=S2_FETCH_ARGS,
        stage=plan.stage_hash(CFG, "fetch_s2"),
    log:
        plan.log_pattern(CFG, "fetch_s2"),
    benchmark:
        plan.benchmark_pattern(CFG, "fetch_s2")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} fetch s2 -c {params.config} {params.source}"
        " --scene {wildcards.scene} -o {output.item} --overwrite &> {log}"


# Sentinel-1 GRD (sources.sentinel1; off by default): searched and fetched like the real S2
# sources, items in raw/sentinel-1-grd/ (published, not used by ARD, training or maps).
checkpoint search_s1:
    output:
        search=PAT["s1_search"],
    params:
        rule="search_s1",
        config=effective_config,
        stage=plan.stage_hash(CFG, "search_s1"),
    log:
        plan.log_pattern(CFG, "search_s1"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "sporbar --rule {params.rule} search s1 -c {params.config} -o {output.search} &> {log}"


rule fetch_s1:
    input:
        **S1_FETCH_INPUT,
    output:
        item=PAT["raw_s1"],
    wildcard_constraints:
        scene=plan.S1_SCENE_PATTERN,
    params:
        rule="fetch_s1",
        config=effective_config,
        source=S1_FETCH_ARGS,
        stage=plan.stage_hash(CFG, "fetch_s1"),
    log:
        plan.log_pattern(CFG, "fetch_s1"),
    benchmark:
        plan.benchmark_pattern(CFG, "fetch_s1")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "sporbar --rule {params.rule} fetch s1 -c {params.config} {params.source}"
        " --scene {wildcards.scene} -o {output.item} --overwrite &> {log}"


# One job per job block: it fetches the delivered tiles whose centre the block holds.
rule fetch_lidar:
    input:
        **LIDAR_FETCH_INPUT,
    output:
        manifest=PAT["raw_lidar_job"],
    params:
        rule="fetch_lidar",
        config=effective_config,
        source=LIDAR_FETCH_ARGS,
        stage=plan.stage_hash(CFG, "fetch_lidar"),
    log:
        plan.log_pattern(CFG, "fetch_lidar"),
    benchmark:
        plan.benchmark_pattern(CFG, "fetch_lidar")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30 * plan.job_block(CFG) ** 2,
    shell:
        "sporbar --rule {params.rule} fetch lidar -c {params.config} {params.source}"
        " --block {wildcards.block} --manifest {output.manifest} &> {log}"


rule fetch_labels:
    input:
        unpack(labels_source),
    output:
        item=PAT["raw_labels"],
    params:
        rule="fetch_labels",
        config=effective_config,
        source=lambda wildcards, input: Path(input.index).parent,
        stage=plan.stage_hash(CFG, "fetch_labels"),
    log:
        plan.log_pattern(CFG, "fetch_labels"),
    benchmark:
        plan.benchmark_pattern(CFG, "fetch_labels")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "sporbar --rule {params.rule} fetch labels -c {params.config} --source-dir {params.source}"
        " -o {output.item} --overwrite &> {log}"
