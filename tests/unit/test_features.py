"""Tests for sporbar.training.features: names, stack on the tile grid, band checks."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from _ml_fixtures import TILES, class_raster, write_config, write_tile_inputs

from sporbar.config import load
from sporbar.errors import InputDataError
from sporbar.raster import read_cog
from sporbar.training.features import feature_names, feature_stack, slope_degrees


def test_feature_names_order(tmp_path):
    cfg = load(write_config(tmp_path))
    names = feature_names(cfg)
    n_bands = len(cfg.data["ard"]["bands"]) + len(cfg.data["ard"]["indices"])
    metrics = ["h_p10", "h_p25", "h_p50", "h_p75", "h_p90", "h_p95", "h_max", "h_mean", "h_std", "cover",
               "terrain_slope", "terrain_aspect"]
    season = cfg.data["ard"]["season"]
    n_season = len(season["bands"]) * len(season["percentiles"]) + 1 if season["bands"] else 0
    assert len(names) == 2 * n_bands + n_season + 5 + len(metrics)
    last_index = cfg.data["ard"]["indices"][-1]
    assert names[0] == "early_B02" and names[n_bands - 1] == f"early_{last_index}"
    assert names[2 * n_bands - 1] == f"late_{last_index}"
    if n_season:  # the time series, between the period composites and lidar
        first = f"season_{season['bands'][0]}_p{season['percentiles'][0]}"
        assert names[2 * n_bands] == first and names[2 * n_bands + n_season - 1] == "season_clear_count"
    assert names[2 * n_bands + n_season:] == ["dtm", "dsm", "chm", *metrics, "dsm_minus_dtm", "slope"]
    assert len(set(names)) == len(names)


def test_slope_of_a_plane():
    yy, xx = np.mgrid[0:8, 0:8]
    dtm = (0.5 * xx).astype(np.float32)  # 0.5 m rise per 10 m pixel
    s = slope_degrees(dtm, 10)
    np.testing.assert_allclose(s, np.degrees(np.arctan(0.05)), rtol=1e-5)


def test_feature_stack_on_tile_grid(tmp_path):
    cfg = load(write_config(tmp_path))
    tile = TILES[0]
    truth = class_raster(cfg, tile)
    ard, lidar = write_tile_inputs(cfg, tile, truth)
    stack = feature_stack(cfg, tile, ard, lidar)
    names = feature_names(cfg)
    assert stack.dtype == np.float32
    assert stack.shape == (len(names), *cfg.grid.geobox(tile).shape.yx)
    chm, _ = read_cog(lidar.parent / "chm.tif")
    np.testing.assert_array_equal(stack[names.index("chm")], chm[0])
    dsm, _ = read_cog(lidar.parent / "dsm.tif")
    dtm, _ = read_cog(lidar.parent / "dtm.tif")
    np.testing.assert_allclose(stack[names.index("dsm_minus_dtm")], dsm[0] - dtm[0], atol=1e-5)
    late, bands = read_cog(ard.parent / "composite-late.tif")
    np.testing.assert_array_equal(stack[names.index("late_B8A")], late[bands.index("B8A")])
    assert np.isnan(stack[0, :2]).all() and np.isfinite(stack[:, 2:]).all()
    # pixel-major memory: a model's feature rows are a view, not a transposed copy
    rows = stack.reshape(len(names), -1).T
    assert rows.flags.c_contiguous and np.shares_memory(rows, stack)


def test_missing_band_names_file_band_and_found(tmp_path):
    cfg = load(write_config(tmp_path))
    tile = TILES[0]
    bands = [b for b in [*cfg.data["ard"]["bands"], *cfg.data["ard"]["indices"]] if b != "B8A"]
    ard, lidar = write_tile_inputs(cfg, tile, class_raster(cfg, tile), ard_bands=bands)
    with pytest.raises(InputDataError) as err:
        feature_stack(cfg, tile, ard, lidar)
    msg = str(err.value)
    assert "composite-early.tif" in msg and "'B8A' missing" in msg and "B02,B03" in msg


def test_lidar_metrics_are_read_by_band_name(tmp_path):
    """Issue 16: the area-based metrics flow from the lidar item's band names, no code per feature."""
    cfg = load(write_config(tmp_path))
    tile = TILES[0]
    ard, lidar = write_tile_inputs(cfg, tile, class_raster(cfg, tile))
    names = feature_names(cfg)
    stack = feature_stack(cfg, tile, ard, lidar)
    metrics, found = read_cog(lidar.parent / "metrics.tif")
    for name in ("h_p50", "h_max", "cover"):
        np.testing.assert_array_equal(stack[names.index(name)], metrics[found.index(name)])
    # a metric added to the config is a feature at once; a lidar item made without it is refused
    data = yaml.safe_load((tmp_path / "config.yaml").read_text())
    data["lidar"] = {"metrics": {"percentiles": [50, 99]}}
    (tmp_path / "more.yaml").write_text(yaml.safe_dump(data))
    more = load(tmp_path / "more.yaml")
    assert "h_p99" in feature_names(more) and "h_p10" not in feature_names(more)
    with pytest.raises(InputDataError, match=r"item.json: band 'h_p99' missing .*re-run `sporbar lidar`"):
        feature_stack(more, tile, ard, lidar)
