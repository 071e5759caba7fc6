"""sporbar publish: build_catalog over a real provenance chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _stac_fixtures import (
    LAYOUT,
    LIDAR_TILE,
    SCENE,
    TILE,
    build_chain,
    json_files,
    load_json,
    shared_validator,
    snapshot,
    tree_bytes,
    vouch_for_file,
)
from click.testing import CliRunner
from conftest import shared_stac_schemas

from sporbar.cli.main import cli
from sporbar.errors import CatalogError, MissingInputError
from sporbar.stac import extensions as ext
from sporbar.stac.catalog import MARKER_FILENAME, build_catalog
from sporbar.stac.hrefs import resolve_href
from sporbar.stac.validate import validate_dict

# the chain has one item in every family but lidar-products, the (S2-only chain's) S1 GRD and S1
# ARD, and the map's accuracy assessment
FAMILIES = sorted(
    set(ext.COLLECTIONS)
    - {ext.COLLECTION_LIDAR_PRODUCTS, ext.COLLECTION_S1_RAW, ext.COLLECTION_S1_ARD, ext.COLLECTION_ACCURACY}
)


@pytest.fixture
def chain(tmp_path: Path):
    return build_chain(tmp_path)


def test_publish_includes_every_ancestor(chain) -> None:
    summary = build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert summary.catalog == chain.catalog.resolve()
    assert summary.items_per_collection == {c: 1 for c in FAMILIES}
    assert summary.n_items == 7 and summary.n_assets == 11
    cat_dir = chain.catalog.parent
    root = load_json(chain.catalog)
    assert root["type"] == "Catalog"
    children = [link["href"] for link in root["links"] if link["rel"] == "child"]
    assert children == [f"./{c}/collection.json" for c in FAMILIES]
    item_path = cat_dir / "sentinel-2-ard" / f"ard-{TILE}" / f"ard-{TILE}.json"
    item = load_json(item_path)
    assert item["collection"] == "sentinel-2-ard"
    rels = {link["rel"]: link["href"] for link in item["links"] if link["rel"] != ext.DERIVED_FROM}
    assert rels == {
        "root": "../../catalog.json",
        "parent": "../collection.json",
        "collection": "../collection.json",
        # the item as the step wrote it, beside its data (verify compares the two)
        "via": "../../../ard/sentinel-2-l2a/E268800N7030400/item.json",
    }
    assert resolve_href(rels["via"], item_path.parent) == chain.ard.resolve()
    # assets stay where they are; hrefs relative to the copy
    for key, src in (
        ("composite-early", chain.ard.parent / "composite-early.tif"),
        ("cube", chain.ard.parent / "cube.zarr"),
    ):
        href = item["assets"][key]["href"]
        assert href.startswith("../../../ard/")
        assert resolve_href(href, item_path.parent) == src.resolve()
    # derived_from points at the copies inside the catalog
    parents = sorted(
        resolve_href(link["href"], item_path.parent)
        for link in item["links"]
        if link["rel"] == ext.DERIVED_FROM
    )
    assert parents == sorted(
        [
            (cat_dir / "lidar-raw" / LIDAR_TILE / f"{LIDAR_TILE}.json").resolve(),
            (cat_dir / "sentinel-2-l2a-raw" / SCENE / f"{SCENE}.json").resolve(),
        ]
    )
    # no temporary folders left beside the catalog
    assert not [p for p in chain.root.iterdir() if p.name.startswith(".catalog")]


def test_catalog_objects_valid_offline(chain) -> None:
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    files = json_files(chain.catalog.parent)
    assert len(files) == 1 + 7 + 7 + 1 + 7  # and the Norwegian catalog and collections
    for f in files:
        assert validate_dict(load_json(f)) == [], f


def test_catalog_objects_valid_against_shared_schemas(chain) -> None:
    shared = shared_validator()
    if shared is None:
        pytest.skip("../shared/stac-schemas not present beside the repo; bundled-schema check only")
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    bundle = shared_stac_schemas()  # the shared bundle and the language extension's schema
    registry, schema_map = shared.build_registry(bundle), shared.load_schema_map(bundle)
    for f in json_files(chain.catalog.parent):
        assert shared.validate_stac(load_json(f), registry, schema_map) == [], f


def test_sources_unchanged_and_output_deterministic(chain) -> None:
    before = snapshot(chain.items)
    build_catalog([chain.map, chain.training], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    first = tree_bytes(chain.catalog.parent)
    build_catalog(list(reversed(chain.items)), chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert tree_bytes(chain.catalog.parent) == first
    assert snapshot(chain.items) == before


def test_collection_inferred_from_path() -> None:
    assert (
        LAYOUT.collection_of(Path("/x/results/raw/labels/a/item.json")) == ext.COLLECTION_LABELS_RAW
    )
    assert (
        LAYOUT.collection_of(Path("results/lidar/products/E1N2/item.json"))
        == ext.COLLECTION_LIDAR_PRODUCTS
    )
    assert LAYOUT.collection_of(Path("maps/land-ecology/E1N2/item.json")) == ext.COLLECTION_MAPS
    assert LAYOUT.collection_of(Path("/x/other/thing/item.json")) is None


def test_missing_input_names_the_item(chain) -> None:
    chain.raw_s2.unlink()
    with pytest.raises(
        MissingInputError, match=r"ard/.*item\.json: derived_from link points to .*raw"
    ):
        build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert not chain.catalog.exists()


def test_invalid_item_leaves_previous_catalog(chain) -> None:
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    before = tree_bytes(chain.catalog.parent)
    bad = chain.root / "raw" / "labels" / "bad" / "item.json"
    bad.parent.mkdir(parents=True)
    d = load_json(chain.raw_labels)
    d["id"], d["properties"]["datetime"] = "bad", None  # no datetime and no range: invalid
    bad.write_text(json.dumps(d))
    with pytest.raises(CatalogError, match=r"catalog not written; invalid STAC:\n.*bad\.json"):
        build_catalog([chain.map, bad], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert tree_bytes(chain.catalog.parent) == before


def test_duplicate_ids_and_unknown_collection_rejected(chain, tmp_path: Path) -> None:
    twin = chain.root / "raw" / "labels" / "twin" / "item.json"
    twin.parent.mkdir(parents=True)
    twin.write_bytes(
        chain.raw_labels.read_bytes().replace(b'"./labels.gpkg"', b'"../test-area/labels.gpkg"')
    )
    with pytest.raises(CatalogError, match="also used by"):
        build_catalog([chain.map, twin], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    stray = tmp_path / "elsewhere" / "item.json"
    stray.parent.mkdir()
    stray.write_bytes(chain.raw_lidar.read_bytes())
    with pytest.raises(CatalogError, match="no known collection"):
        build_catalog([stray], chain.catalog, cfg=chain.cfg, layout=LAYOUT)


def test_refuses_to_replace_a_foreign_folder(chain) -> None:
    with pytest.raises(CatalogError, match="must be named catalog.json"):
        build_catalog([chain.map], chain.root / "cat.json", cfg=chain.cfg, layout=LAYOUT)
    with pytest.raises(CatalogError, match="holds no catalog.json and was not written by sporbar publish"):
        build_catalog([chain.map], chain.root / "catalog.json", cfg=chain.cfg, layout=LAYOUT)  # root is not empty
    with pytest.raises(CatalogError, match="no items"):
        build_catalog([], chain.catalog, cfg=chain.cfg, layout=LAYOUT)


def test_republish_after_catalog_json_was_deleted(chain) -> None:
    # Snakemake deletes a rule's output (catalog.json) before re-running the rule: publish must
    # recognise its own folder by the marker and replace it, not refuse it (issue 12.1)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    first = tree_bytes(chain.catalog.parent)
    assert MARKER_FILENAME in first
    chain.catalog.unlink()
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert tree_bytes(chain.catalog.parent) == first
    # a catalog written before the marker existed: collection folders only (and no Norwegian root)
    chain.catalog.unlink()
    (chain.catalog.parent / "catalog.nb.json").unlink()
    (chain.catalog.parent / MARKER_FILENAME).unlink()
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert tree_bytes(chain.catalog.parent) == first
    # anything else in the folder makes it foreign again: refused, left as it is
    chain.catalog.unlink()
    (chain.catalog.parent / "catalog.nb.json").unlink()
    (chain.catalog.parent / MARKER_FILENAME).unlink()
    (chain.catalog.parent / "notes.txt").write_text("mine")
    with pytest.raises(CatalogError, match="was not written by sporbar publish"):
        build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    assert (chain.catalog.parent / "notes.txt").read_text() == "mine"


def test_cli_publish(chain, tmp_path: Path) -> None:
    listing = tmp_path / "items.txt"
    listing.write_text(f"# maps\n{chain.map}\n\n{chain.model}\n")
    runner = CliRunner()
    args = [
        "publish",
        "-c",
        str(chain.cfg_path),
        "--items-from",
        str(listing),
        "--item",
        str(chain.ard),
        "-o",
        str(chain.catalog),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "land-ecology-maps: 1 item(s)" in result.output
    assert f"{chain.catalog.resolve()}: 7 item(s), 11 asset(s)" in result.output
    positional = runner.invoke(
        cli, ["publish", "-c", str(chain.cfg_path), "-o", str(chain.catalog), str(chain.map)]
    )
    assert positional.exit_code == 0, positional.output
    none = runner.invoke(cli, ["publish", "-c", str(chain.cfg_path), "-o", str(chain.catalog)])
    assert none.exit_code == 2 and "at least one" in none.output
    missing = runner.invoke(
        cli,
        [
            "publish",
            "-c",
            str(chain.cfg_path),
            "-o",
            str(chain.catalog),
            str(tmp_path / "nope.json"),
        ],
    )
    assert missing.exit_code == 1 and isinstance(missing.exception, MissingInputError)


def test_every_collection_has_a_preview_picture(tmp_path) -> None:
    import warnings

    import numpy as np
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    from sporbar.stac.preview import encode_png

    chain = build_chain(tmp_path)
    # the map item gets a thumbnail like the predict step writes (a real PNG, recorded with its checksum)
    png = encode_png(np.full((4, 4, 3), 200, dtype=np.uint8))
    (chain.map.parent / "thumbnail.png").write_bytes(png)
    d = json.loads(chain.map.read_text())
    d["assets"]["thumbnail"] = {"href": "./thumbnail.png", "type": "image/png", "roles": ["thumbnail"]}
    chain.map.write_text(json.dumps(d))
    vouch_for_file(chain.map, "thumbnail")
    build_catalog(chain.items, chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    cat = chain.catalog.parent
    for coll in sorted(cat.glob("*/collection.json")):
        thumb = json.loads(coll.read_text())["assets"]["thumbnail"]
        assert thumb["roles"] == ["thumbnail"] and thumb["type"] == "image/png", coll
        target = (coll.parent / thumb["href"]).resolve()
        data = target.read_bytes()
        assert len(data) == thumb["file:size"], coll
        if coll.parent.name == ext.COLLECTION_MAPS:
            assert data == png  # the item's own thumbnail
        else:
            assert target.name == "preview.png"  # the items' footprints
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with MemoryFile(data) as mem, mem.open() as src:
                    alpha = src.read(4)
            assert (alpha > 0).any(), coll  # something is drawn


def test_norwegian_versions_of_the_catalog_and_collections(chain) -> None:
    """catalog.nb.json and every collection.nb.json: Norwegian title and description, the same
    items, linked to and from the English versions (language extension: alternate + hreflang)."""
    from sporbar.stac.collections import translation

    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    cat_dir = chain.catalog.parent
    root, root_nb = load_json(chain.catalog), load_json(cat_dir / "catalog.nb.json")
    assert root["language"]["code"] == "en" and [lang["code"] for lang in root["languages"]] == ["nb"]
    assert root_nb["language"]["code"] == "nb" and [lang["code"] for lang in root_nb["languages"]] == ["en"]
    assert "landøkologiske" in root_nb["title"] and root_nb["id"] == root["id"]
    alternates = [link for link in root["links"] if link["rel"] == "alternate"]
    assert alternates == [{"rel": "alternate", "href": "./catalog.nb.json", "type": "application/json",
                           "hreflang": "nb", "title": "Norsk bokmål"}]  # fmt: skip
    children_nb = {link["href"]: link["title"] for link in root_nb["links"] if link["rel"] == "child"}
    assert children_nb == {f"./{c}/collection.nb.json": translation(c)["title"] for c in FAMILIES}
    for cid in FAMILIES:
        english = load_json(cat_dir / cid / "collection.json")
        norwegian = load_json(cat_dir / cid / "collection.nb.json")
        assert "translations" not in english and "translations" not in norwegian
        assert (norwegian["title"], norwegian["description"]) == tuple(translation(cid).values())
        assert norwegian["title"] != english["title"]
        back = [link["href"] for link in norwegian["links"] if link.get("hreflang") == "en"]
        assert back == ["./collection.json"]
        items = [link["href"] for link in english["links"] if link["rel"] == "item"]
        assert items and items == [link["href"] for link in norwegian["links"] if link["rel"] == "item"]
        assert not validate_dict(norwegian), cid
    assert not validate_dict(root_nb)
