"""Collections: templates, licences, providers, extent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, small_config, write_config

from sporbar.config import load
from sporbar.errors import CatalogError
from sporbar.stac import extensions as ext
from sporbar.stac.collections import (
    ACCESS,
    STATUS,
    WORLD_BBOX,
    Access,
    Status,
    collection_dict,
    extent,
    template,
)
from sporbar.stac.validate import validate_item_dict

PROVIDER_ROLES = {"producer", "processor", "host", "licensor"}


@pytest.fixture
def cfg(tmp_path: Path):
    return load(write_config(tmp_path / "c.yaml", small_config(tmp_path / "results")))


@pytest.mark.parametrize("cid", ext.COLLECTIONS)
def test_every_family_has_a_valid_collection(cid: str, cfg) -> None:
    d = collection_dict(cid, [], cfg=cfg)
    validate_item_dict(d)
    assert d["id"] == cid and d["type"] == "Collection" and d["stac_version"] == ext.STAC_VERSION
    assert d["title"] and d["description"] and len(d["keywords"]) >= 4
    assert Access(d[ACCESS]) and Status(d[STATUS])
    roles = {r for p in d["providers"] for r in p["roles"]}
    assert roles <= PROVIDER_ROLES and {"licensor", "host"} <= roles
    assert any(link["rel"] == "license" for link in d["links"])
    assert collection_dict(cid, [], cfg=cfg) == d  # deterministic


def test_product_licence_comes_from_config(tmp_path: Path, cfg) -> None:
    nlod = collection_dict(ext.COLLECTION_MAPS, [], cfg=cfg)
    assert nlod["license"] == "other"
    assert {"rel": "license", "href": "https://data.norge.no/nlod/no/2.0"}.items() <= nlod["links"][
        0
    ].items()
    cc_cfg = load(
        write_config(tmp_path / "cc.yaml", small_config(tmp_path, catalog={"license": "CC-BY-4.0"}))
    )
    cc = collection_dict(ext.COLLECTION_MAPS, [], cfg=cc_cfg)
    assert cc["license"] == "CC-BY-4.0"
    assert cc["links"][0]["href"] == "https://creativecommons.org/licenses/by/4.0/"


def test_raw_sentinel_keeps_copernicus_licence(cfg) -> None:
    d = collection_dict(ext.COLLECTION_S2_RAW, [], cfg=cfg)
    assert d["license"] == "other"
    lic = [link for link in d["links"] if link["rel"] == "license"]
    assert len(lic) == 1 and "copernicus" in lic[0]["href"]
    producers = [p["name"] for p in d["providers"] if "producer" in p["roles"]]
    assert any("ESA" in n for n in producers)
    lidar = collection_dict(ext.COLLECTION_LIDAR_RAW, [], cfg=cfg)
    assert any("Kartverket" in p["name"] and "producer" in p["roles"] for p in lidar["providers"])


def test_structural_links_come_first(cfg) -> None:
    links = [{"rel": "root", "href": "../catalog.json", "type": ext.JSON}]
    d = collection_dict(ext.COLLECTION_ARD, [], cfg=cfg, links=links)
    assert d["links"][0] == links[0] and d["links"][1]["rel"] == "license"


def test_extent_union_of_items() -> None:
    items = [
        {"bbox": [10.0, 63.0, 10.5, 63.5], "properties": {"datetime": "2024-06-01T00:00:00Z"}},
        {
            "bbox": [9.5, 63.2, 10.2, 63.9, 0, 0][:4],
            "properties": {
                "datetime": None,
                "start_datetime": "2024-05-01T00:00:00Z",
                "end_datetime": "2024-09-30T00:00:00Z",
            },
        },
        {"bbox": None, "properties": {"datetime": "2024-10-01T00:00:00Z"}},  # a model
    ]
    e = extent(items)
    assert e["spatial"]["bbox"] == [[9.5, 63.0, 10.5, 63.9]]
    assert e["temporal"]["interval"] == [["2024-05-01T00:00:00Z", "2024-10-01T00:00:00Z"]]
    three_d = extent([{"bbox": [1, 2, 0, 3, 4, 100], "properties": {}}])
    assert three_d == {
        "spatial": {"bbox": [[1, 2, 3, 4]]},
        "temporal": {"interval": [[None, None]]},
    }
    assert extent([])["spatial"]["bbox"] == [list(WORLD_BBOX)]


def test_unknown_collection_is_an_error() -> None:
    with pytest.raises(CatalogError, match="unknown collection"):
        template("sentinel-3")


def test_top_level_templates_are_the_packaged_ones() -> None:
    top = REPO / "stac" / "templates"
    packaged = REPO / "src" / "sporbar" / "stac" / "templates"
    assert sorted(p.name for p in packaged.glob("*.json")) == sorted(
        f"{c}.json" for c in ext.COLLECTIONS
    )
    assert (REPO / "stac" / "README.md").is_file()
    if top.exists():
        for p in packaged.glob("*.json"):
            assert json.loads((top / p.name).read_text()) == json.loads(p.read_text())
