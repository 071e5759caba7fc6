# predict: the chosen model applied to each tile -> class map + confidence COGs.


rule predict:
    input:
        model=expand(PAT["model"], model=CFG.data["map"]["model"]),
        ard=PAT["ard"],
        lidar=PAT["lidar_products"],
    output:
        item=PAT["map"],
    params:
        rule="predict",
        config=CONFIG_FILE,
        stage=plan.stage_hash(CFG, "predict"),
    log:
        f"{ROOT}/logs/predict/{{product}}/{{tile}}.log",
    benchmark:
        f"{ROOT}/benchmarks/predict/{{product}}/{{tile}}.tsv"
    threads: CFG.data["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "sporbar --rule {params.rule} predict -c {params.config} --tile {wildcards.tile}"
        " --model {input.model} --ard {input.ard} --lidar {input.lidar}"
        " -o {output.item} --overwrite &> {log}"
