# lidar: delivered LAZ tiles -> DTM, DSM, CHM and point density on each grid tile.


rule lidar_products:
    input:
        laz=lidar_items_for_tile,
    output:
        item=PAT["lidar_products"],
    params:
        rule="lidar_products",
        config=CONFIG_FILE,
        stage=plan.stage_hash(CFG, "lidar"),
    log:
        f"{ROOT}/logs/lidar_products/{{tile}}.log",
    benchmark:
        f"{ROOT}/benchmarks/lidar_products/{{tile}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "sporbar --rule {params.rule} lidar -c {params.config} --tile {wildcards.tile}"
        " -o {output.item} --overwrite {input.laz} &> {log}"
