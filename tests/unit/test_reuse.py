"""A published model reused by another run (models[].from): checked copy, input spec check, lineage."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from _ml_fixtures import make_area, train_model, write_samples

from sporbar.config import load
from sporbar.errors import ChecksumMismatchError, ModelMismatchError, TooFewSamplesError
from sporbar.ml.run_predict import run_predict
from sporbar.ml.run_train import check_class_counts, run_train
from sporbar.stac.record import RunContext, read_item
from sporbar.stac.validate import validate_item_dict


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Run A: a trained forest, its item and its folder."""
    area = make_area(tmp_path_factory.mktemp("run-a"))
    samples = write_samples(area)
    path, item = train_model(area, "rf", samples)
    return area, samples, path, item


def _config_b(area, tmp_path, source, **changes):
    """Run B's config: run A's, with a models[] entry that reuses ``source``, and ``changes``."""
    data = yaml.safe_load(area.cfg_path.read_text())
    data["root"] = str(tmp_path / "results-b")
    data["models"] = [{"id": "shared", "from": str(source)}]
    data["map"] = {"model": "shared", "product": "land-ecology"}
    data.update(changes)
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load(path)


def _reuse(cfg, samples):
    return run_train(cfg, model_id="shared", samples_item=samples, series_dir=cfg.root / "models" / "shared",
                     ctx=RunContext.current())


def test_reused_model_is_a_checked_copy_and_maps_derive_from_it(published, tmp_path):
    area, samples, source, item = published
    cfg = _config_b(area, tmp_path, source)
    d = _reuse(cfg, samples)
    validate_item_dict(d)
    assert d["id"] == item["id"] and d["properties"]["version"] == item["properties"]["version"]
    for key in ("model", "model-metadata", "metrics"):
        assert d["assets"][key]["file:checksum"] == item["assets"][key]["file:checksum"]
    via = [lk["href"] for lk in d["links"] if lk["rel"] == "via"]
    assert via == [str(source)]
    copy = cfg.root / "models" / "shared" / item["properties"]["version"] / "item.json"
    assert copy.exists() and not list(copy.parent.parent.glob(".reuse-*"))
    # derived_from of the copy still leads to run A's training data
    training = [lk["href"] for lk in d["links"] if lk["rel"] == "derived_from"]
    assert training and all(read_item(__import__("pathlib").Path(h)).id.startswith("training-") for h in training)
    tile = area.tiles[0]
    m = run_predict(cfg, tile=tile, model_item_path=copy, ard_item=area.ard[tile], lidar_item=area.lidar[tile],
                    output=tmp_path / "map" / "item.json", ctx=RunContext.current())
    derived = [lk["href"] for lk in m["links"] if lk["rel"] == "derived_from"]
    models = [read_item((tmp_path / "map" / h).resolve()) for h in derived if "models" in h]
    assert [x.id for x in models] == [item["id"]]
    assert _reuse(cfg, samples)["id"] == item["id"]  # kept, not fetched again


def test_mismatched_inputs_list_every_difference(published, tmp_path):
    area, samples, source, _ = published
    classes = [dict(c) for c in area.cfg.data["classes"]]
    classes[1]["name"] = "bog"
    lidar = dict(area.cfg.data["lidar"])
    lidar["metrics"] = {**lidar["metrics"], "percentiles": [50, 95]}
    cfg = _config_b(area, tmp_path, source, classes=classes, lidar=lidar)
    with pytest.raises(ModelMismatchError) as err:
        _reuse(cfg, samples)
    msg = str(err.value)
    assert str(source) in msg and "h_p10" in msg and "'mire' in the model, 'bog'" in msg
    assert not (cfg.root / "models" / "shared").exists() or not any((cfg.root / "models" / "shared").iterdir())


def test_damaged_model_file_is_refused(published, tmp_path):
    area, samples, source, _ = published
    copy = tmp_path / "published"
    shutil.copytree(source.parent, copy)
    weights = copy / "model.joblib"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    cfg = _config_b(area, tmp_path, copy / "item.json")
    with pytest.raises(ChecksumMismatchError, match="model.joblib.*the item records"):
        _reuse(cfg, samples)
    assert not any((cfg.root / "models" / "shared").iterdir())  # nothing half-written


def test_class_with_fewer_samples_than_folds(published, tmp_path):
    import geopandas as gpd

    area, samples, _, _ = published
    df = gpd.read_parquet(samples.parent / "samples.parquet")
    few = df[df["class_name"] != "mire"]
    few = gpd.GeoDataFrame(__import__("pandas").concat([few, df[df["class_name"] == "mire"].head(2)]))
    with pytest.raises(TooFewSamplesError, match=r"'mire': 2.*3 cross-validation folds"):
        check_class_counts(samples.parent / "samples.parquet", few, 3)
    check_class_counts(samples.parent / "samples.parquet", df, 3)


def test_from_needs_no_kind_but_checks_it(published, tmp_path):
    area, samples, source, _ = published
    cfg = _config_b(area, tmp_path, source)
    assert "kind" not in cfg.data["models"][0]
    data = json.loads(json.dumps(cfg.data))
    data["models"][0]["kind"] = "hgb"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ModelMismatchError, match="kind is hgb"):
        _reuse(load(path), samples)
