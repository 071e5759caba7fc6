"""Versioned model and training items: immutable ids, version links in the catalog, exact lineage."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from _ml_fixtures import make_area, train_model, write_samples
from _stac_fixtures import SHARED, shared_validator
from conftest import shared_stac_schemas

from sporbar.config import Config
from sporbar.ml.run_predict import run_predict
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog
from sporbar.stac.hrefs import resolve_href
from sporbar.stac.layout import ItemLayout
from sporbar.stac.record import RunContext
from sporbar.stac.validate import default_schema_dir
from sporbar.stac.verify import verify_catalog
from sporbar.workflow import plan

LAYOUT = ItemLayout.from_patterns(plan.PATTERNS)


def _cfg(cfg: Config, *, product: str, n_estimators: int | None = None) -> Config:
    data = copy.deepcopy(cfg.data)
    data["map"]["product"] = product
    if n_estimators is not None:
        for m in data["models"]:
            if m["id"] == "rf":
                m["n_estimators"] = n_estimators
    return Config(data=data, source=cfg.source)


def _predict(cfg: Config, area, model: Path) -> Path:  # type: ignore[no-untyped-def]
    tile = area.tiles[0]
    out = plan.path(cfg, "map", product=cfg.data["map"]["product"], tile=tile)
    run_predict(cfg, tile=tile, model_item_path=model, ard_item=area.ard[tile], lidar_item=area.lidar[tile],
                output=out, ctx=RunContext.current())
    return out


@pytest.fixture(scope="module")
def history(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Train rf, map with it, retrain with another config, map with the new version."""
    area = make_area(tmp_path_factory.mktemp("versions"))
    samples = write_samples(area)
    old_cfg = _cfg(area.cfg, product="delivery-2024")
    old_model, old = train_model(area, "rf", samples, cfg=old_cfg)
    old_map = _predict(old_cfg, area, old_model)
    new_cfg = _cfg(area.cfg, product="delivery-2025", n_estimators=7)
    new_model, new = train_model(area, "rf", samples, cfg=new_cfg)
    new_map = _predict(new_cfg, area, new_model)
    return area, samples, (old_model, old, old_map), (new_model, new, new_map), new_cfg


def _copy(cat_dir: Path, collection: str, item_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads((cat_dir / collection / item_id / f"{item_id}.json").read_text())


def _links(doc: dict, rel: str) -> list[str]:  # type: ignore[type-arg]
    return [lk["title"] for lk in doc["links"] if lk["rel"] == rel]


def test_version_schema_is_bundled() -> None:
    for bundle in (default_schema_dir(), SHARED / "stac-schemas"):
        if bundle.exists():
            mapping = json.loads((bundle / "schema_map.json").read_text())
            assert ext.VERSION_SCHEMA_URI in mapping, bundle


def test_a_changed_config_makes_a_new_version_beside_the_old(history) -> None:  # type: ignore[no-untyped-def]
    area, _, (old_model, old, _), (new_model, new, _), _ = history
    assert old["id"] != new["id"]
    assert old["properties"]["sporbar:version_of"] == new["properties"]["sporbar:version_of"] == "model-rf"
    assert old_model.parent.parent == new_model.parent.parent  # models/rf/<version>/
    # the old version's files are still there, as recorded
    assert json.loads(old_model.read_text())["id"] == old["id"]
    for asset in old["assets"].values():
        assert (old_model.parent / asset["href"]).exists()


def test_an_unchanged_rerun_makes_no_new_version(history) -> None:  # type: ignore[no-untyped-def]
    area, samples, _, (new_model, new, _), new_cfg = history
    before = {p: p.stat().st_mtime_ns for p in new_model.parent.parent.rglob("*")}
    again_path, again = train_model(area, "rf", samples, cfg=new_cfg)
    assert (again_path, again["id"]) == (new_model, new["id"])
    assert {p: p.stat().st_mtime_ns for p in new_model.parent.parent.rglob("*")} == before
    # the training set too: the same samples, the same version
    assert write_samples(area) == samples


def test_catalog_holds_every_version_with_links(history, tmp_path) -> None:  # type: ignore[no-untyped-def]
    area, samples, (old_model, old, old_map), (new_model, new, new_map), new_cfg = history
    out = area.cfg.root / "catalog" / "catalog.json"
    # publish the new delivery only: the older model version comes from its series folder
    summary = build_catalog([new_map], out, cfg=new_cfg, layout=LAYOUT)
    assert summary.items_per_collection[ext.COLLECTION_MODELS] == 2
    cat = out.parent
    latest = _copy(cat, ext.COLLECTION_MODELS, new["id"])
    older = _copy(cat, ext.COLLECTION_MODELS, old["id"])
    assert ext.DEPRECATED not in latest["properties"] and older["properties"][ext.DEPRECATED] is True
    assert _links(latest, ext.PREDECESSOR_VERSION) == [old["id"]] and not _links(latest, ext.LATEST_VERSION)
    assert _links(older, ext.LATEST_VERSION) == [new["id"]] == _links(older, ext.SUCCESSOR_VERSION)
    for doc, path in ((latest, new["id"]), (older, old["id"])):
        here = cat / ext.COLLECTION_MODELS / path
        for lk in doc["links"]:
            if lk["rel"].endswith("-version"):
                target = resolve_href(lk["href"], here)
                assert json.loads(target.read_text())["id"] == lk["title"]
        assert ext.VERSION_SCHEMA_URI in doc["stac_extensions"]
    report = verify_catalog(out)
    assert report.ok, report.summary()
    shared = shared_validator()
    if shared is not None:  # the version extension's own schema, from ../shared/stac-schemas
        bundle = shared_stac_schemas()  # the shared bundle and the language extension's schema
        registry, schema_map = shared.build_registry(bundle), shared.load_schema_map(bundle)
        for doc in (latest, older):
            assert shared.validate_stac(doc, registry, schema_map) == [], doc["id"]

    # with the old delivery published too: it stays derived_from the version that made it
    build_catalog([old_map, new_map], out, cfg=new_cfg, layout=LAYOUT)
    old_map_id = json.loads(old_map.read_text())["id"]
    old_map_copy = _copy(cat, ext.COLLECTION_MAPS, old_map_id)
    assert old["id"] in _links(old_map_copy, ext.DERIVED_FROM) and new["id"] not in _links(old_map_copy,
                                                                                          ext.DERIVED_FROM)
    assert _copy(cat, ext.COLLECTION_MODELS, old["id"])["properties"][ext.DEPRECATED] is True
    report = verify_catalog(out)
    assert report.ok, report.summary()


def test_the_version_a_run_uses_is_the_latest_also_when_it_is_the_older_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An earlier config restored: its (older) version is used again and becomes the latest."""
    from sporbar.stac.versions import version_links, version_order

    a, b = tmp_path / "a" / "item.json", tmp_path / "b" / "item.json"
    docs = {a: {"id": "model-rf-a", "properties": {ext.PROCESSING_DATETIME: "2026-01-01T00:00:00Z"}},
            b: {"id": "model-rf-b", "properties": {ext.PROCESSING_DATETIME: "2026-02-01T00:00:00Z"}}}
    assert version_order(list(docs.items()), current=set()) == [a, b]
    ordered = version_order(list(docs.items()), current={a})
    assert ordered == [b, a]
    hrefs = {p: {q: f"../{q.parent.name}/item.json" for q in docs} for p in docs}
    links = version_links(ordered, hrefs, {p: d["id"] for p, d in docs.items()})
    assert links[a][0] is False and links[b][0] is True
    assert [(lk["rel"], lk["title"]) for lk in links[b][1]] == [
        (ext.LATEST_VERSION, "model-rf-a"), (ext.SUCCESSOR_VERSION, "model-rf-a")]
    assert [(lk["rel"], lk["title"]) for lk in links[a][1]] == [(ext.PREDECESSOR_VERSION, "model-rf-b")]
