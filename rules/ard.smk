# ard: Sentinel-2 scenes -> cloud-masked, per-period median composites + indices on each grid tile.


rule ard:
    input:
        scenes=scene_items,
    output:
        item=PAT["ard"],
    params:
        rule="ard",
        config=CONFIG_FILE,
        stage=plan.stage_hash(CFG, "ard"),
    log:
        f"{ROOT}/logs/ard/{{tile}}.log",
    benchmark:
        f"{ROOT}/benchmarks/ard/{{tile}}.tsv"
    threads: CFG.data["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "sporbar --rule {params.rule} ard -c {params.config} --tile {wildcards.tile}"
        " -o {output.item} --overwrite {input.scenes} &> {log}"
