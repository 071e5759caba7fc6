# train: samples -> one fitted classifier per models[] entry, with spatially blocked CV metrics.


rule train:
    input:
        samples=expand(PAT["training"], area=AREA),
    output:
        item=report(
            PAT["model"],
            caption="../workflow/report/model.rst",
            category="Models",
            labels={"model": "{model}"},
        ),
    params:
        rule="train",
        config=effective_config,
        stage=plan.stage_hash(CFG, "train"),
    log:
        plan.log_pattern(CFG, "train"),
    benchmark:
        plan.benchmark_pattern(CFG, "train")
    threads: CFG.data["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "sporbar --rule {params.rule} train -c {params.config} --model {wildcards.model}"
        " --samples {input.samples} -o {output.item} --overwrite &> {log}"
