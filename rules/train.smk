# train: samples -> one fitted classifier per models[] entry, with spatially blocked CV metrics.
# Each model is a version (models/<model>/<version>/); the manifest lists the one this run made.


rule train:
    input:
        samples=expand(PAT["training_job"], area=AREA),
    output:
        manifest=report(
            PAT["model_job"],
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
        " --samples {input.samples} --manifest {output.manifest} &> {log}"
