"""Offline STAC validation: the compiled fast path and jsonschema agree, compiled code is kept on disk."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from _stac_fixtures import LAYOUT, build_chain, json_files, load_json

from sporbar.stac import validate
from sporbar.stac.catalog import build_catalog


@pytest.fixture
def objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    validate._fast_validator.cache_clear()
    chain = build_chain(tmp_path)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return [load_json(p) for p in json_files(chain.catalog.parent)]


def test_every_schema_of_the_catalog_compiles_and_passes_fast(objects: list[dict], tmp_path: Path) -> None:
    sd = validate.default_schema_dir().resolve()
    urls = sorted({u for obj in objects for u in validate.schema_urls(obj)})
    assert len(urls) == 6  # core item, collection and catalog; processing, file and language
    for obj in objects:
        for url in validate.schema_urls(obj):
            assert validate._fast_validator(sd, url) is not None, url
            assert validate._passes_fast(sd, url, obj), (obj["id"], url)
        before = copy.deepcopy(obj)
        assert validate.validate_dict(obj) == []
        assert obj == before  # validation never writes into the object (no schema defaults)
    # the compiled code is on disk for the next process, one file per schema
    assert len(list((tmp_path / "cache" / "sporbar" / "schemas").glob("*.marshal"))) == len(urls)


def test_the_language_extension_is_checked(objects: list[dict]) -> None:
    """The catalog's language fields are validated against the vendored language schema."""
    from sporbar.stac.extensions import LANGUAGE_SCHEMA_URI

    collection = copy.deepcopy(next(o for o in objects if o["type"] == "Collection"))
    assert LANGUAGE_SCHEMA_URI in collection["stac_extensions"]
    assert collection["language"]["code"] == "en" and validate.validate_dict(collection) == []
    catalog = next(o for o in objects if o["type"] == "Catalog")
    assert validate.validate_dict(catalog) == []
    # (a collection with assets passes the schema's anyOf by its assets: the catalog is checked fully)
    bad = {**catalog, "language": {"code": "not a language tag", "dir": "up"}}
    problems = validate.validate_dict(bad)
    assert any(LANGUAGE_SCHEMA_URI in p for p in problems), problems
    unstated = {k: v for k, v in catalog.items() if k != "language"}  # declared, so it must state it
    assert any(LANGUAGE_SCHEMA_URI in p for p in validate.validate_dict(unstated))


def test_an_object_the_fast_path_refuses_gets_jsonschemas_problems(objects: list[dict]) -> None:
    item = copy.deepcopy(next(o for o in objects if o["type"] == "Feature"))
    item["properties"]["datetime"] = 5
    item["assets"][next(iter(item["assets"]))]["file:size"] = "big"
    problems = validate.validate_dict(item)
    assert any("datetime" in p for p in problems), problems
    assert any("file:size" in p and "'big'" in p for p in problems), problems
