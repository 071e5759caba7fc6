"""The lineage picture: SVG of the derived_from graph, written and linked by publish."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _metadata_fixtures import publish_chain
from _stac_fixtures import LAYOUT, LIDAR_TILE, SCENE, TILE

from sporbar.stac import extensions as ext
from sporbar.stac.lineage import lineage
from sporbar.stac.lineage_svg import lineage_svg
from sporbar.stac.verify import verify_catalog

SVG = "{http://www.w3.org/2000/svg}"
MAP_ID = f"land-ecology-{TILE}"
ALL_IDS = {SCENE, LIDAR_TILE, "labels-test-area", f"ard-{TILE}", "training-test-area", "model-rf", MAP_ID}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    return publish_chain(tmp_path_factory.mktemp("svg"))


def _map_copy(published) -> Path:
    return published.catalog.parent / ext.COLLECTION_MAPS / MAP_ID / f"{MAP_ID}.json"


def test_publish_writes_and_links_the_lineage_svg(published) -> None:
    copy = _map_copy(published)
    svg = copy.parent / "lineage.svg"
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    ids = {g.get("data-id") for g in root.iter(f"{SVG}g") if g.get("class") == "item"}
    assert ids == ALL_IDS
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert all(i in text for i in ALL_IDS)
    links = [ln for ln in json.loads(copy.read_text())["links"] if ln["rel"] == "related"]
    assert links == [
        {
            "href": "./lineage.svg",
            "rel": "related",
            "title": "Lineage: derived_from graph back to the raw data (SVG)",
            "type": "image/svg+xml",
        }
    ]
    # only map items get a picture
    assert sorted(p.parent.parent.name for p in published.catalog.parent.rglob("lineage.svg")) == [ext.COLLECTION_MAPS]
    report = verify_catalog(published.catalog)
    assert report.ok, report.problems


def test_boxes_link_to_the_item_copies(published) -> None:
    svg = _map_copy(published).parent / "lineage.svg"
    root = ET.parse(svg).getroot()
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert len(hrefs) == len(ALL_IDS)
    for h in hrefs:
        assert h and (svg.parent / h).resolve().is_file(), h


def test_svg_is_deterministic_and_marks_missing_inputs(published, tmp_path: Path) -> None:
    chain = published.chain
    first = lineage_svg(lineage(chain.map, layout=LAYOUT))
    assert first == lineage_svg(lineage(chain.map, layout=LAYOUT))
    # an input whose item is gone is still drawn, marked missing
    chain.raw_labels.rename(chain.raw_labels.with_suffix(".gone"))
    try:
        text = lineage_svg(lineage(chain.map, layout=LAYOUT))
    finally:
        chain.raw_labels.with_suffix(".gone").rename(chain.raw_labels)
    root = ET.fromstring(text.encode("utf-8"))
    missing = [
        g
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "item" and "(missing)" in "".join(t.text or "" for t in g.iter(f"{SVG}text"))
    ]
    assert len(missing) == 1
