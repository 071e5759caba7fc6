"""Tests for sporbar predict: maps on the tile grid, nodata, colour table, feature checks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import rasterio
from _ml_fixtures import TILES, make_area, train_model, write_samples
from _stac_fixtures import vouch_for_file
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.errors import InputDataError
from sporbar.ml.predict import class_margin, predict_stack, predict_stack_on
from sporbar.ml.run_predict import run_predict
from sporbar.ml.train import fit
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    area = make_area(tmp_path_factory.mktemp("pred"))
    samples = write_samples(area)
    model, _ = train_model(area, "rf", samples)
    return area, model


def _predict(area, model, tile, out):
    return run_predict(
        area.cfg,
        tile=tile,
        model_item_path=model,
        ard_item=area.ard[tile],
        lidar_item=area.lidar[tile],
        output=out,
        ctx=RunContext.current(),
    )


def test_map_on_tile_grid_with_expected_classes(setup, tmp_path):
    area, model = setup
    tile = area.tiles[1]
    d = _predict(area, model, tile, tmp_path / tile / "item.json")
    validate_item_dict(d)
    assert d["id"] == f"land-ecology-{tile}"
    cls = d["assets"]["classes"]
    assert [c["name"] for c in cls["classification:classes"]] == [
        c["name"] for c in area.cfg.data["classes"]
    ]
    assert cls["raster:bands"][0]["nodata"] == 0
    assert d["assets"]["confidence"]["raster:bands"][0]["nodata"] == 255
    geobox = area.cfg.grid.geobox(tile)
    with rasterio.open(tmp_path / tile / "classes.tif") as ds:
        classes = ds.read(1)
        assert ds.transform == geobox.affine and ds.crs.to_epsg() == 25833
        assert ds.dtypes[0] == "uint8" and ds.nodata == 0
        assert ds.colormap(1)[1] == (0x1B, 0x78, 0x37, 255)
    with rasterio.open(tmp_path / tile / "confidence.tif") as ds:
        conf = ds.read(1)
    with rasterio.open(tmp_path / tile / "margin.tif") as ds:
        margin = ds.read(1)
        assert ds.nodata == 255 and ds.descriptions == ("margin",)
    assert d["assets"]["margin"]["raster:bands"][0]["description"].startswith("Per-pixel uncertainty")
    truth = area.truth[tile]
    assert (classes[:2] == 0).all() and (conf[:2] == 255).all()  # NaN rows -> nodata
    assert (margin[:2] == 255).all()
    valid = classes > 0
    assert valid[2:].all()
    assert (classes[valid] == truth[valid]).mean() > 0.95
    assert conf[valid].max() <= 100 and conf[valid].mean() > 50
    # the margin never exceeds the top probability, and is lowest where the map is wrong
    assert (margin[valid] <= conf[valid]).all() and margin[valid].min() < margin[valid].max()
    wrong = valid & (classes != truth)
    if wrong.any():
        assert margin[wrong].mean() < margin[valid & ~wrong].mean()
    assert {lk["rel"] for lk in d["links"]} == {"derived_from"} and len(d["links"]) == 3


def test_predict_is_deterministic_and_row_blocks_do_not_matter(setup, tmp_path):
    area, model = setup
    tile = area.tiles[0]
    a = _predict(area, model, tile, tmp_path / "a" / "item.json")
    b = _predict(area, model, tile, tmp_path / "b" / "item.json")
    assert a["assets"]["classes"]["file:checksum"] == b["assets"]["classes"]["file:checksum"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + 1
    m = fit(
        {"kind": "random_forest", "n_estimators": 5},
        x,
        y,
        feature_names=["a", "b", "c"],
        class_values=[1, 2],
        seed=0,
        threads=1,
    )
    stack = rng.normal(size=(3, 10, 7)).astype(np.float32)
    stack[1, 4, 4] = np.nan
    c1, p1, m1 = predict_stack(m, stack, block_rows=3)
    c2, p2, m2 = predict_stack(m, stack, block_rows=256)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(m1, m2)
    assert c1[4, 4] == 0 and p1[4, 4] == 255 and m1[4, 4] == 255


def test_class_margin_is_top1_minus_top2() -> None:
    proba = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
    np.testing.assert_allclose(class_margin(proba), [0.2, 0.7, 0.0])
    np.testing.assert_allclose(class_margin(np.ones((2, 1))), [1.0, 1.0])


def test_predict_on_a_dask_client_gives_the_same_maps() -> None:
    """The Dask-on-Slurm path (row blocks as tasks on workers), with in-process workers."""
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    m = fit(
        {"kind": "random_forest", "n_estimators": 5},
        x,
        (x[:, 0] > 0).astype(int) + 1,
        feature_names=["a", "b", "c"],
        class_values=[1, 2],
        seed=0,
        threads=1,
    )
    stack = rng.normal(size=(3, 11, 7)).astype(np.float32)
    stack[2, 5, 1] = np.nan
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc,
        distributed.Client(lc) as client,
    ):
        c1, p1, m1 = predict_stack_on(client, m, stack, block_rows=3)
        assert sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values()) >= 4
    c2, p2, m2 = predict_stack(m, stack, block_rows=3)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(m1, m2)
    assert c1[5, 1] == 0 and p1[5, 1] == 255


def test_model_with_other_features_is_refused(setup, tmp_path):
    area, model = setup
    meta_path = model.parent / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_names"][0] = "early_B01"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.json").write_text(json.dumps(meta))
    (bad / "model.joblib").write_bytes((model.parent / "model.joblib").read_bytes())
    item = json.loads(model.read_text())
    item["assets"]["model"]["href"] = str(bad / "model.joblib")
    (bad / "item.json").write_text(json.dumps(item))
    with pytest.raises(InputDataError) as err:
        _predict(area, bad / "item.json", area.tiles[0], tmp_path / "m" / "item.json")
    msg = str(err.value)
    assert "model.joblib" in msg and "early_B01" in msg and "early_B02" in msg


def test_cli_predict(setup, tmp_path):
    area, model = setup
    tile = area.tiles[0]
    out = tmp_path / "maps" / tile / "item.json"
    res = CliRunner().invoke(
        cli,
        [
            "predict",
            "-c",
            str(area.cfg_path),
            "--tile",
            tile,
            "--model",
            str(model),
            "--ard",
            str(area.ard[tile]),
            "--lidar",
            str(area.lidar[tile]),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out.parent / "classes.tif").exists() and out.exists()


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "garbage"])
def test_corrupt_model_file_names_the_file_and_says_retrain(setup, tmp_path, capsys, damage):
    """Regression (issue 12.7): a damaged model.joblib gave "cannot load ...: 185" or a zlib traceback."""
    from sporbar.cli.main import main

    area, model = setup
    bad = tmp_path / "bad"
    shutil.copytree(model.parent, bad)
    weights = bad / "model.joblib"
    data = weights.read_bytes()
    weights.write_bytes(
        {"truncated": data[: len(data) // 2], "zeroed": data[:1000] + bytes(100) + data[1100:],
         "garbage": b"not a model" * 50}[damage]
    )
    vouch_for_file(bad / "item.json", "model")  # the item records the damaged file: the reader must say what is wrong
    tile = area.tiles[0]
    out = tmp_path / "m" / "item.json"
    argv = ["predict", "-c", str(area.cfg_path), "--tile", tile, "--model", str(bad / "item.json"),
            "--ard", str(area.ard[tile]), "--lidar", str(area.lidar[tile]), "-o", str(out)]
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 1
    msg = capsys.readouterr().err
    assert msg.startswith(f"Error: {weights}: cannot load the random_forest model") and "Traceback" not in msg
    assert "re-run `sporbar train" in msg and not out.exists()


def test_corrupt_model_sidecar_is_a_named_error(setup, tmp_path):
    from sporbar.ml.io import load_model

    _, model = setup
    bad = tmp_path / "bad"
    shutil.copytree(model.parent, bad)
    (bad / "model.json").write_text('{"kind": "random_forest", "spec"')
    with pytest.raises(InputDataError, match=r"model\.json: model sidecar is corrupt .*re-run `sporbar train"):
        load_model(bad / "model.joblib")


def test_all_nan_features_are_a_named_error_not_a_crash(tmp_path):
    """Regression (issue 12.6): with no finite feature on any labelled pixel, samples crashed in
    np.concatenate([])."""
    from _ml_fixtures import write_labels, write_tile_inputs

    from sporbar.training.run import run_samples

    area = make_area(tmp_path, tiles=(TILES[0],))
    cfg, tile = area.cfg, TILES[0]
    ard, lidar = write_tile_inputs(cfg, tile, area.truth[tile], nan_rows=64)  # every pixel NaN
    with pytest.raises(InputDataError, match="no labelled pixel has data in every feature"):
        run_samples(cfg, labels_item=write_labels(cfg, area.truth), ard_items=[ard], lidar_items=[lidar],
                    series_dir=tmp_path / "t", ctx=RunContext.current())
