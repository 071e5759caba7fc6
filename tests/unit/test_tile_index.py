"""The map product's tile index: a GIS layer with one feature per map tile, written by publish."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from _stac_fixtures import LAYOUT, build_chain, load_json

from sporbar.io import sha256_multihash
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog
from sporbar.stac.verify import verify_catalog


@pytest.fixture
def published(tmp_path: Path):
    chain = build_chain(tmp_path)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return chain


@pytest.mark.parametrize("name", ["tile-index.gpkg", "tile-index.fgb"])
def test_one_feature_per_map_tile_with_its_cog(published, name: str) -> None:
    coll_dir = published.catalog.parent / ext.COLLECTION_MAPS
    frame = gpd.read_file(coll_dir / name)
    item = load_json(published.map)
    props = item["properties"]
    assert list(frame["item_id"]) == [item["id"]]
    row = frame.iloc[0]
    if "proj:bbox" in props:  # on the national grid
        assert frame.crs.to_epsg() == int(props["proj:code"].split(":")[1])
        assert tuple(row.geometry.bounds) == tuple(props["proj:bbox"])
    else:
        assert frame.crs.to_epsg() == 4326
        assert tuple(row.geometry.bounds) == pytest.approx(tuple(item["bbox"]))
    start, end = (props.get(k) or props.get("datetime") for k in ("start_datetime", "end_datetime"))
    assert (row["start_date"], row["end_date"]) == (start, end)
    assert row["license"] == published.cfg.data["catalog"]["license"]
    cog = (coll_dir / row["cog"]).resolve()
    assert sha256_multihash(cog) == item["assets"]["classes"][ext.FILE_CHECKSUM]


def test_collection_lists_the_index_and_verify_checks_it(published) -> None:
    coll_dir = published.catalog.parent / ext.COLLECTION_MAPS
    coll = json.loads((coll_dir / "collection.json").read_text())
    assets = coll["assets"]
    assert {"tile-index-gpkg", "tile-index-fgb"} <= set(assets)
    for a in (assets["tile-index-gpkg"], assets["tile-index-fgb"]):
        assert "tile-index" in a["roles"]
        assert a[ext.FILE_CHECKSUM] == sha256_multihash(coll_dir / a["href"])
    assert verify_catalog(published.catalog).ok
    fgb = coll_dir / "tile-index.fgb"
    data = bytearray(fgb.read_bytes())
    data[-1] ^= 0xFF
    fgb.write_bytes(bytes(data))
    problems = verify_catalog(published.catalog).problems
    assert any("asset 'tile-index-fgb' checksum mismatch" in p for p in problems), problems


def test_index_bytes_do_not_change_between_publishes(published, tmp_path: Path) -> None:
    coll_dir = published.catalog.parent / ext.COLLECTION_MAPS
    first = {n: (coll_dir / n).read_bytes() for n in ("tile-index.gpkg", "tile-index.fgb")}
    build_catalog([published.map], published.catalog, cfg=published.cfg, layout=LAYOUT)
    assert {n: (coll_dir / n).read_bytes() for n in first} == first


def test_rows_carry_the_maps_area_adjusted_accuracy(published) -> None:
    from sporbar.stac.tile_index import tile_index_frame

    item = load_json(published.map)
    summary = {"land-ecology-accuracy": {"overall_accuracy": {"estimate": 0.8123, "ci95": 0.031}}}
    frame = tile_index_frame([(item, published.map.parent)], published.catalog.parent, license_id="NLOD-2.0",
                             accuracy=summary)
    assert (frame.iloc[0]["accuracy"], frame.iloc[0]["accuracy_ci95"]) == (0.8123, 0.031)
    bare = tile_index_frame([(item, published.map.parent)], published.catalog.parent, license_id="NLOD-2.0")
    assert bare.iloc[0]["accuracy"] is None
