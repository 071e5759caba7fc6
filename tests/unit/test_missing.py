"""Made outputs whose data files were deleted afterwards are found, redone and reported."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import small_config

from sporbar.config import Config, validate
from sporbar.workflow import plan
from sporbar.workflow.blocks import run_block
from sporbar.workflow.missing import damaged_outputs, missing_files
from sporbar.workflow.status import run_status


def _write_item(item: Path, *assets: str) -> None:
    """An item with local assets (real files) and one remote asset."""
    item.parent.mkdir(parents=True, exist_ok=True)
    for name in assets:
        (item.parent / name).write_bytes(b"data")
    hrefs = {name: {"href": f"./{name}"} for name in assets}
    hrefs["remote"] = {"href": "https://example.org/never-fetched.tif"}
    item.write_text(json.dumps({"id": item.parent.name, "assets": hrefs}))


def test_deleted_asset_of_an_item_or_of_a_block_job_is_found(tmp_path: Path) -> None:
    scene = tmp_path / "raw" / "s1" / "item.json"
    _write_item(scene, "B04.jp2", "MTD.xml")
    manifest = tmp_path / "jobs" / "ard" / "B.json"
    units = [(t, tmp_path / "ard" / t / "item.json") for t in ("t0", "t1")]
    doc = run_block(block="B", stage="ard", stage_hash="h", manifest=manifest, units=units, inputs=[],
                    work=lambda unit, item: _write_item(item, "composite-early.tif", "clear-early.tif"))
    assert doc["items"][1]["files"] == ["../../ard/t1/composite-early.tif", "../../ard/t1/clear-early.tif"]
    assert damaged_outputs([scene, manifest, tmp_path / "not-made-yet.json"]) == {}
    kept = units[0][1].read_bytes()
    units[0][1].unlink()  # a deleted item of the block
    assert missing_files(manifest) == [units[0][1]]
    units[0][1].write_bytes(kept)

    (scene.parent / "B04.jp2").unlink()
    (tmp_path / "ard" / "t1" / "clear-early.tif").unlink()
    assert damaged_outputs([scene, manifest]) == {
        scene: [scene.parent / "B04.jp2"], manifest: [tmp_path / "ard" / "t1" / "clear-early.tif"]}
    # a manifest written before the files were recorded: read from its items
    for entry in doc["items"]:
        del entry["files"]
    manifest.write_text(json.dumps(doc))
    assert missing_files(manifest) == [tmp_path / "ard" / "t1" / "clear-early.tif"]
    # a deleted item of the block, and an unreadable item
    (tmp_path / "ard" / "t0" / "item.json").unlink()
    assert missing_files(manifest) == [manifest]  # unreadable: the job is redone
    scene.write_text("{trunc")
    assert missing_files(scene) == [scene]


def test_status_reports_a_made_unit_with_a_deleted_file_as_missing(tmp_path: Path) -> None:
    cfg = Config(validate(small_config(tmp_path / "results")))
    t0, t1 = cfg.tiles
    for t in (t0, t1):
        _write_item(plan.path(cfg, "ard", tile=t), "composite-early.tif")
    gone = plan.path(cfg, "ard", tile=t1).parent / "composite-early.tif"
    gone.unlink()
    st = run_status(cfg, tmp_path, use_slurm=False)
    states = {s.unit.id: s for s in st.stages["ard"]}
    assert states[t0].state == "done"
    assert states[t1].state == "missing" and str(gone) in states[t1].detail
    assert st.counts("ard")["missing"] == 1
