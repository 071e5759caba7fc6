"""Tests for sporbar.ml: factories, normalisation, training, blocked CV, model files, items."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _ml_fixtures import make_area, train_model, write_samples
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.ml.io import load_model
from sporbar.ml.mlp import MLP
from sporbar.ml.models import gradient_boosting, random_forest
from sporbar.ml.normalise import Normaliser
from sporbar.ml.run_train import run_train
from sporbar.stac.record import RunContext, asset_path, read_item
from sporbar.stac.validate import validate_item_dict

KINDS = ("rf", "mlp", "hgb")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    area = make_area(tmp_path_factory.mktemp("ml"))
    samples = write_samples(area)
    paths, items = {}, {}
    for m in KINDS:
        paths[m], items[m] = train_model(area, m, samples)
    area.models = paths
    return area, samples, items


def test_factories():
    rf = random_forest({"n_estimators": 7}, seed=3, threads=2)
    assert (rf.n_estimators, rf.random_state, rf.n_jobs) == (7, 3, 2)
    hgb = gradient_boosting({"max_iter": 9, "learning_rate": 0.2}, seed=3)
    assert (hgb.max_iter, hgb.learning_rate, hgb.random_state, hgb.early_stopping) == (9, 0.2, 3, False)
    net = MLP(5, 4, hidden=8)
    assert sum(isinstance(m, torch_linear()) for m in net.modules()) == 3
    assert net.architecture()["hidden"] == 8


def torch_linear():
    import torch.nn

    return torch.nn.Linear


def test_normaliser_uses_given_rows_only():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    n = Normaliser.fit(x)
    assert n.mean == (2.0, 5.0) and n.std == (1.0, 1.0)
    np.testing.assert_allclose(n.apply(np.array([[4.0, 6.0]])), [[2.0, 1.0]])
    assert Normaliser.from_dict(n.to_dict()) == n


@pytest.mark.parametrize("model_id", KINDS)
def test_model_item_validates_with_mlm(trained, model_id):
    area, _, items = trained
    d = items[model_id]
    validate_item_dict(d)
    p = d["properties"]
    assert d["id"] == f"model-{model_id}-{p['version']}"
    assert p["sporbar:version_of"] == f"model-{model_id}" and len(p["version"]) == 12
    assert "https://stac-extensions.github.io/version/v1.2.0/schema.json" in d["stac_extensions"]
    assert p["mlm:framework"] == {"rf": "scikit-learn", "mlp": "pytorch", "hgb": "scikit-learn"}[model_id]
    assert p["mlm:architecture"] == {"rf": "RandomForestClassifier", "mlp": "MLP",
                                     "hgb": "HistGradientBoostingClassifier"}[model_id]
    assert p["mlm:tasks"] == ["classification"]
    assert p["mlm:input"][0]["bands"] == [b["name"] for b in p["bands"]]
    scaling = p["mlm:input"][0]["value_scaling"]
    assert scaling is None if model_id != "mlp" else len(scaling) == len(p["bands"])
    classes = p["mlm:output"][0]["classification:classes"]
    assert [c["name"] for c in classes] == [c["name"] for c in area.cfg.data["classes"]]
    assert all(c["description"] for c in classes)
    assert "mlm:model" in d["assets"]["model"]["roles"]
    assert d["assets"]["model"]["mlm:artifact_type"]
    assert [lk["rel"] for lk in d["links"]] == ["derived_from"]


@pytest.mark.parametrize("model_id", KINDS)
def test_blocked_cv_beats_majority_baseline(trained, model_id):
    _, _, items = trained
    m = items[model_id]["properties"]["sporbar:metrics"]
    print(model_id, m)
    assert m["overall_accuracy"] > m["baseline_accuracy"] + 0.5
    assert m["kappa"] > 0.8 and m["macro_f1"] > 0.8


def test_metrics_file(trained):
    area, _, items = trained
    metrics = json.loads((area.models["rf"].parent / "metrics.json").read_text())
    n = len(area.cfg.data["classes"])
    assert np.array(metrics["confusion_matrix"]["counts"]).shape == (n, n)
    assert np.array(metrics["confusion_matrix"]["counts"]).sum() == metrics["n_samples"]
    assert len(metrics["folds"]) == area.cfg.data["training"]["folds"]
    assert set(metrics["per_class_f1"]) == {c["name"] for c in area.cfg.data["classes"]}


@pytest.mark.parametrize("model_id", KINDS)
def test_same_seed_same_model_bytes(trained, model_id, tmp_path):
    area, samples, items = trained
    again = run_train(
        area.cfg, model_id=model_id, samples_item=samples, series_dir=tmp_path / model_id, ctx=RunContext.current()
    )
    assert again["id"] == items[model_id]["id"]  # the same version, trained again elsewhere
    for key in ("model", "model-metadata", "metrics"):
        assert (
            again["assets"][key]["file:checksum"] == items[model_id]["assets"][key]["file:checksum"]
        )


@pytest.mark.parametrize("model_id", KINDS)
def test_saved_model_round_trip(trained, model_id):
    area, samples, items = trained
    item_path = area.models[model_id]
    model = load_model(asset_path(item_path, read_item(item_path), "model"))
    import geopandas as gpd

    df = gpd.read_parquet(samples.parent / "samples.parquet")
    x = df[model.feature_names].to_numpy(np.float32)
    p = model.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert (model.predict(x) == df["class_value"].to_numpy()).mean() > 0.95


def test_cli_train(trained, tmp_path):
    area, samples, items = trained
    manifest = tmp_path / "jobs" / "train" / "rf.json"
    res = CliRunner().invoke(
        cli,
        ["train", "-c", str(area.cfg_path), "--model", "rf", "--samples", str(samples), "--manifest", str(manifest)],
    )
    assert res.exit_code == 0, res.output
    # the version the fixture trained: kept, not trained again, and listed in the manifest
    assert items["rf"]["id"] in res.output and "CV accuracy" in res.output
    listed = json.loads(manifest.read_text())["items"]
    assert [(manifest.parent / e["item"]).resolve() for e in listed] == [area.models["rf"].resolve()]
    res = CliRunner().invoke(
        cli,
        [
            "train",
            "-c",
            str(area.cfg_path),
            "--model",
            "nope",
            "--samples",
            str(samples),
        ],
    )
    assert res.exit_code != 0 and "not in models[].id" in str(res.exception)


def test_train_device(trained):
    import torch

    from sporbar.errors import ConfigError
    from sporbar.ml.mlp import train_device
    from sporbar.ml.train import fit

    assert train_device("cpu").type == "cpu"
    assert train_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    # the model item says where the MLP was trained
    _, _, items = trained
    expected = "cuda" if torch.cuda.is_available() else "amd64"
    assert items["mlp"]["properties"]["mlm:accelerator"] == expected
    assert items["mlp"]["properties"]["mlm:hyperparameters"]["device"] == "auto"
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the no-GPU error cannot be shown")
    with pytest.raises(ConfigError, match=r"models\[mlp\]\.device: cuda requested.*no CUDA device"):
        fit({"id": "mlp", "kind": "torch_mlp", "device": "cuda", "epochs": 1, "hidden": 4},
            np.zeros((4, 2), np.float32), np.array([1, 2, 1, 2]), feature_names=["a", "b"],
            class_values=[1, 2], seed=0, threads=1)


def test_cut_samples_file_is_a_named_error(trained, tmp_path):
    """Found by tests/reliability/bad_input.py: a truncated samples.parquet gave an ArrowInvalid traceback."""
    from sporbar.errors import InputDataError
    from sporbar.ml.run_train import read_samples

    _, samples, _ = trained
    cut = tmp_path / "samples.parquet"
    data = asset_path(samples, read_item(samples), "samples").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match=r"cannot read the samples \(truncated or corrupt\?\).*rerun `sporbar "
                                             r"samples`") as err:
        read_samples(cut, ["B02"])
    assert str(err.value).startswith(f"{cut}: ")


def test_permutation_importance_finds_the_informative_feature():
    from sporbar.ml.importance import fold_importance, pooled_importance

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (x[:, 1] > 0).astype(int) + 1  # only feature 1 decides the class

    def rule(rows: np.ndarray) -> np.ndarray:
        return (rows[:, 1] > 0).astype(int) + 1

    drops = fold_importance(rule, x, y, rng=np.random.default_rng(1))
    assert drops[1] > 0.3 and drops[0] == drops[2] == 0.0
    again = fold_importance(rule, x, y, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(drops, again)  # seeded
    one_by_one = fold_importance(rule, x, y, rng=np.random.default_rng(1), max_rows=1)
    np.testing.assert_allclose(drops, one_by_one)  # batching does not change the result
    pooled = pooled_importance([np.array([0.0, 0.4, 0.0]), np.array([0.0, 0.1, 0.0])], [300, 100], ["a", "b", "c"])
    assert [r["feature"] for r in pooled] == ["b", "a", "c"]
    assert pooled[0]["importance"] == pytest.approx(0.325) and pooled[0]["std"] == pytest.approx(0.1299, abs=1e-4)


@pytest.mark.parametrize("model_id", KINDS)
def test_model_item_records_permutation_importance(trained, model_id):
    area, _, items = trained
    rows = items[model_id]["properties"]["sporbar:feature_importance"]
    assert sorted(r["feature"] for r in rows) == sorted(items[model_id]["properties"]["mlm:input"][0]["bands"])
    values = [r["importance"] for r in rows]
    # sorted, accuracy drops (redundant bands in the fixture: one shuffled band alone costs little)
    assert values == sorted(values, reverse=True) and all(-1 <= v <= 1 for v in values) and values[0] >= 0
    metrics = json.loads((area.models[model_id].parent / "metrics.json").read_text())
    assert metrics["permutation_importance"] == rows
