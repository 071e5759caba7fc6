"""The bad-input trials, by group. Each setup builds its damaged copy in ``ctx.tmp`` and returns the
:class:`~bad_input.Call` to run, with the strings its error (or warning) must hold."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bad_input import PASSWORD, RULE, USER, Call, Ctx, Skip, Trial
from conftest import small_config, write_config

Mutate = Callable[[dict[str, Any]], Any]


def _small(ctx: Ctx, mutate: Mutate, name: str = "config.yaml") -> Path:
    cfg = small_config(ctx.tmp / "results")
    mutate(cfg)
    return write_config(ctx.tmp / name, cfg)


def _check_config(mutate: Mutate, *must: str) -> Callable[[Ctx], Call]:
    """`sporbar check-config` on the small test config changed by ``mutate``; ``{config}`` in
    ``must`` is the config's path."""

    def setup(ctx: Ctx) -> Call:
        path = _small(ctx, mutate)
        return Call(["sporbar", "check-config", str(path)], tuple(m.format(config=path) for m in must))

    return setup


def _text_config(text: str, *must: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        path = ctx.tmp / "config.yaml"
        path.write_text(text)
        return Call(["sporbar", "check-config", str(path)], tuple(m.format(config=path) for m in must))

    return setup


def _set(dotted: str, value: Any) -> Mutate:
    def mutate(cfg: dict[str, Any]) -> None:
        *parents, last = dotted.split(".")
        node: Any = cfg
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(key: str) -> Mutate:
    return lambda cfg: cfg.pop(key)


def _dry_run(mutate: Mutate, *must: str) -> Callable[[Ctx], Call]:
    """`snakemake -n --configfile` (the preflight of a run) on the changed small config."""

    def setup(ctx: Ctx) -> Call:
        path = _small(ctx, mutate)
        return Call(["snakemake", "-n", "--configfile", str(path)], tuple(m.format(config=path) for m in must),
                    timeout=180)

    return setup


def _overlap(cfg: dict[str, Any]) -> None:
    cfg["ard"]["periods"][1]["start"] = "2024-06-20"  # early ends 2024-07-05


def _duplicate_model(cfg: dict[str, Any]) -> None:
    cfg["models"].append(copy.deepcopy(cfg["models"][0]))


CONFIG = [
    Trial("config", "missing-file", lambda ctx: Call(["sporbar", "check-config", str(ctx.tmp / "nope.yaml")],
                                                     (str(ctx.tmp / "nope.yaml"), "not found"))),
    Trial("config", "not-yaml", _text_config("area: [unclosed\n", "{config}", "not valid YAML")),
    Trial("config", "yaml-list", _text_config("- root\n- area\n", "{config}", "mapping")),
    Trial("config", "empty-file", _text_config("", "{config}", "empty")),
    Trial("config", "unknown-key", _check_config(_set("grid.tile_sise", 640), "{config}", "tile_sise", "grid")),
    Trial("config", "wrong-type", _check_config(_set("training.folds", "four"), "{config}", "training/folds",
                                                "'four' is not of type 'integer'")),
    Trial("config", "missing-key", _check_config(_delete("area"), "{config}", "'area' is a required property")),
    Trial("config", "bbox-in-degrees", _check_config(_set("area.bbox", [10.0, 59.0, 11.0, 60.0]), "{config}",
                                                     "area", "outside the national grid")),
    Trial("config", "impossible-month", _check_config(_set("ard.periods.1.end", "2024-13-45"), "{config}",
                                                      "ard/periods/1/end", "'2024-13-45' is not a 'date'")),
    Trial("config", "february-30", _check_config(_set("demo.dates.0", "2024-02-30"), "{config}", "demo/dates/0",
                                                 "'2024-02-30' is not a 'date'")),
    Trial("config", "duplicate-period-id", _check_config(_set("ard.periods.1.id", "early"), "{config}",
                                                         "ard/periods", "early more than once")),
    Trial("config", "period-ends-before-start", _check_config(
        _set("ard.periods", [{"id": "p", "start": "2024-09-01", "end": "2024-06-01"}]), "{config}",
        "start 2024-09-01 is after end 2024-06-01")),
    Trial("config", "bbox-off-the-grid", _check_config(
        _set("area.bbox", [268900, 7030500, 269900, 7031000]), "{config}", "area/bbox",
        "not on the edges of the 640 m grid tiles", "[268800, 7030400, 270080, 7031040]")),
    Trial("config", "overlapping-periods", _check_config(_overlap, "warning:", "'early'", "'late'", "overlap"),
          expect=RULE),
    Trial("config", "map-model-unknown", _check_config(_set("map.model", "xgb"), "{config}", "map/model",
                                                       "'xgb' is not one of")),
    Trial("config", "duplicate-model-id", _check_config(_duplicate_model, "{config}", "models", "rf")),
    Trial("config", "zero-threads", _check_config(_set("threads", 0), "{config}", "threads")),
    Trial("config", "zero-download-timeout", _check_config(
        _set("sources.sentinel2.dhus", {"download": {"timeout": 0}}), "{config}", "timeout")),
    Trial("config", "search-dates-reversed", _check_config(
        _set("sources.sentinel2.date_range", {"start": "2024-09-01", "end": "2024-06-01"}), "{config}",
        "date_range", "2024-09-01")),
    Trial("config", "dcat-restricted-unknown", _check_config(
        _set("metadata.dcat.restricted", "hide"), "{config}", "metadata/dcat/restricted", "'list', 'omit'")),
    Trial("config", "contact-email-malformed", _check_config(
        _set("metadata.contact_email", "postmottak"), "{config}", "metadata/contact_email",
        "'postmottak' is not an e-mail address")),
    Trial("config", "dry-run-unknown-key", _dry_run(_set("grid.tile_sise", 640), "tile_sise", "key grid")),
    Trial("config", "dry-run-missing-key", _dry_run(_delete("area"), "{config}", "'area' is a required property")),
]



def _labels(damage: Callable[[Any], Any], *must: str, layer: str = "labels",
            **settings: Any) -> Callable[[Ctx], Call]:
    """`sporbar check-config` with ``sources.labels`` a file: the demo labels changed by ``damage``
    (a GeoDataFrame -> GeoDataFrame, or None to write no file); ``{labels}`` in ``must`` is its path."""

    def setup(ctx: Ctx) -> Call:
        import geopandas as gpd
        import yaml
        from _lidar_fixtures import write_config as lidar_config

        src = ctx.tmp / "labels.gpkg"
        gdf = damage(gpd.read_file(ctx.shared.lidar.labels_gpkg, layer="labels"))
        if gdf is not None:
            gdf.to_file(src, layer=layer, driver="GPKG")
        path = lidar_config(ctx.tmp)
        data = yaml.safe_load(path.read_text())
        data["sources"]["labels"] = {"source": "file", "path": str(src), "class_column": "class_name", **settings}
        path.write_text(yaml.safe_dump(data))
        return Call(["sporbar", "check-config", str(path)], tuple(m.format(labels=src) for m in must))

    return setup


def _metres_as_degrees(gdf: Any) -> Any:
    return gdf.set_crs("EPSG:4326", allow_override=True)


def _bow_ties(gdf: Any) -> Any:
    from shapely.geometry import Polygon

    x, y = gdf.geometry.iloc[0].representative_point().coords[0]
    gdf.loc[gdf.index[:3], "geometry"] = [
        Polygon([(x + 50 * i, y), (x + 50 * i + 40, y + 40), (x + 50 * i + 40, y), (x + 50 * i, y + 40)])
        for i in range(3)]
    return gdf


def _far_away(gdf: Any) -> Any:
    from shapely.affinity import translate

    return gdf.set_geometry(gdf.geometry.apply(lambda g: translate(g, 100_000, 0)))


def _unknown_class(gdf: Any) -> Any:
    gdf.loc[gdf.index[:2], "class_name"] = "swamp"
    return gdf


def _points(gdf: Any) -> Any:
    return gdf.set_geometry(gdf.geometry.representative_point())


LABELS = [
    Trial("labels", "metres-declared-as-degrees", _labels(_metres_as_degrees, "{labels}", "EPSG:4326",
                                                          "outside the longitude/latitude range")),
    Trial("labels", "self-intersecting", _labels(_bow_ties, "{labels}", "label polygons are invalid",
                                                 "Self-intersection", "make_valid")),
    Trial("labels", "outside-the-area", _labels(_far_away, "{labels}", "no label polygon intersects area")),
    Trial("labels", "no-class-column", _labels(lambda g: g.rename(columns={"class_name": "klasse"}),
                                               "{labels}", "class_name")),
    Trial("labels", "unknown-class-name", _labels(_unknown_class, "{labels}", "swamp")),
    Trial("labels", "file-missing", _labels(lambda g: None, "{labels}", "not found")),
    Trial("labels", "no-polygons", _labels(lambda g: g.iloc[:0], "{labels}", "no")),
    Trial("labels", "points-not-polygons", _labels(_points, "{labels}", "Point")),
    Trial("labels", "two-layers-none-named-labels", lambda ctx: _two_layers(ctx)),
    Trial("labels", "not-a-geopackage", lambda ctx: _garbage_labels(ctx)),
]


def _two_layers(ctx: Ctx) -> Call:
    import geopandas as gpd

    call = _labels(lambda g: None, "{labels}")(ctx)
    src = ctx.tmp / "labels.gpkg"
    gdf = gpd.read_file(ctx.shared.lidar.labels_gpkg, layer="labels")
    gdf.iloc[:3].to_file(src, layer="survey-2023")
    gdf.to_file(src, layer="survey-2024")
    return Call(call.argv, (str(src), "2 layers", "none named 'labels'"))


def _garbage_labels(ctx: Ctx) -> Call:
    call = _labels(lambda g: None, "{labels}")(ctx)
    src = ctx.tmp / "labels.gpkg"
    src.write_bytes(b"this is no GeoPackage\n" * 50)
    return Call(call.argv, (str(src),))




# --- stage inputs and damaged data: the stages' own commands on copies of real items -----------------


def _copy_item(item: Path, dest: Path) -> Path:
    """A copy of an item's folder (its data files with it) at ``dest``; the copied item's path."""
    shutil.copytree(item.parent, dest)
    return dest / item.name


def _asset_file(item: Path, key: str) -> Path:
    return item.parent / json.loads(item.read_text())["assets"][key]["href"]


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size: only the checksum can tell
    path.write_bytes(bytes(data))


def _cut_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"not what you think" * 64)


def _damaged(item: Path, ctx: Ctx, key: str, damage: Callable[[Path], None], *, vouch: bool) -> tuple[Path, Path]:
    """A copy of ``item`` whose asset ``key`` is damaged; ``vouch``: the item records the damaged file
    (so the stage's reader, not its input check, must find the damage). Returns (item, file)."""
    from _stac_fixtures import vouch_for_file

    copied = _copy_item(item, ctx.tmp / f"damaged-{key}")
    target = _asset_file(copied, key)
    damage(target)
    if vouch:
        vouch_for_file(copied, key)
    return copied, target


def _not_an_item(ctx: Ctx, kind: str) -> Path:
    """A file given where an item is expected: a LAZ, a GeoTIFF, ``{}``, a GeoJSON Feature, cut JSON."""
    lid = ctx.shared.lidar
    if kind == "laz":
        return _asset_file(lid.raw_lidar[0], "data")
    if kind == "geotiff":
        return _asset_file(lid.products, "dtm")
    path = ctx.tmp / f"{kind}.json"
    text = {"empty-object": "{}", "feature": json.dumps({"type": "Feature", "geometry": None, "properties": {}}),
            "cut-json": lid.products.read_text()[:200]}[kind]
    path.write_text(text)
    return path


def _lidar(ctx: Ctx, items: list[Path], *must: str) -> Call:
    lid = ctx.shared.lidar
    return Call(["sporbar", "lidar", "-c", str(lid.cfg_path), "--tile", lid.tile, "-o",
                 str(ctx.tmp / "out" / "item.json"), *map(str, items)], must)


def _samples(ctx: Ctx, *must: str, **swap: Path) -> Call:
    ml = ctx.shared.ml
    a = ml.area
    inputs = {"labels": a.labels, **{f"ard{i}": p for i, p in enumerate(a.ard.values())},
              **{f"lidar{i}": p for i, p in enumerate(a.lidar.values())}, **swap}
    return Call(["sporbar", "samples", "-c", str(a.cfg_path), "--manifest", str(ctx.tmp / "out" / "manifest.json"),
                 *map(str, inputs.values())], must)


def _train(ctx: Ctx, samples: Path, *must: str) -> Call:
    a = ctx.shared.ml.area
    return Call(["sporbar", "train", "-c", str(a.cfg_path), "--model", "rf", "--samples", str(samples),
                 "--manifest", str(ctx.tmp / "out" / "manifest.json")], must)


def _predict(ctx: Ctx, *must: str, tile: str | None = None, **swap: Path) -> Call:
    ml = ctx.shared.ml
    a = ml.area
    tile = tile or a.tiles[0]
    inputs = {"model": ml.model, "ard": a.ard[tile], "lidar": a.lidar[tile], **swap}
    return Call(["sporbar", "predict", "-c", str(a.cfg_path), "--tile", tile,
                 *(x for k, p in inputs.items() for x in (f"--{k}", str(p))),
                 "-o", str(ctx.tmp / "out" / "item.json")], must)


def _lidar_given(kind: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        bad = _not_an_item(ctx, kind)
        return _lidar(ctx, [bad, *ctx.shared.lidar.raw_lidar[1:]], str(bad), "item")

    return setup


def _predict_model_given(kind: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        bad = _not_an_item(ctx, kind)
        return _predict(ctx, str(bad), model=bad)

    return setup


def _lidar_changed_laz(ctx: Ctx) -> Call:
    item, laz = _damaged(ctx.shared.lidar.raw_lidar[0], ctx, "data", _flip_last_byte, vouch=False)
    return _lidar(ctx, [item, *ctx.shared.lidar.raw_lidar[1:]], str(laz), "checksum")


def _samples_changed_composite(ctx: Ctx) -> Call:
    a = ctx.shared.ml.area
    item, tif = _damaged(a.ard[a.tiles[0]], ctx, "composite-early", _flip_last_byte, vouch=False)
    return _samples(ctx, str(tif), "composite-early", "checksum", ard0=item)


def _samples_missing_lidar_file(ctx: Ctx) -> Call:
    a = ctx.shared.ml.area
    item, tif = _damaged(a.lidar[a.tiles[0]], ctx, "chm", Path.unlink, vouch=False)
    return _samples(ctx, str(tif), "chm", lidar0=item)


def _predict_changed_model(ctx: Ctx) -> Call:
    item, f = _damaged(ctx.shared.ml.model, ctx, "model", _flip_last_byte, vouch=False)
    return _predict(ctx, str(f), "checksum", model=item)


def _predict_other_tile(ctx: Ctx) -> Call:
    a = ctx.shared.ml.area
    other = a.ard[a.tiles[1]]
    return _predict(ctx, str(other.parent), "not on the expected grid", tile=a.tiles[0], ard=other,
                    lidar=a.lidar[a.tiles[1]])


def _predict_lidar_as_model(ctx: Ctx) -> Call:
    a = ctx.shared.ml.area
    wrong = a.lidar[a.tiles[0]]
    return _predict(ctx, str(wrong), "model", model=wrong)


def _train_given_empty_object(ctx: Ctx) -> Call:
    bad = _not_an_item(ctx, "empty-object")
    return _train(ctx, bad, str(bad))


def _ard_scene(kind: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        s2 = ctx.shared.s2
        bad = _not_an_item(ctx, kind)
        return Call(["sporbar", "ard", "-c", str(s2.cfg_path), "--tile", "E268800N7029760", "-o",
                     str(ctx.tmp / "out" / "item.json"), str(bad)], (str(bad),))

    return setup


def _lidar_missing_item(ctx: Ctx) -> Call:
    gone = ctx.tmp / "raw" / "lidar" / "nope" / "item.json"
    return _lidar(ctx, [gone, *ctx.shared.lidar.raw_lidar[1:]], str(gone))


STAGE = [
    Trial("stage-inputs", "lidar-given-a-laz", _lidar_given("laz")),
    Trial("stage-inputs", "lidar-given-a-geotiff", _lidar_given("geotiff")),
    Trial("stage-inputs", "lidar-given-empty-json", _lidar_given("empty-object")),
    Trial("stage-inputs", "lidar-given-a-plain-feature", _lidar_given("feature")),
    Trial("stage-inputs", "lidar-given-cut-json", _lidar_given("cut-json")),
    Trial("stage-inputs", "lidar-item-missing", _lidar_missing_item),
    Trial("stage-inputs", "predict-model-is-a-geotiff", _predict_model_given("geotiff")),
    Trial("stage-inputs", "predict-model-is-a-lidar-item", _predict_lidar_as_model),
    Trial("stage-inputs", "predict-inputs-of-another-tile", _predict_other_tile),
    Trial("stage-inputs", "train-samples-is-empty-json", _train_given_empty_object),
    Trial("stage-inputs", "ard-scene-is-empty-json", _ard_scene("empty-object")),
    Trial("stage-inputs", "lidar-laz-changed-after-fetch", _lidar_changed_laz),
    Trial("stage-inputs", "samples-composite-changed", _samples_changed_composite),
    Trial("stage-inputs", "samples-lidar-file-deleted", _samples_missing_lidar_file),
    Trial("stage-inputs", "predict-model-file-changed", _predict_changed_model),
]



def _lidar_damaged_laz(damage: Callable[[Path], None], *must: str, expect_words: str = "") -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        raw = ctx.shared.lidar.raw_lidar
        item, laz = _damaged(raw[0], ctx, "data", damage, vouch=True)
        return _lidar(ctx, [item, *raw[1:]], str(laz), *must)

    return setup


def _no_points(laz: Path) -> None:
    import laspy

    las = laspy.read(laz)
    empty = laspy.LasData(las.header)
    empty.points = las.points[:0]
    empty.write(laz)


def _without_crs(laz: Path) -> None:
    import laspy

    las = laspy.read(laz)
    keep = [v for v in las.header.vlrs if v.user_id != "LASF_Projection"]  # the WKT / GeoTIFF records
    las.header.vlrs.clear()
    las.header.vlrs.extend(keep)
    las.write(laz)


def _geographic_crs(laz: Path) -> None:
    import laspy
    import pyproj

    las = laspy.read(laz)
    las.header.add_crs(pyproj.CRS.from_epsg(4326))
    las.write(laz)


def _no_ground_class(laz: Path) -> None:
    import laspy
    import numpy as np

    las = laspy.read(laz)
    las.classification[np.asarray(las.classification) == 2] = 1
    las.write(laz)


def _broken_copc(laz: Path) -> None:
    """The real COPC of ../shared moved onto the tile, its root hierarchy page overwritten."""
    import laspy
    from _lidar_fixtures import BBOX, SHARED, copc_moved_to

    real = SHARED / "realdata" / "lidar" / "simple.copc.laz"
    if not real.is_file():
        raise Skip(f"{real} absent (../shared/realdata)")
    data = bytearray(copc_moved_to(real, BBOX[0], BBOX[1]))
    laz.write_bytes(bytes(data))
    with laspy.CopcReader.open(str(laz)) as reader:
        start, size = reader.copc_info.hierarchy_root_offset, reader.copc_info.hierarchy_root_size
    data[start:start + size] = b"\xff" * size
    laz.write_bytes(bytes(data))


def _samples_damaged(which: str, key: str, damage: Callable[[Path], None], *must: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        a = ctx.shared.ml.area
        item = {"ard0": a.ard[a.tiles[0]], "lidar0": a.lidar[a.tiles[0]], "labels": a.labels}[which]
        copied, f = _damaged(item, ctx, key, damage, vouch=True)
        return _samples(ctx, str(f), *must, **{which: copied})

    return setup


def _train_damaged_samples(ctx: Ctx) -> Call:
    item, f = _damaged(ctx.shared.ml.samples, ctx, "samples", _cut_half, vouch=True)
    # another training version (ids carry the samples' hash): otherwise train keeps the model
    # version it already made from the intact samples and reads nothing
    d = json.loads(item.read_text())
    d["id"] += "-cut"
    item.write_text(json.dumps(d))
    return _train(ctx, item, str(f))


def _predict_damaged(key: str, damage: Callable[[Path], None], *must: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        item, f = _damaged(ctx.shared.ml.model, ctx, key, damage, vouch=True)
        return _predict(ctx, str(f), *must, model=item)

    return setup


def _reuse(ctx: Ctx, source: Path, change: Mutate, *must: str) -> Call:
    """`sporbar train` of a models[] entry that reuses the published model ``source`` (models[].from), in
    a run whose config ``change`` alters; the output must say nothing was written (no version folder)."""
    import yaml

    a = ctx.shared.ml.area
    cfg = yaml.safe_load(a.cfg_path.read_text())
    cfg["root"] = str(ctx.tmp / "results")
    cfg["models"] = [{"id": "shared", "from": str(source)}]
    cfg["map"] = {"model": "shared", "product": "land-ecology"}
    change(cfg)
    path = write_config(ctx.tmp / "reuse.yaml", cfg)
    series = ctx.tmp / "results" / "models" / "shared"

    def nothing_written() -> str:
        left = sorted(p.name for p in series.iterdir()) if series.exists() else []
        return f"\nhalf-written: {left}" if left else ""

    return Call(["sporbar", "train", "-c", str(path), "--model", "shared", "--samples", str(ctx.shared.ml.samples),
                 "--manifest", str(ctx.tmp / "out" / "manifest.json")], must, after=nothing_written)


def _rename_class(cfg: dict[str, Any]) -> None:
    cfg["classes"][1]["name"] = "bog"


def _fewer_metrics(cfg: dict[str, Any]) -> None:
    cfg["lidar"]["metrics"]["percentiles"] = [50, 95]


def _reuse_mismatch(change: Mutate, *must: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        return _reuse(ctx, ctx.shared.ml.model, change, str(ctx.shared.ml.model), "does not fit", *must)

    return setup


def _reuse_damaged_model(ctx: Ctx) -> Call:
    item, f = _damaged(ctx.shared.ml.model, ctx, "model", _flip_last_byte, vouch=False)
    return _reuse(ctx, item, lambda cfg: None, str(f), "checksum", "the item records")


def _train_class_below_folds(ctx: Ctx) -> Call:
    """Samples in which one class has 2 samples and training.folds is 3."""
    import geopandas as gpd
    from _stac_fixtures import vouch_for_file

    item = _copy_item(ctx.shared.ml.samples, ctx.tmp / "few")
    f = _asset_file(item, "samples")
    df = gpd.read_parquet(f)
    keep = (df["class_name"] != "mire") | (df.groupby("class_name").cumcount() < 2)
    df[keep.to_numpy()].to_parquet(f, index=False)
    vouch_for_file(item, "samples")
    d = json.loads(item.read_text())
    d["id"] += "-few"  # another training version, so train does not keep the model it made from the intact one
    item.write_text(json.dumps(d))
    return _train(ctx, item, str(f), "'mire': 2", "folds")


def _fetch_s2(ctx: Ctx, source: Path, *must: str, scene: str | None = None) -> Call:
    s2 = ctx.shared.s2
    scene = scene or s2.scenes[0]
    return Call(["sporbar", "fetch", "s2", "-c", str(s2.cfg_path), "--source-dir", str(source), "--scene", scene,
                 "-o", str(ctx.tmp / "raw" / scene / "item.json")], must)


def _fetch_s2_damaged_source(pattern: str, damage: Callable[[Path], None], *must: str) -> Callable[[Ctx], Call]:
    """`sporbar fetch s2` from a copy of the demo source whose first scene's file ``pattern`` is damaged."""

    def setup(ctx: Ctx) -> Call:
        s2 = ctx.shared.s2
        source = shutil.copytree(s2.source, ctx.tmp / "source")
        f = next((source / "sentinel-2" / f"{s2.scenes[0]}.SAFE").glob(pattern))
        damage(f)
        return _fetch_s2(ctx, source, f.name, *must)

    return setup


def _fetch_s2_damaged_index(text: str, *must: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        source = shutil.copytree(ctx.shared.s2.source, ctx.tmp / "source")
        (source / "index.json").write_text(text)
        return _fetch_s2(ctx, source, str(source / "index.json"), *must)

    return setup


def _fetch_s2_search(text: str, *must: str) -> Callable[[Ctx], Call]:
    """`sporbar fetch s2 --source dhus` given a damaged search result file."""

    def setup(ctx: Ctx) -> Call:
        s2 = ctx.shared.s2
        search = ctx.tmp / "search.json"
        search.write_text(text)
        scene = s2.scenes[0]
        return Call(["sporbar", "fetch", "s2", "-c", str(s2.cfg_path), "--source", "dhus", "--search", str(search),
                     "--scene", scene, "-o", str(ctx.tmp / "raw" / scene / "item.json")], (str(search), *must))

    return setup


CORRUPT = [
    Trial("corrupt-data", "laz-cut-in-half", _lidar_damaged_laz(_cut_half, "truncated or corrupt")),
    Trial("corrupt-data", "laz-garbage", _lidar_damaged_laz(_garbage)),
    Trial("corrupt-data", "laz-with-no-point", _lidar_damaged_laz(_no_points, "holds no point"), expect=RULE),
    Trial("corrupt-data", "laz-without-crs", _lidar_damaged_laz(_without_crs, "carries no CRS", "sources.lidar.epsg")),
    Trial("corrupt-data", "laz-in-a-geographic-crs", _lidar_damaged_laz(_geographic_crs, "EPSG:4326", "geographic")),
    Trial("corrupt-data", "laz-with-zero-ground-points", _lidar_damaged_laz(
        _no_ground_class, "ground-class share", "sporbar:ground_classification"), expect=RULE),
    Trial("corrupt-data", "copc-with-a-broken-hierarchy", _lidar_damaged_laz(_broken_copc, "COPC hierarchy is broken")),
    Trial("corrupt-data", "composite-cut-in-half", _samples_damaged("ard0", "composite-early", _cut_half)),
    Trial("corrupt-data", "lidar-product-garbage", _samples_damaged("lidar0", "dtm", _garbage)),
    Trial("corrupt-data", "labels-gpkg-cut", _samples_damaged("labels", "labels", _cut_half)),
    Trial("corrupt-data", "samples-parquet-cut", _train_damaged_samples),
    Trial("corrupt-data", "model-cut-in-half", _predict_damaged("model", _cut_half, "cannot load",
                                                                "re-run `sporbar train")),
    Trial("corrupt-data", "model-garbage", _predict_damaged("model", _garbage, "cannot load",
                                                            "re-run `sporbar train")),
    Trial("corrupt-data", "model-sidecar-cut", _predict_damaged("model-metadata", _cut_half, "corrupt")),
    Trial("corrupt-data", "reused-model-checksum-differs", _reuse_damaged_model),
    Trial("corrupt-data", "reused-model-classes-differ", _reuse_mismatch(_rename_class, "'mire' in the model, 'bog'")),
    Trial("corrupt-data", "reused-model-features-differ", _reuse_mismatch(_fewer_metrics, "h_p10")),

    Trial("corrupt-data", "train-class-with-fewer-samples-than-folds", _train_class_below_folds),
    Trial("corrupt-data", "source-band-cut", _fetch_s2_damaged_source("GRANULE/*/IMG_DATA/R10m/*_B04_10m.jp2",
                                                                      _cut_half, "manifest")),
    Trial("corrupt-data", "source-granule-metadata-cut", _fetch_s2_damaged_source("GRANULE/*/MTD_TL.xml",
                                                                                  _cut_half)),
    Trial("corrupt-data", "source-index-not-json", _fetch_s2_damaged_index("{\"sentinel2\": [")),
    Trial("corrupt-data", "source-index-empty-object", _fetch_s2_damaged_index("{}")),
    Trial("corrupt-data", "search-result-not-json", _fetch_s2_search("{\"scenes\": [")),
    Trial("corrupt-data", "search-result-empty-object", _fetch_s2_search("{}")),
]



# --- hostile catalog items: hrefs out of the delivery, for `verify` and `reproduce` ---------------------


def _outside(ctx: Ctx) -> tuple[Path, Path]:
    """A secret file and a FIFO (opening it would block) outside the delivery."""
    out = ctx.tmp / "outside"
    out.mkdir()
    secret = out / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    os.mkfifo(out / "fifo")
    return secret, out / "fifo"


def _href(form: str, target: Path, item: Path) -> str:
    """``target`` as an href of ``item`` in ``form``; a symlink form makes the link beside the item."""
    if form == "relative":
        return os.path.relpath(target, item.parent)
    if form == "absolute":
        return str(target)
    if form == "file-url":
        return target.as_uri()
    if form == "http-url":
        return "http://127.0.0.1:9/passwd"  # nothing listens on the discard port: an open would fail or hang
    link = item.parent / f"link-{target.name}"
    link.symlink_to(target)
    return f"./{link.name}"


def _point_asset(item: Path, key: str, href: str, target: Path | None) -> None:
    """Make asset ``key`` of ``item`` point at ``href``, recording ``target``'s checksum (a matching one)."""
    from sporbar.io import sha256_multihash

    d = json.loads(item.read_text())
    d["assets"][key]["href"] = href
    if target is not None and target.is_file():
        d["assets"][key].update({"file:checksum": sha256_multihash(target), "file:size": target.stat().st_size})
    item.write_text(json.dumps(d))


def _delivery(ctx: Ctx) -> tuple[Path, Path]:
    """A copy of the published chain (its folder holds config.yaml: the delivery root); (catalog, model copy)."""
    chain = ctx.shared.chain
    folder = shutil.copytree(chain.root.parent, ctx.tmp / "delivery", symlinks=True)
    catalog = folder / chain.catalog.relative_to(chain.root.parent)
    (model,) = catalog.parent.glob("models/model-rf/*.json")
    return catalog, model


def _in_delivery(ctx: Ctx, path: Path) -> Path:
    """Where ``path`` of the shared chain lies in this trial's copy of the delivery."""
    return ctx.tmp / "delivery" / path.relative_to(ctx.shared.chain.root.parent)


def _verify_outside(form: str) -> Callable[[Ctx], Call]:
    def setup(ctx: Ctx) -> Call:
        secret, _ = _outside(ctx)
        catalog, model = _delivery(ctx)
        href = _href(form, secret, model)
        _point_asset(model, "metrics", href, secret)
        return Call(["sporbar", "verify", str(catalog)], (str(model), "'metrics'", "outside the delivery"),
                    timeout=60)

    return setup


def _verify_url(ctx: Ctx) -> Call:
    """A URL asset in the catalog copy and in the item beside the data: allowed, but named."""
    catalog, model = _delivery(ctx)
    home = _in_delivery(ctx, ctx.shared.chain.model)  # the item beside the data
    for item in (model, home):
        _point_asset(item, "metrics", _href("http-url", Path("/"), item), None)
    return Call(["sporbar", "verify", str(catalog)], (str(model), "'metrics'", "is a URL: not checked"),
                timeout=60)


def _verify_fifo(ctx: Ctx) -> Call:
    _, fifo = _outside(ctx)
    catalog, model = _delivery(ctx)
    _point_asset(model, "model", os.path.relpath(fifo, model.parent), None)
    return Call(["sporbar", "verify", str(catalog)], (str(model), "'model'", "outside the delivery"), timeout=60)


def _verify_derived_from_outside(ctx: Ctx) -> Call:
    catalog, model = _delivery(ctx)
    stray = ctx.tmp / "stray-item.json"
    stray.write_text(ctx.shared.chain.raw_lidar.read_text())
    d = json.loads(model.read_text())
    d["links"].append({"rel": "derived_from", "href": stray.as_uri(), "type": "application/json"})
    model.write_text(json.dumps(d))
    return Call(["sporbar", "verify", str(catalog)], (str(model), "derived_from", "outside the delivery"))


def _verify_changed_asset(ctx: Ctx) -> Call:
    catalog, model = _delivery(ctx)
    data = _in_delivery(ctx, ctx.shared.chain.model.parent / "metrics.json")
    data.write_text('{"accuracy": 1.0}\n')
    return Call(["sporbar", "verify", str(catalog)], ("'metrics'", "mismatch"))


def _verify_catalog_not_json(ctx: Ctx) -> Call:
    catalog, _ = _delivery(ctx)
    catalog.write_text('{"type": "Catalog", "links": [')
    return Call(["sporbar", "verify", str(catalog)], (str(catalog),))


def _verify_item_deleted(ctx: Ctx) -> Call:
    catalog, model = _delivery(ctx)
    model.unlink()
    return Call(["sporbar", "verify", str(catalog)], (str(model),))


def _run_copy(ctx: Ctx) -> Path:
    """A moved copy of the one-tile lidar run (root with its effective config); returns the root."""
    return shutil.copytree(ctx.shared.lidar.root, ctx.tmp / "results", symlinks=True)


def _reproduce_outside(form: str, *, of_input: bool = False) -> Callable[[Ctx], Call]:
    """`sporbar reproduce` of the lidar products item whose asset (or its raw LAZ input's) points outside."""

    def setup(ctx: Ctx) -> Call:
        secret, fifo = _outside(ctx)
        root = _run_copy(ctx)
        lid = ctx.shared.lidar
        product = root / lid.products.relative_to(lid.root)
        if of_input:
            item, key = root / lid.raw_lidar[0].relative_to(lid.root), "data"
        else:
            item, key = product, "dtm"
        target = fifo if form in ("relative", "file-url") else secret
        _point_asset(item, key, _href(form, target, item), None if form == "http-url" else target)
        must = (str(item), f"'{key}'", "outside the delivery")
        if form == "http-url":  # a row of the asset table: "dtm  missing  delivered href '...' is a URL, ..."
            must = (str(item), "dtm", "is a URL, outside the delivery; reproduce does not open it")
        return Call(["sporbar", "reproduce", str(product)], must, timeout=120)

    return setup


HOSTILE_ITEMS = [
    *(Trial("hostile-items", f"verify-href-{form}", _verify_outside(form))
      for form in ("relative", "absolute", "file-url", "symlink")),
    Trial("hostile-items", "verify-href-http-url", lambda ctx: _verify_url(ctx), expect=RULE),
    Trial("hostile-items", "verify-href-to-a-fifo", _verify_fifo),
    Trial("hostile-items", "verify-derived-from-outside", _verify_derived_from_outside),
    Trial("hostile-items", "verify-asset-changed", _verify_changed_asset),
    Trial("hostile-items", "verify-catalog-not-json", _verify_catalog_not_json),
    Trial("hostile-items", "verify-item-deleted", _verify_item_deleted),
    *(Trial("hostile-items", f"reproduce-href-{form}", _reproduce_outside(form))
      for form in ("relative", "absolute", "file-url", "symlink", "http-url")),
    Trial("hostile-items", "reproduce-input-href-outside", _reproduce_outside("relative", of_input=True)),
]



# --- hostile download servers on loopback: each echoes the credentials it gets (leaks would show) -------

FAST = {"retries": 1, "tries": 2, "backoff": 0.01, "max_backoff": 0.1, "timeout": 2}
HANG_S = 60  # a hanging server answers after this long: the command must give up well before


def _server(ctx: Ctx) -> Any:
    from _loopback import Loopback

    server = Loopback()
    ctx.stack.callback(server.close)
    return server


def _echoing(code: int, content_type: str = "text/html", *, token: bool = False) -> Any:
    """A handler answering ``code`` with a page that echoes the Authorization header it got and the secrets
    sent to it (the login for a hub, the bearer token for a STAC API), as a server that logs them might."""
    from test_credential_redaction import _echo, _login_encodings, _token_encodings

    return _echo(code, content_type, _token_encodings() if token else _login_encodings())


def _hanging(h: Any) -> tuple[int, dict[str, str], bytes]:
    time.sleep(HANG_S)
    return 200, {"Content-Type": "application/json"}, b"{}"


def _s2_search_config(ctx: Ctx, sentinel2: dict[str, Any]) -> Path:
    from test_credential_redaction import _config

    return _config(ctx.tmp, sentinel2)


def _dhus_search(handler: Any, *must: str, auth: tuple[str, str] | None = None) -> Callable[[Ctx], Call]:
    """`sporbar search s2` against a loopback DHuS hub whose search answers with ``handler``."""

    def setup(ctx: Ctx) -> Call:
        from _loopback import Route

        server = _server(ctx)
        server.routes["/apihub/search"] = Route(handler=handler, auth=auth)
        cfg = _s2_search_config(ctx, {"source": "dhus", "dhus": {"api_url": server.url("/apihub/"),
                                                                  "download": FAST}})
        return Call(["sporbar", "-vv", "search", "s2", "-c", str(cfg), "-o", str(ctx.tmp / "search.json")],
                    (server.base, *must), timeout=HANG_S - 10)

    return setup


def _stac_landing(server: Any) -> bytes:
    return json.dumps({
        "type": "Catalog", "id": "x", "description": "x", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode()


def _stac_search(landing: Any, search: Any, *must: str) -> Callable[[Ctx], Call]:
    """`sporbar search s2` against a loopback STAC API (bearer token configured); ``landing`` and ``search``
    are handlers, or None for a good landing page."""

    def setup(ctx: Ctx) -> Call:
        from _loopback import Route

        server = _server(ctx)
        server.routes["/v1"] = (Route(handler=landing) if landing else
                                Route(body=_stac_landing(server), content_type="application/json"))
        server.routes["/v1/search"] = Route(handler=search)
        api = {"url": server.url("/v1"), "token_env": "SPORBAR_TEST_TOKEN", "download": FAST}
        cfg = _s2_search_config(ctx, {"source": "stac_api", "stac_api": api})
        return Call(["sporbar", "-vv", "search", "s2", "-c", str(cfg), "-o", str(ctx.tmp / "search.json")],
                    (server.base, *must), timeout=HANG_S - 10)

    return setup


def _garbage_json(h: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b'{"type": "Catalog", "links": [{"rel": '


def _dhus_fetch(change: Callable[[Any, Any], None], *must: str, named: bool = True) -> Callable[[Ctx], Call]:
    """`sporbar fetch s1 --source dhus` of the real S1 product from a loopback hub (Basic auth), after
    ``change(server, product_route)`` made it hostile. The error must name the product (``named``), else
    its hub id (uuid)."""

    def setup(ctx: Ctx) -> Call:
        import yaml
        from _s1_fixtures import PRODUCT, REAL_S1, UUID, serve_dhus_product, zip_safe
        from _s2_fixtures import write_tiny_config

        from sporbar.fetch.search import write_search

        if not (REAL_S1 / "manifest.safe").is_file():
            raise Skip(f"{REAL_S1} absent (../shared/realdata)")
        server = _server(ctx)
        serve_dhus_product(server, UUID, zip_safe(REAL_S1), auth=(USER, PASSWORD))
        change(server, server.routes[f"/apihub/odata/v1/Products('{UUID}')/$value"])
        path = write_tiny_config(ctx.tmp)
        data = yaml.safe_load(path.read_text())
        data["sources"]["sentinel1"] = {"source": "dhus", "dhus": {"api_url": server.url("/apihub/"),
                                                                   "download": FAST}}
        path.write_text(yaml.safe_dump(data))
        write_search(ctx.tmp / "s1-search.json", "dhus", {}, [{"id": PRODUCT, "uuid": UUID}])
        out = ctx.tmp / "results" / "raw" / "sentinel-1-grd" / PRODUCT / "item.json"
        return Call(["sporbar", "-vv", "fetch", "s1", "-c", str(path), "--search", str(ctx.tmp / "s1-search.json"),
                     "--scene", PRODUCT, "-o", str(out)], (PRODUCT if named else UUID, *must), timeout=HANG_S - 10)

    return setup


def _always(fault: tuple[Any, ...]) -> Callable[[Any, Any], None]:
    def change(server: Any, route: Any) -> None:
        route.ranges = False  # no resume: every try starts over
        route.faults = [fault] * 20

    return change


def _wrong_md5(server: Any, route: Any) -> None:
    from _loopback import Route
    from _s1_fixtures import UUID

    server.routes[f"/apihub/odata/v1/Products('{UUID}')"] = Route(
        body=json.dumps({"d": {"Id": UUID, "Checksum": {"Algorithm": "MD5", "Value": "0" * 32}}}).encode(),
        content_type="application/json", auth=(USER, PASSWORD))


def _odata_garbage(server: Any, route: Any) -> None:
    from _loopback import Route
    from _s1_fixtures import UUID

    server.routes[f"/apihub/odata/v1/Products('{UUID}')"] = Route(handler=_echoing(200, "application/json"),
                                                                  auth=(USER, PASSWORD))


def _echo_product(server: Any, route: Any) -> None:
    route.handler = _echoing(500)


def _hang_product(server: Any, route: Any) -> None:
    route.handler = _hanging


def _not_a_zip(server: Any, route: Any) -> None:
    from _s1_fixtures import UUID, serve_dhus_product

    serve_dhus_product(server, UUID, b"PK\x03\x04 this is not a zip" * 100, auth=(USER, PASSWORD))


_HUB_ECHO = _echoing(500)
_API_ECHO = _echoing(500, "text/plain", token=True)
SERVERS = [
    Trial("hostile-servers", "dhus-search-500-echoing-credentials", _dhus_search(_HUB_ECHO, "DHuS search failed")),
    Trial("hostile-servers", "dhus-search-200-garbage", _dhus_search(_echoing(200), "DHuS search failed")),
    Trial("hostile-servers", "dhus-search-wrong-password", _dhus_search(_echoing(200), "SPORBAR_DHUS_PASSWORD",
                                                                        auth=(USER, "another-password"))),
    Trial("hostile-servers", "dhus-search-hangs", _dhus_search(_hanging, "DHuS search failed", "timed out")),
    Trial("hostile-servers", "stac-search-500-echoing-token", _stac_search(None, _API_ECHO, "STAC API search failed")),
    Trial("hostile-servers", "stac-landing-garbage-json", _stac_search(_garbage_json, _API_ECHO, "not STAC JSON")),
    Trial("hostile-servers", "stac-landing-hangs", _stac_search(_hanging, _API_ECHO, "timed out")),
    Trial("hostile-servers", "stac-search-hangs", _stac_search(None, _hanging, "timed out")),
    Trial("hostile-servers", "product-500-echoing-credentials", _dhus_fetch(_echo_product, "HTTP 500")),
    Trial("hostile-servers", "product-cut-every-time", _dhus_fetch(_always(("cut", 1000)), "giving up")),
    Trial("hostile-servers", "product-wrong-md5", _dhus_fetch(_wrong_md5, "still corrupted", "expected " + "0" * 32)),
    Trial("hostile-servers", "product-entry-garbage", _dhus_fetch(_odata_garbage, "is not OData JSON", named=False)),
    Trial("hostile-servers", "product-not-a-zip", _dhus_fetch(_not_a_zip, "zip")),
    Trial("hostile-servers", "product-download-hangs", _dhus_fetch(_hang_product, "timed out")),
]



# --- the file system: read-only and full folders (a private mount namespace), missing and odd paths ----


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0


def _mounted(mount: str, folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run in a private mount namespace where ``mount`` (a shell command on ``folder``) was done."""
    from bad_input import command

    if not _can_mount():
        raise Skip("needs `unshare -rm` (user and mount namespaces)")
    script = f"{mount} && exec {' '.join(shlex.quote(a) for a in command(argv))}"
    return ["unshare", "-rm", "sh", "-c", script]


def _lidar_into(ctx: Ctx, mount: str, *must: str) -> Call:
    """`sporbar lidar` writing into ``ctx.tmp/mnt`` after ``mount`` ({mnt} is the folder)."""
    mnt = ctx.tmp / "mnt"
    mnt.mkdir()
    lid = ctx.shared.lidar
    out = mnt / "products" / "item.json"
    argv = ["sporbar", "lidar", "-c", str(lid.cfg_path), "--tile", lid.tile, "-o", str(out), *map(str, lid.raw_lidar)]
    return Call(_mounted(mount.format(mnt=shlex.quote(str(mnt))), mnt, argv), (str(mnt), *must))


def _read_only(ctx: Ctx) -> Call:
    return _lidar_into(ctx, "mount --bind {mnt} {mnt} && mount -o remount,bind,ro {mnt}", "Read-only file system")


def _full(ctx: Ctx) -> Call:
    return _lidar_into(ctx, "mount -t tmpfs -o size=24k tmpfs {mnt}", "No space left on device")


def _fetch_labels(ctx: Ctx, source: Path, out: Path, *must: str, extra: tuple[str, ...] = ()) -> Call:
    lid = ctx.shared.lidar
    return Call(["sporbar", "fetch", "labels", "-c", str(lid.cfg_path), "--source-dir", str(source), "-o", str(out),
                 *extra], must)


def _missing_source(ctx: Ctx) -> Call:
    gone = ctx.tmp / "demo-source"
    return _fetch_labels(ctx, gone, ctx.tmp / "raw" / "item.json", str(gone), "does not exist")


def _output_under_a_file(ctx: Ctx) -> Call:
    blocker = ctx.tmp / "raw"
    blocker.write_text("a file where a folder is needed\n")
    return _fetch_labels(ctx, ctx.shared.lidar.root / "demo-source", blocker / "item.json" , str(blocker))


def _output_exists(ctx: Ctx) -> Call:
    out = ctx.tmp / "raw" / "item.json"
    out.parent.mkdir()
    out.write_text("{}")
    return _fetch_labels(ctx, ctx.shared.lidar.root / "demo-source", out, str(out), "--overwrite")


def _output_is_a_folder(ctx: Ctx) -> Call:
    out = ctx.tmp / "raw" / "item.json"
    out.mkdir(parents=True)
    return _fetch_labels(ctx, ctx.shared.lidar.root / "demo-source", out, str(out), extra=("--overwrite",))


FILESYSTEM = [
    Trial("filesystem", "read-only-output-folder", _read_only),
    Trial("filesystem", "full-output-folder", _full),
    Trial("filesystem", "missing-input-folder", _missing_source),
    Trial("filesystem", "output-folder-is-a-file", _output_under_a_file),
    Trial("filesystem", "output-exists", _output_exists),
    Trial("filesystem", "output-item-is-a-folder", _output_is_a_folder),
]

from _bad_scene_trials import SCENES  # noqa: E402 (issue 14's group lives in its own module)

TRIALS: list[Trial] = [*CONFIG, *LABELS, *STAGE, *CORRUPT, *SCENES, *HOSTILE_ITEMS, *SERVERS, *FILESYSTEM]
