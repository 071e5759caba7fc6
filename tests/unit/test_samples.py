"""Tests for sporbar.training: label checks, stratified samples, spatial blocks and folds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from _ml_fixtures import make_area, write_labels
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.errors import InputDataError
from sporbar.stac.record import RunContext, read_item
from sporbar.stac.validate import validate_item_dict
from sporbar.stac.versions import version_path
from sporbar.training.blocks import assign_folds, block_ids
from sporbar.training.features import feature_names
from sporbar.training.run import pair_tiles, run_samples
from sporbar.training.samples import extract_samples
from sporbar.workflow import plan
from sporbar.workflow.blocks import expand_items


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    return make_area(tmp_path_factory.mktemp("area"))


def _run(area, series):
    return run_samples(
        area.cfg,
        labels_item=area.labels,
        ard_items=list(area.ard.values()),
        lidar_items=list(area.lidar.values()),
        series_dir=series,
        ctx=RunContext.current(),
    )


@pytest.fixture(scope="module")
def samples(area):
    d = _run(area, area.cfg.root / "training" / "test")
    out = version_path(area.cfg.root / "training" / "test", d["properties"]["version"])
    return d, gpd.read_parquet(out.parent / "samples.parquet")


def test_item_validates_and_describes_the_table(area, samples):
    d, df = samples
    validate_item_dict(d)
    props = d["properties"]
    assert d["id"] == f"training-demo-gauldal-{props['version']}"
    assert props["sporbar:version_of"] == "training-demo-gauldal"
    assert props["datetime"] is None and props["start_datetime"].startswith("2024-05-01")
    assert props["sporbar:features"] == feature_names(area.cfg)
    assert props["table:row_count"] == len(df)
    assert sum(props["sporbar:class_counts"].values()) == len(df)
    assert {lk["rel"] for lk in d["links"]} == {"derived_from"}
    assert len(d["links"]) == 1 + 2 * len(area.tiles)


def test_stratified_counts_and_no_nan(area, samples):
    _, df = samples
    spc = area.cfg.data["training"]["samples_per_class"]
    counts = df["class_value"].value_counts()
    assert (counts <= spc).all() and len(counts) == len(area.cfg.data["classes"])
    assert np.isfinite(df[feature_names(area.cfg)].to_numpy()).all()
    assert (df["row"] >= 2).all()  # the fixture's NaN rows are never sampled
    for _, r in df.head(20).iterrows():  # class_value is the truth at the pixel
        assert area.truth[r["tile"]][r["row"], r["col"]] == r["class_value"]


def test_folds_are_spatially_disjoint_and_balanced(area, samples):
    _, df = samples
    assert df.groupby("block")["fold"].nunique().max() == 1
    folds = df["fold"].value_counts()
    assert sorted(folds.index) == list(range(area.cfg.data["training"]["folds"]))
    assert folds.max() - folds.min() < 0.2 * len(df)
    size = area.cfg.data["training"]["block_size"]
    expect = [f"{int(x // size)}_{int(y // size)}" for x, y in zip(df["x"], df["y"], strict=True)]
    assert list(df["block"]) == expect


def test_same_seed_same_samples(area, samples):
    _, df = samples
    tiles = pair_tiles(list(area.ard.values()), list(area.lidar.values()))
    labels = read_item(area.labels).assets["labels"].href
    path = area.labels.parent / labels
    again = extract_samples(area.cfg, path, tiles, np.random.default_rng(7))
    assert again.drop(columns="geometry").equals(df.drop(columns="geometry"))
    other = extract_samples(area.cfg, path, tiles, np.random.default_rng(8))
    assert not other[["tile", "row", "col"]].equals(df[["tile", "row", "col"]])


def test_assign_folds_seeded_and_needs_enough_blocks():
    blocks = np.array([f"{i}_0" for i in range(12) for _ in range(i + 1)])
    a = assign_folds(blocks, 3, np.random.default_rng(1))
    assert a == assign_folds(blocks, 3, np.random.default_rng(1))
    assert set(a.values()) == {0, 1, 2}
    with pytest.raises(InputDataError, match="block_size"):
        assign_folds(np.array(["0_0", "0_0", "1_0"]), 3, np.random.default_rng(1))
    assert list(block_ids(np.array([-1.0, 639.9, 640.0]), np.array([0.0, 0, 1280]), 640)) == [
        "-1_0",
        "0_0",
        "1_2",
    ]


def test_labels_in_wgs84_are_refused(area, tmp_path):
    bad = write_labels(area.cfg, area.truth, crs="EPSG:4326", name="labels-4326")
    with pytest.raises(InputDataError) as err:
        run_samples(
            area.cfg,
            labels_item=bad,
            ard_items=list(area.ard.values()),
            lidar_items=list(area.lidar.values()),
            series_dir=tmp_path / "t",
            ctx=RunContext.current(),
        )
    assert "labels.gpkg" in str(err.value) and "EPSG:25833" in str(err.value)


def test_cli_samples(area, samples, tmp_path):
    d, _ = samples
    manifest = tmp_path / "jobs" / "samples" / "demo-gauldal.json"
    args = ["samples", "-c", str(area.cfg_path), "--manifest", str(manifest)]
    for t in area.tiles:
        args += [str(area.ard[t]), str(area.lidar[t])]
    args.append(str(area.labels))  # any order
    item = version_path(plan.series_dir(area.cfg, "training", area="demo-gauldal"), d["properties"]["version"])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "samples" in res.output and d["id"] in res.output
    assert expand_items([manifest]) == [item]
    before = item.stat().st_mtime_ns
    # the same samples again: the same version, its item not rewritten
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert d["id"] in res.output and expand_items([manifest]) == [item]
    assert item.stat().st_mtime_ns == before
