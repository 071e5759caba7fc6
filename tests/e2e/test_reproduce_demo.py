"""End to end: every item of a small demo run is reproduced bit-for-bit by `sporbar reproduce`.

The whole chain is covered: fetch (S2, lidar, labels), ARD (COGs + Zarr cube), lidar products,
training samples (GeoParquet), models (joblib random forest, torch MLP) and maps. No exceptions
are listed: any asset that does not come out with the same bytes fails this test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_snakemake, small_config, write_config

from sporbar.config import load
from sporbar.reproduce import Reproducer, Verdict, catalog_items, summary
from sporbar.workflow import plan
from sporbar.workflow.blocks import current_item

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("e2e-reproduce")
    root = work / "results"
    cfg_path = write_config(work / "config.yaml", small_config(root))
    r = run_snakemake("--configfile", str(cfg_path), cwd=work)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return {"work": work, "root": root, "cfg": load(cfg_path)}


def test_every_demo_item_is_reproduced_bit_for_bit(run: dict) -> None:
    catalog = plan.path(run["cfg"], "catalog")
    items = catalog_items(catalog)
    commands = set()
    reports = []
    rep = Reproducer(workdir=run["work"])
    for item in items:
        r = rep.reproduce(item)
        reports.append(r)
        commands.add(r.command)
    failures = [r.render() for r in reports if r.verdict != Verdict.IDENTICAL]
    assert not failures, summary(reports) + "\n\n" + "\n\n".join(failures)
    assert commands == {"fetch s2", "fetch s1", "fetch lidar", "fetch labels", "ard", "s1-ard", "lidar", "samples",
                        "train", "predict", "validation-sample", "assess"}
    assert len(reports) == len(items) > 10
    # every asset of every item was compared
    for r in reports:
        d = json.loads(Path(r.item).read_text())
        assert {a.key for a in r.assets} == set(d["assets"]), r.item


def test_a_tampered_model_is_caught(run: dict, tmp_path: Path) -> None:
    """Changing the model's bytes makes every map derived from it 'input changed'."""
    model_dir = current_item(run["cfg"], "model", model="rf").parent  # models/rf/<version>/
    model = next(p for p in model_dir.iterdir() if p.name.startswith("model.") and p.suffix != ".json")
    original = model.read_bytes()
    try:
        model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        maps = sorted((run["root"] / "maps").rglob("item.json"))
        r = Reproducer(workdir=run["work"]).reproduce(maps[0])
        assert r.verdict == Verdict.INPUT_CHANGED, r.render()
    finally:
        model.write_bytes(original)
