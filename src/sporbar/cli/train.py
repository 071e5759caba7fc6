"""``sporbar train``: blocked cross-validation, then a model fitted on all samples."""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import (
    config_option,
    load_config,
    output_item_option,
    overwrite_option,
    run_context,
)


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
    help="Training item (training/<area>/item.json).",
)
@output_item_option
@overwrite_option
@click.pass_context
def train(
    ctx: click.Context,
    config_path: Path,
    model_id: str,
    samples_item: Path,
    output: Path,
    overwrite: bool,
) -> None:
    """Cross-validate over spatial blocks, fit on all samples, record a model item (MLM).

    \b
      $ sporbar train -c config/config.yaml --model rf \\
          --samples results/training/demo-gauldal/item.json -o results/models/rf/item.json
    """
    from sporbar.ml.run_train import run_train

    cfg = load_config(config_path)
    d = run_train(
        cfg,
        model_id=model_id,
        samples_item=samples_item,
        output=output,
        ctx=run_context(ctx, cfg),
        overwrite=overwrite,
    )
    m = d["properties"]["sporbar:metrics"]
    click.echo(
        f"{output}: CV accuracy {m['overall_accuracy']:.3f} (baseline "
        f"{m['baseline_accuracy']:.3f}), kappa {m['kappa']:.3f}, macro F1 {m['macro_f1']:.3f}"
    )
