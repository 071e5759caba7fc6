"""The temporal model (kind tempcnn): time series from the ARD cube, masked steps, fit, files, items, maps."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
import xarray as xr
from _ml_fixtures import CUBE_DATES, make_area, train_model, write_samples

from sporbar.bands import series_layout, series_names
from sporbar.config import load
from sporbar.errors import ConfigError
from sporbar.ml.io import load_model, save_model
from sporbar.ml.run_predict import run_predict
from sporbar.ml.tempcnn import encode
from sporbar.ml.train import fit
from sporbar.stac.record import RunContext, asset_path, read_item
from sporbar.stac.validate import validate_item_dict
from sporbar.training.features import model_feature_names, monthly_series, series_steps

TS_BANDS = ["B04", "B08", "NDVI"]
TRAINING = {"samples_per_class": 60, "block_size": 160, "folds": 3, "seed": 7, "timeseries": {"bands": TS_BANDS}}
MODELS = [
    {"id": "rf", "kind": "random_forest", "n_estimators": 25},
    {"id": "tcnn", "kind": "tempcnn", "epochs": 30, "filters": 16, "hidden": 32, "device": "cpu"},
]


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    return make_area(tmp_path_factory.mktemp("tempcnn"), training=TRAINING, models=MODELS)


@pytest.fixture(scope="module")
def trained(area):
    samples = write_samples(area)
    paths, items = {}, {}
    for m in ("rf", "tcnn"):
        paths[m], items[m] = train_model(area, m, samples)
    return samples, paths, items


def _synthetic(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows whose class shows only in step 2 of band 0, a third of the steps masked (NaN)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 4, n)
    ts = rng.normal(size=(n, 4, 2)).astype(np.float32)
    ts[:, 2, 0] += 3.0 * y
    ts[rng.random((n, 4)) < 0.3] = np.nan
    x = np.concatenate([rng.normal(size=(n, 2)).astype(np.float32), ts.reshape(n, -1)], axis=1)
    return x, y, ["dtm", "chm", *series_names(["2024-05", "2024-06", "2024-07", "2024-08"], ["B04", "NDVI"])]


SPEC = {"id": "t", "kind": "tempcnn", "epochs": 8, "filters": 8, "hidden": 16, "device": "cpu"}


def test_two_cpu_runs_give_identical_weights():
    x, y, names = _synthetic()
    a, b = (fit(SPEC, x, y, feature_names=names, class_values=[1, 2, 3], seed=5, threads=1) for _ in range(2))
    sa, sb = a.estimator.state_dict(), b.estimator.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    c = fit(SPEC, x, y, feature_names=names, class_values=[1, 2, 3], seed=6, threads=1)
    assert not torch.equal(c.estimator.state_dict()["head.3.weight"], sa["head.3.weight"])


def test_masked_steps_are_ignored_not_read_as_zeros():
    """The class is in step 2; where step 2 is masked, the prediction must not be the class of 'value 0'."""
    x, y, names = _synthetic()
    spec = SPEC | {"epochs": 30, "learning_rate": 0.01}
    model = fit(spec, x, y, feature_names=names, class_values=[1, 2, 3], seed=5, threads=1)
    layout = series_layout(names)
    step2 = [layout.series[2 * 2]]  # step 2, band 0
    seen = np.isfinite(x[:, step2[0]])
    assert (model.predict(x[seen]) == y[seen]).mean() > 0.9
    p = model.predict_proba(x)
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    # the network sees a masked step as zeros with validity 0, an observed one with validity 1
    series, static = encode(layout, model.normaliser, x)
    steps_nan = np.isnan(x[:, list(layout.series)].reshape(len(x), 4, 2)).any(axis=2)
    assert series.shape == (len(x), 3, 4) and static.shape == (len(x), 2)
    np.testing.assert_array_equal(series[:, 2], (~steps_nan).astype(np.float32))
    assert (series[:, :2][np.broadcast_to(steps_nan[:, None], (len(x), 2, 4))] == 0).all()
    assert np.isfinite(series).all()


def test_save_load_round_trip(tmp_path):
    x, y, names = _synthetic(400)
    model = fit(SPEC | {"epochs": 2}, x, y, feature_names=names, class_values=[1, 2, 3], seed=1, threads=1)
    weights, _ = save_model(model, tmp_path)
    again = load_model(weights)
    assert again.feature_names == names and again.kind == model.kind
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    assert weights.read_bytes() == save_model(again, tmp_path / "b")[0].read_bytes()


def test_monthly_series_medians_of_clear_observations(area):
    tile = area.tiles[0]
    item = read_item(area.ard[tile])
    cube_path = asset_path(area.ard[tile], item, "cube")
    steps = series_steps(area.cfg)
    assert steps == ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09"]
    got = monthly_series(cube_path, steps, TS_BANDS, area.cfg.grid.geobox(tile))
    with xr.open_zarr(cube_path) as ds:
        cube = ds["reflectance"].sel(band=["B04", "B08"]).values
    may = cube[[CUBE_DATES.index("2024-05-03"), CUBE_DATES.index("2024-05-20")]]
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_allclose(got[0], np.nanmedian(may[:, 0], axis=0), equal_nan=True)
    assert np.isnan(got[len(TS_BANDS) * 1 : len(TS_BANDS) * 2]).all()  # June: no date, all masked
    jul = cube[CUBE_DATES.index("2024-07-10")]
    ndvi = (jul[1] - jul[0]) / (jul[1] + jul[0])
    np.testing.assert_allclose(got[len(TS_BANDS) * 2 + 2], ndvi, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[len(TS_BANDS) * 2]).mean() == pytest.approx(0.25, abs=0.05)  # the clouds


def test_pipeline_samples_train_predict(area, trained, tmp_path):
    samples, paths, items = trained
    d = items["tcnn"]
    validate_item_dict(d)
    p = d["properties"]
    assert p["mlm:architecture"] == "TempCNN" and p["mlm:framework"] == "pytorch"
    assert p["mlm:input"][0]["bands"] == model_feature_names(area.cfg, temporal=True)
    assert p["sporbar:timeseries"]["steps"] == series_steps(area.cfg)
    assert p["sporbar:timeseries"]["bands"] == TS_BANDS
    assert "5 steps (2024-05..2024-09) x 3 bands (B04, B08, NDVI)" in p["mlm:input"][0]["description"]
    assert len(p["mlm:input"][0]["value_scaling"]) == len(p["bands"])
    # the forest does not read the time series (they may be NaN)
    assert not any(b.startswith("ts_") for b in items["rf"]["properties"]["mlm:input"][0]["bands"])
    assert p["sporbar:metrics"]["overall_accuracy"] > p["sporbar:metrics"]["baseline_accuracy"] + 0.2
    tile = area.tiles[0]
    out = tmp_path / "map" / "item.json"
    m = run_predict(area.cfg, tile=tile, model_item_path=paths["tcnn"], ard_item=area.ard[tile],
                    lidar_item=area.lidar[tile], output=out, ctx=RunContext.current())
    validate_item_dict(m)
    with rasterio.open(out.parent / "classes.tif") as src:
        classes = src.read(1)
    truth = area.truth[tile]
    mapped = classes > 0
    assert mapped[2:].all()  # every pixel with lidar and composites is mapped, cloud gaps or not
    assert (classes[mapped] == truth[mapped]).mean() > 0.8


def test_tempcnn_needs_timeseries_bands(tmp_path):
    from _ml_fixtures import write_config

    with pytest.raises(ConfigError, match="training/timeseries/bands"):
        load(write_config(tmp_path, models=MODELS))
    ard = load(write_config(tmp_path)).data["ard"] | {"bands": ["B04", "B08"], "indices": [], "season": {"bands": []}}
    with pytest.raises(ConfigError, match="NDRE need bands not in ard/bands"):
        training = TRAINING | {"timeseries": {"bands": ["B04", "NDRE"]}}
        load(write_config(tmp_path, models=MODELS, ard=ard, training=training))
