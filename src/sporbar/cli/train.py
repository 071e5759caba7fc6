"""``sporbar train``: blocked cross-validation, then a model fitted on all samples."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config, run_context, version_manifest_option


@click.command("train")
@config_option
@click.option(
    "--model", "model_id", required=True, help="Model id (one of models[].id in the config)."
)
@click.option(
    "--samples",
    "samples_item",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Training item (training/<area>/<version>/item.json), or the samples job manifest listing it.",
)
@version_manifest_option
@click.pass_context
def train(
    ctx: click.Context,
    config_path: Path,
    model_id: str,
    samples_item: Path,
    manifest: Path | None,
) -> None:
    """Cross-validate over spatial blocks, fit on all samples, record a model item (MLM).

    The model is a version named by the hash of its training version, config entry, seed and
    code: results/models/<model>/<version>/item.json. An unchanged version is kept, not retrained.

    \b
      $ sporbar train -c config/config.yaml --model rf \\
          --samples results/jobs/samples/demo-gauldal.json --manifest results/jobs/train/rf.json
    """
    from sporbar.ml.run_train import run_train
    from sporbar.stac.versions import version_path
    from sporbar.workflow import plan
    from sporbar.workflow.blocks import expand_items, write_item_manifest

    cfg = load_config(config_path)
    samples = expand_items([samples_item])
    if len(samples) != 1:
        raise click.UsageError(f"--samples {samples_item}: lists {len(samples)} items, give one training item")
    series = plan.series_dir(cfg, "model", model=model_id)
    d = run_train(cfg, model_id=model_id, samples_item=samples[0], series_dir=series, ctx=run_context(ctx, cfg))
    output = version_path(series, d["properties"]["version"])
    if manifest is not None:
        write_item_manifest(manifest, stage="train", unit=model_id, item=output)
    m = d["properties"]["sporbar:metrics"]
    click.echo(
        f"{output}: {d['id']}, CV accuracy {m['overall_accuracy']:.3f} (baseline "
        f"{m['baseline_accuracy']:.3f}), kappa {m['kappa']:.3f}, macro F1 {m['macro_f1']:.3f}"
    )
