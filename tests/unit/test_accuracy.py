"""Area-adjusted accuracy: the Olofsson et al. (2014) estimator, the sample, the assessment, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _ml_fixtures import class_raster, write_config
from click.testing import CliRunner

from sporbar.accuracy.estimate import allocate, cochran_sample_size, stratified_estimates
from sporbar.accuracy.run import run_assess, run_validation_sample
from sporbar.accuracy.sample import LAYER, REFERENCE
from sporbar.cli.main import cli
from sporbar.config import Config, load
from sporbar.errors import InputDataError
from sporbar.raster import write_cog
from sporbar.stac.items.extent import tiles_bbox_wgs84
from sporbar.stac.items.map import map_item
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict
from sporbar.vector import write_geopackage
from sporbar.workflow import plan

NOW = datetime(2024, 10, 1, tzinfo=UTC)
CTX = RunContext(provenance=Provenance.current(now=NOW))

# Olofsson et al. (2014), section 5 and table 8: strata = map classes (deforestation, forest gain,
# stable forest, stable non-forest), 30 m pixels; rows = map class, columns = reference class.
OLOFSSON_COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
OLOFSSON_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
OLOFSSON_CLASSES = ["deforestation", "forest_gain", "stable_forest", "stable_non_forest"]


def test_olofsson_2014_worked_example_reproduces_the_published_estimates() -> None:
    r = stratified_estimates(OLOFSSON_COUNTS, OLOFSSON_PIXELS, classes=OLOFSSON_CLASSES, pixel_area_m2=900)
    # published (section 5.2, p. 54), to the paper's rounding
    area = {"deforestation": (21_158, 6_158), "forest_gain": (11_686, 3_756),
            "stable_forest": (285_770, 15_510), "stable_non_forest": (581_386, 16_282)}
    for i, name in enumerate(OLOFSSON_CLASSES):
        assert r.area_ha[i].value == pytest.approx(area[name][0], abs=0.5), name
        assert r.area_ha[i].ci95 == pytest.approx(area[name][1], abs=0.5), name
    users = [(0.88, 0.07), (0.73, 0.10), (0.93, 0.04), (0.96, 0.02)]
    producers = [(0.75, 0.21), (0.85, 0.25), (0.93, 0.03), (0.96, 0.02)]
    for i in range(4):
        u, p = r.users[i], r.producers[i]
        assert u is not None and p is not None
        assert (round(u.value, 2), round(u.ci95, 2)) == users[i]
        assert (round(p.value, 2), round(p.ci95, 2)) == producers[i]
    assert (round(r.overall.value, 2), round(r.overall.ci95, 2)) == (0.95, 0.02)
    # eq. 4: the area-proportion matrix; its column sums are the area proportions (eq. 9)
    assert r.proportions[0, 0] == pytest.approx(0.02 * 66 / 75)
    assert r.proportions.sum() == pytest.approx(1.0)


def test_cochran_sample_size_of_the_worked_example() -> None:
    # section 5.1: expected user's accuracies 0.7, 0.6, 0.9, 0.95 and S(O) = 0.01 give n = 641
    w = np.array(OLOFSSON_PIXELS) / sum(OLOFSSON_PIXELS)
    assert cochran_sample_size(w, [0.7, 0.6, 0.9, 0.95], 0.01) == 641


def test_allocate_gives_rare_classes_the_minimum_and_never_more_than_their_pixels() -> None:
    assert allocate(641, OLOFSSON_PIXELS, minimum=75) == [75, 75, 205, 413]
    assert allocate(100, [1000, 10, 0], minimum=30) == [99, 10, 0]


def test_a_stratum_with_one_point_is_refused() -> None:
    counts = np.array([[1, 0], [3, 10]])
    with pytest.raises(InputDataError, match="a fewer than 2|fewer than 2 sample points"):
        stratified_estimates(counts, [100, 900], classes=["a", "b"], pixel_area_m2=100)


def test_a_class_mapped_on_one_pixel_is_enumerated_not_refused() -> None:
    # the single pixel of 'c' is in the sample: its share is known, it adds no variance
    counts = [[40, 5, 0], [3, 30, 0], [0, 0, 1]]
    with_c = stratified_estimates(counts, [800, 600, 1], classes=["a", "b", "c"], pixel_area_m2=100)
    assert with_c.users[2] is not None and with_c.users[2].value == 1.0 and with_c.users[2].se == 0.0
    without = stratified_estimates([[40, 5], [3, 30]], [800, 600], classes=["a", "b"], pixel_area_m2=100)
    # the other strata's variance is as without 'c', scaled by their (slightly smaller) weights
    assert with_c.overall.se == pytest.approx(without.overall.se * 1400 / 1401, rel=1e-9)
    with pytest.raises(InputDataError, match="c have fewer than 2 sample points"):
        stratified_estimates(counts, [800, 600, 5], classes=["a", "b", "c"], pixel_area_m2=100)


def test_a_class_absent_from_the_reference_has_no_producers_accuracy() -> None:
    counts = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    r = stratified_estimates(counts, [500, 500, 0], classes=["a", "b", "c"], pixel_area_m2=100)
    assert r.producers[2] is None and r.users[2] is None
    assert r.area_ha[2].value == 0
    json.dumps(r.to_dict())  # JSON-ready


# ---------------------------------------------------------------- sample and assessment on real files


def _map(tmp_path: Path, **overrides: object) -> tuple[Config, list[Path]]:
    """Two map tiles (class COGs + recorded map items) of the small test area."""
    cfg = load(write_config(tmp_path, accuracy={"per_class": 6, "seed": 5, "reference": "demo"}, **overrides))
    items = []
    for tile in cfg.tiles:
        out = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=tile)
        classes = class_raster(cfg, tile)
        classes[:3] = 0  # a no-data strip
        geobox = cfg.grid.geobox(tile)
        write_cog(out.parent / "classes.tif", classes, geobox, nodata=0, band_names=["class"])
        write_cog(out.parent / "confidence.tif", np.full_like(classes, 90), geobox, nodata=255,
                  band_names=["confidence"])
        write_cog(out.parent / "margin.tif", np.full_like(classes, 60), geobox, nodata=255, band_names=["margin"])
        item = map_item(cfg.data["map"]["product"], tile, geobox=geobox, classes=cfg.data["classes"],
                        start=NOW, end=NOW, bbox_wgs84=tiles_bbox_wgs84(cfg.grid, [tile]))
        CTX.record(item, out, inputs=[], lineage="test map", command="test")
        items.append(out)
    return cfg, items


def _truth(cfg: Config):  # noqa: ANN202 - a Labeller
    """The test map's own class raster as the truth, except one class read as another."""
    raster = {t: class_raster(cfg, t) for t in cfg.tiles}
    names = [c["name"] for c in cfg.data["classes"]]

    def label(xs: np.ndarray, ys: np.ndarray) -> list[str]:
        out = []
        for x, y in zip(xs, ys, strict=True):
            tile = cfg.grid.tile_id(int(x // cfg.grid.tile_size), int(y // cfg.grid.tile_size))
            a = cfg.grid.geobox(tile).affine
            v = int(raster[tile][int((a.f - y) // 10), int((x - a.c) // 10)])
            out.append(names[1] if v == 1 else names[v - 1])  # class 1 is always misread as class 2
        return out

    return label


def test_validation_sample_is_stratified_seeded_and_at_pixel_centres(tmp_path: Path) -> None:
    cfg, maps = _map(tmp_path)
    out = tmp_path / "s1" / "item.json"
    d = run_validation_sample(cfg, map_items=maps, output=out, ctx=CTX)
    validate_item_dict(d)
    sample = gpd.read_file(out.parent / "sample.gpkg", layer=LAYER)
    n_classes = len(cfg.data["classes"])
    assert len(sample) == 6 * n_classes
    assert sample.groupby("map_class").size().tolist() == [6] * n_classes
    assert sample[REFERENCE].isna().all()
    assert ((sample["x"] % 10) == 5).all() and ((sample["y"] % 10) == 5).all()
    assert sample.crs.to_epsg() == 25833
    again = tmp_path / "s2" / "item.json"
    run_validation_sample(cfg, map_items=maps, output=again, ctx=CTX)
    assert (out.parent / "sample.gpkg").read_bytes() == (again.parent / "sample.gpkg").read_bytes()
    reseeded = Config(data={**cfg.data, "accuracy": {**cfg.data["accuracy"], "seed": 6}}, source="reseeded")
    third = tmp_path / "s3" / "item.json"
    run_validation_sample(reseeded, map_items=maps, output=third, ctx=CTX)
    moved = gpd.read_file(third.parent / "sample.gpkg", layer=LAYER)
    assert len(moved) == len(sample) and not np.array_equal(moved["x"], sample["x"])


def test_assess_counts_the_misread_class_as_error(tmp_path: Path) -> None:
    cfg, maps = _map(tmp_path)
    sample = tmp_path / "s" / "item.json"
    run_validation_sample(cfg, map_items=maps, output=sample, ctx=CTX)
    out = tmp_path / "a" / "item.json"
    d = run_assess(cfg, map_items=maps, output=out, ctx=CTX, sample_item=sample, labeller=_truth(cfg))
    validate_item_dict(d)
    report = json.loads((out.parent / "accuracy.json").read_text())
    n = len(cfg.data["classes"])
    counts = np.array(report["error_matrix_counts"])
    assert counts[0, 1] == 6 and counts[0, 0] == 0  # every class-1 point is read as class 2
    assert np.trace(counts) == 6 * (n - 1)
    assert report["per_class"][0]["users_accuracy"]["estimate"] == 0
    assert d["properties"]["sporbar:accuracy"]["overall_accuracy"]["estimate"] < 1
    links = [lk["href"] for lk in d["links"] if lk["rel"] == "derived_from"]
    assert len(links) == len(maps) + 1  # the maps and the sample item


def _labelled(tmp_path: Path, cfg: Config, maps: list[Path]) -> gpd.GeoDataFrame:
    sample = tmp_path / "s" / "item.json"
    run_validation_sample(cfg, map_items=maps, output=sample, ctx=CTX)
    frame = gpd.read_file(sample.parent / "sample.gpkg", layer=LAYER)
    frame[REFERENCE] = frame["map_class"]
    return frame


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda f: f.assign(reference=f["reference"].where(f["sample_id"] > 2)), r"2 of \d+ points have no reference"),
        (lambda f: f.assign(reference=f["reference"].where(f["sample_id"] != 3, "spruce")), "unknown reference class"),
        (lambda f: f.set_geometry(f.geometry.where(f["sample_id"] != 4, shapely.Point(100.0, 100.0))),
         "sample_id 4 lie outside the map"),
        (lambda f: f.set_geometry(f.geometry.where(f["sample_id"] != 5, shapely.Point(268805.0, 7030395.0))),
         "sample_id 5 fall on map pixels with no class"),
        (lambda f: f.assign(map_value=f["map_value"].where(f["sample_id"] != 6, 99)), "drawn from another map"),
    ],
)
def test_bad_reference_files_are_named_errors_and_nothing_is_written(
    tmp_path: Path, spoil: object, message: str
) -> None:
    cfg, maps = _map(tmp_path)
    bad = tmp_path / "interpreted.gpkg"
    write_geopackage(spoil(_labelled(tmp_path, cfg, maps)), bad, layer=LAYER)  # type: ignore[operator]
    out = tmp_path / "a" / "item.json"
    with pytest.raises(InputDataError, match=message) as err:
        run_assess(cfg, map_items=maps, output=out, ctx=CTX, reference=bad)
    assert str(bad) in str(err.value)
    assert not out.parent.exists()


def test_cli_sample_then_assess_an_interpreted_file(tmp_path: Path) -> None:
    cfg, _ = _map(tmp_path)
    cfg_path = tmp_path / "config.yaml"
    sample = plan.path(cfg, "validation_sample", product="land-ecology")
    r = CliRunner().invoke(cli, ["validation-sample", "-c", str(cfg_path), "--all-tiles", "-o", str(sample)])
    assert r.exit_code == 0, r.output
    frame = gpd.read_file(sample.parent / "sample.gpkg", layer=LAYER)
    frame[REFERENCE] = frame["map_class"]
    interpreted = tmp_path / "interpreted.gpkg"
    write_geopackage(frame, interpreted, layer=LAYER)
    out = plan.path(cfg, "accuracy", product="land-ecology")
    r = CliRunner().invoke(cli, ["assess", "-c", str(cfg_path), "--all-tiles", "--reference", str(interpreted),
                                 "--sample", str(sample), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "overall accuracy 1.000 +- 0.000" in r.output
    assert (out.parent / "sample.gpkg").read_bytes() == interpreted.read_bytes()
    r = CliRunner().invoke(cli, ["assess", "-c", str(cfg_path), "--all-tiles", "--reference", "demo", "-o", "x.json"])
    assert r.exit_code == 2 and "give --sample" in r.output


def test_help_teaches_with_examples() -> None:
    for cmd in ("validation-sample", "assess"):
        r = CliRunner().invoke(cli, [cmd, "--help"])
        assert r.exit_code == 0 and f"$ sporbar {cmd}" in r.output


def test_published_map_collection_and_iso_record_carry_the_accuracy(tmp_path: Path) -> None:
    from _metadata_fixtures import ISO_BUNDLE, iso_validator
    from lxml import etree

    from sporbar.metadata import iso19139 as iso
    from sporbar.metadata.catalog import read_catalog
    from sporbar.metadata.iso_codes import GCO, GMD
    from sporbar.stac import extensions as ext
    from sporbar.stac.catalog import build_catalog
    from sporbar.stac.layout import ItemLayout

    cfg, maps = _map(tmp_path)
    sample = plan.path(cfg, "validation_sample", product="land-ecology")
    run_validation_sample(cfg, map_items=maps, output=sample, ctx=CTX)
    out = plan.path(cfg, "accuracy", product="land-ecology")
    d = run_assess(cfg, map_items=maps, output=out, ctx=CTX, sample_item=sample, labeller=_truth(cfg))
    catalog = plan.path(cfg, "catalog")
    summary = build_catalog([out], catalog, cfg=cfg, layout=ItemLayout.from_patterns(plan.PATTERNS))
    assert summary.items_per_collection[ext.COLLECTION_ACCURACY] == 2  # the assessment and its sample
    coll = json.loads((catalog.parent / ext.COLLECTION_MAPS / "collection.json").read_text())
    assert coll["sporbar:accuracy"] == {"land-ecology-accuracy": d["properties"]["sporbar:accuracy"]}
    related = [lk for lk in coll["links"] if lk["rel"] == "related"]
    assert (catalog.parent / ext.COLLECTION_MAPS / related[0]["href"]).resolve().name == "land-ecology-accuracy.json"

    record = iso.collection_record(read_catalog(catalog), ext.COLLECTION_MAPS)
    ns = {"gmd": GMD, "gco": GCO}
    dq = record.find("gmd:dataQualityInfo/gmd:DQ_DataQuality", ns)
    n = len(cfg.data["classes"])  # overall, user's per class, producer's but for class 1 (never the reference)
    assert [etree.QName(e).localname for e in dq] == ["scope"] + ["report"] * (1 + n + n - 1) + ["lineage"]
    overall = dq.find("gmd:report/gmd:DQ_ThematicClassificationCorrectness", ns)
    value = overall.findtext("gmd:result/gmd:DQ_QuantitativeResult/gmd:value/gco:Record", namespaces=ns)
    assert float(value) == pytest.approx(d["properties"]["sporbar:accuracy"]["overall_accuracy"]["estimate"])
    validate_iso = iso_validator()
    if validate_iso is None:
        pytest.skip(f"ISO 19139 schema bundle not found at {ISO_BUNDLE} (../shared/iso19139)")
    path = tmp_path / "collection.xml"
    path.write_bytes(iso.to_bytes(record))
    rep = validate_iso.validate_file(path, backend="lxml")
    assert rep.valid, "\n".join(e.format(rep.file) for e in rep.errors)
    assert not rep.warnings, "\n".join(w.format(rep.file) for w in rep.warnings)


def test_preflight_refuses_an_unlabelled_or_unreadable_reference_file(tmp_path: Path) -> None:
    from sporbar.errors import MissingInputError
    from sporbar.workflow.preflight import check_inputs

    cfg, maps = _map(tmp_path)
    sample = tmp_path / "s" / "item.json"
    run_validation_sample(cfg, map_items=maps, output=sample, ctx=CTX)
    unlabelled = sample.parent / "sample.gpkg"

    def with_reference(ref: Path) -> Config:
        return Config(data={**cfg.data, "accuracy": {**cfg.data["accuracy"], "reference": str(ref)}}, source="c")

    with pytest.raises(InputDataError, match=rf"{unlabelled}: \d+ of \d+ points have no reference label"):
        check_inputs(with_reference(unlabelled))
    with pytest.raises(MissingInputError, match="validation sample not found"):
        check_inputs(with_reference(tmp_path / "nowhere.gpkg"))
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage")
    with pytest.raises(InputDataError, match=f"{junk}: not a readable GeoPackage"):
        check_inputs(with_reference(junk))
    other_layer = tmp_path / "other.gpkg"
    write_geopackage(gpd.read_file(unlabelled, layer=LAYER), other_layer, layer="points")
    with pytest.raises(InputDataError, match="no layer 'sample' \\(has points\\)"):
        check_inputs(with_reference(other_layer))
    labelled = gpd.read_file(unlabelled, layer=LAYER).assign(reference=lambda f: f["map_class"])
    write_geopackage(labelled, tmp_path / "labelled.gpkg", layer=LAYER)
    assert check_inputs(with_reference(tmp_path / "labelled.gpkg")) == [
        f"validation sample {tmp_path / 'labelled.gpkg'}: {len(labelled)} labelled points"
    ]


def test_demo_truth_with_real_sources_warns_and_stops_at_the_sample(tmp_path: Path) -> None:
    import yaml

    from sporbar.config import config_warnings
    from sporbar.demo.truth import demo_truth
    from sporbar.errors import ConfigError

    real = yaml.safe_load((Path(__file__).resolve().parents[2] / "config/examples/trondelag-dhus.yaml").read_text())
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump({**real, "accuracy": {"reference": "demo"}}))
    cfg = load(path)
    assert any("key accuracy/reference: 'demo'" in w for w in config_warnings(cfg))
    outputs = plan.all_outputs(cfg)
    assert plan.path(cfg, "validation_sample", product="land-ecology") in outputs
    assert plan.path(cfg, "accuracy", product="land-ecology") not in outputs
    with pytest.raises(ConfigError, match="needs sources.sentinel2.source 'demo'"):
        demo_truth(cfg)
    path.write_text(yaml.safe_dump(real))
    assert "reference" not in load(path).data["accuracy"]  # no labels yet: the run stops at the sample
