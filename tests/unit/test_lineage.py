"""sporbar lineage: the derived_from graph back to raw data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _stac_fixtures import LAYOUT, LIDAR_TILE, SCENE, TILE, build_chain
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.errors import CatalogError, MissingInputError
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import build_catalog
from sporbar.stac.lineage import leaves, lineage, render_tree, to_dot

MAP_ID = f"land-ecology-{TILE}"
RAW = ["labels-raw/labels-test-area", f"lidar-raw/{LIDAR_TILE}", f"sentinel-2-l2a-raw/{SCENE}"]
ALL_IDS = [
    MAP_ID,
    "model-rf",
    "training-test-area",
    f"ard-{TILE}",
    "labels-test-area",
    LIDAR_TILE,
    SCENE,
]


@pytest.fixture
def chain(tmp_path: Path):
    c = build_chain(tmp_path)
    build_catalog([c.map], c.catalog, cfg=c.cfg, layout=LAYOUT)
    return c


def _map_copy(chain) -> Path:
    return chain.catalog.parent / ext.COLLECTION_MAPS / MAP_ID / f"{MAP_ID}.json"


def test_lineage_reaches_raw_items(chain) -> None:
    node = lineage(_map_copy(chain))
    assert node.id == MAP_ID and node.collection == ext.COLLECTION_MAPS
    assert node.lineage == "Classes predicted by model rf."
    assert [n.label for n in leaves(node)] == RAW
    assert all(n.path.is_relative_to(chain.catalog.parent.resolve()) for n in leaves(node))
    # the ard tile is shared by the map and the training set: one node
    ard = next(c for c in node.children if c.id == f"ard-{TILE}")
    training = node.children[0].children[0]
    assert training.id == "training-test-area" and ard in training.children


def test_render_tree(chain) -> None:
    text = render_tree(lineage(_map_copy(chain)))
    for item_id in ALL_IDS:
        assert item_id in text
    lines = text.splitlines()
    assert lines[0] == f"land-ecology-maps/{MAP_ID} — Classes predicted by model rf."
    assert lines[-1] == f"└── sentinel-2-ard/ard-{TILE} (see above)"
    assert (
        f"│           └── sentinel-2-l2a-raw/{SCENE} — Fetched Sentinel-2 L2A scene unchanged."
        in lines
    )
    assert len(lines) == 8


def test_source_items_get_collection_from_path(chain) -> None:
    node = lineage(chain.map, layout=LAYOUT)
    assert [n.label for n in leaves(node)] == RAW
    assert node.path == chain.map.resolve()


def test_to_dot(chain) -> None:
    dot = to_dot(lineage(_map_copy(chain)))
    assert dot.startswith("digraph lineage {") and dot.endswith("}\n")
    assert dot.count("label=") == 7 and dot.count(" -> ") == 7
    assert dot == to_dot(lineage(_map_copy(chain)))


def test_missing_input_marked(chain) -> None:
    chain.raw_lidar.unlink()
    node = lineage(chain.map, layout=LAYOUT)
    missing = [n for n in leaves(node) if n.missing]
    assert [n.id for n in missing] == [LIDAR_TILE] and missing[0].path == chain.raw_lidar.resolve()
    assert f"MISSING: {chain.raw_lidar.resolve()}" in render_tree(node)
    assert "color=red" in to_dot(node)


def test_cycle_and_bad_start(tmp_path: Path) -> None:
    def item(name: str, parent: str) -> Path:
        p = tmp_path / name / "item.json"
        p.parent.mkdir()
        p.write_text(
            json.dumps(
                {
                    "type": "Feature",
                    "id": name,
                    "properties": {},
                    "links": [{"rel": "derived_from", "href": f"../{parent}/item.json"}],
                }
            )
        )
        return p

    a, _ = item("a", "b"), item("b", "a")
    with pytest.raises(
        CatalogError, match="cycle: .*a/item.json -> .*b/item.json -> .*a/item.json"
    ):
        lineage(a)
    cat = tmp_path / "catalog.json"
    cat.write_text(json.dumps({"type": "Catalog", "id": "x", "links": []}))
    with pytest.raises(CatalogError, match="not a STAC Item"):
        lineage(cat)
    with pytest.raises(MissingInputError, match="not found"):
        lineage(tmp_path / "nope.json")


def test_cli_lineage(chain, tmp_path: Path) -> None:
    dot = tmp_path / "out" / "lineage.dot"
    result = CliRunner().invoke(cli, ["lineage", str(_map_copy(chain)), "--dot", str(dot)])
    assert result.exit_code == 0, result.output
    for item_id in ALL_IDS:
        assert item_id in result.output
    assert "3 source item(s): labels-raw/labels-test-area" in result.output
    assert dot.read_text().startswith("digraph lineage {")
    missing = CliRunner().invoke(cli, ["lineage", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and isinstance(missing.exception, MissingInputError)
