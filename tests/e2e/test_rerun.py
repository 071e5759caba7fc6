"""Re-runs on an existing root: another config's dry run, deleted outputs, a changed job_block.

Slow (real Snakemake runs of the small demo area): marked ``e2e``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, REPO, small_config, write_config
from conftest import run_snakemake as snakemake

from sporbar.config import load
from sporbar.workflow import plan

pytestmark = pytest.mark.e2e


def test_dry_run_with_another_config_during_a_run_leaves_the_run_alone(tmp_path: Path) -> None:
    root = tmp_path / "results"
    a = write_config(tmp_path / "a.yaml", small_config(root))
    b_data = small_config(root)
    b_data["training"]["seed"] += 1
    b = write_config(tmp_path / "b.yaml", b_data)
    cfg_a = load(a)
    labels = plan.path(cfg_a, "raw_labels", area=cfg_a.data["area"]["name"])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.Popen(
        [str(BIN / "snakemake"), str(labels), "--snakefile", str(REPO / "Snakefile"), "--cores", "1",
         "--configfile", str(a)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # wait until run A's first job (the demo source) has started: its incomplete marker
        incomplete = tmp_path / ".snakemake" / "incomplete"
        deadline = time.monotonic() + 120
        while not (incomplete.is_dir() and any(incomplete.iterdir())):
            assert run.poll() is None and time.monotonic() < deadline, "run A ended before its first job"
            time.sleep(0.2)
        r = snakemake("-n", "--configfile", str(b), cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        out, _ = run.communicate(timeout=900)
    finally:
        run.kill()
    assert run.returncode == 0, out[-3000:]
    item = json.loads(labels.read_text())
    assert item["properties"]["sporbar:config_hash"] == cfg_a.hash  # A's steps read A's config
    # B changes only training settings: its config file has another name, and the labels stay done
    r = snakemake(str(labels), "-n", "--configfile", str(b), cwd=tmp_path, timeout=300)
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-3000:]


def test_changing_job_block_on_an_existing_root_redoes_the_blocks(tmp_path: Path) -> None:
    # job_block 1, then 2: block E268800N7029760 (the first tile) exists in both layouts, and its
    # lidar fetch manifest from the first run lists only that tile's deliveries
    root = tmp_path / "results"
    area = {"name": "test-area", "bbox": [268800, 7029760, 270080, 7030400]}  # tile indices even

    def lidar_products(job_block: int) -> subprocess.CompletedProcess[str]:
        cfg = small_config(root, job_block=job_block, area=area)
        path = write_config(tmp_path / f"block{job_block}.yaml", cfg)
        jobs = plan.Plan(load(path))
        assert jobs.blocks[0] == "E268800N7029760"
        targets = [str(plan.path(jobs.cfg, "lidar_products_job", block=b)) for b in jobs.blocks]
        return snakemake(*targets, "--configfile", str(path), cwd=tmp_path)

    r = lidar_products(1)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = lidar_products(2)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "fetch_lidar" in r.stdout + r.stderr  # redone for the new layout, not taken as it was
    manifest = json.loads((root / "jobs" / "lidar_products" / "E268800N7029760.json").read_text())
    assert [e["unit"] for e in manifest["items"]] == ["E268800N7029760", "E269440N7029760"]


def test_retraining_publishes_a_new_model_version_beside_the_old(tmp_path: Path) -> None:
    """Another models[] setting: a second rf version; the first stays published, deprecated."""
    from conftest import run_sporbar as sporbar

    from sporbar.workflow.blocks import current_item

    root = tmp_path / "results"
    data = small_config(root)
    data["models"] = [{"id": "rf", "kind": "random_forest", "n_estimators": 20}]
    a = write_config(tmp_path / "a.yaml", data)
    r = snakemake("--configfile", str(a), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cfg_a = load(a)
    old = json.loads(current_item(cfg_a, "model", model="rf").read_text())
    training = current_item(cfg_a, "training", area=cfg_a.data["area"]["name"])

    data["models"][0]["n_estimators"] = 21
    b = write_config(tmp_path / "b.yaml", data)
    r = snakemake("--configfile", str(b), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cfg_b = load(b)
    new_path = current_item(cfg_b, "model", model="rf")
    new = json.loads(new_path.read_text())
    assert new["id"] != old["id"] and new["properties"]["sporbar:version_of"] == "model-rf"
    assert current_item(cfg_b, "training", area=cfg_b.data["area"]["name"]) == training  # samples unchanged
    # the new maps are derived_from the new version; the catalog holds both, linked
    a_map = json.loads(plan.path(cfg_b, "map", product=data["map"]["product"], tile=cfg_b.tiles[0]).read_text())
    assert new["id"] in [lk.get("title") for lk in a_map["links"] if lk["rel"] == "derived_from"]
    models = plan.path(cfg_b, "catalog").parent / "models"
    assert sorted(p.name for p in models.iterdir() if p.is_dir()) == sorted([old["id"], new["id"]])
    older = json.loads((models / old["id"] / f"{old['id']}.json").read_text())
    assert older["properties"]["deprecated"] is True
    assert [lk["title"] for lk in older["links"] if lk["rel"] == "latest-version"] == [new["id"]]
    r = sporbar("verify", str(plan.path(cfg_b, "catalog")))
    assert r.returncode == 0, r.stdout + r.stderr
    # nothing changed: nothing to do, no third version
    r = snakemake("--configfile", str(b), "--dry-run", cwd=tmp_path)
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-3000:]


@pytest.mark.services
def test_publishing_a_new_model_version_keeps_the_old_row_in_pgstac(tmp_path: Path) -> None:
    """Run, publish to pgstac, retrain, publish again: both versions are rows, linked, the old one deprecated."""
    import sys

    from conftest import run_sporbar as sporbar

    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from _services import dsn, pg_dir, require_root, start_postgres, stop_postgres

    from sporbar.workflow.blocks import current_item

    require_root("the pgstac versions test")
    data = small_config(tmp_path / "results")
    data["models"] = [{"id": "rf", "kind": "random_forest", "n_estimators": 20}]
    folder = pg_dir()
    pg = start_postgres(folder)

    def run_and_publish(name: str) -> tuple[Any, dict[str, Any]]:
        cfg_path = write_config(tmp_path / f"{name}.yaml", data)
        r = snakemake("--configfile", str(cfg_path), cwd=tmp_path)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        cfg = load(cfg_path)
        for args in (["approve", "--all", "--by", "Test Owner"], ["publish", "-o", str(plan.path(cfg, "catalog")),
                                                                 "--to", "pgstac", "--dsn", dsn(pg)]):
            r = sporbar(*args, "-c", str(cfg_path))
            assert r.returncode == 0, r.stdout + r.stderr
        return cfg, json.loads(current_item(cfg, "model", model="rf").read_text())

    def rows(collection: str) -> dict[str, dict[str, Any]]:
        import psycopg

        with psycopg.connect(dsn(pg)) as conn:
            found = conn.execute(
                "SELECT id, content FROM pgstac.items WHERE collection = %s", (collection,)
            ).fetchall()
        return {i: c for i, c in found}

    try:
        _, old = run_and_publish("a")
        assert set(rows("models")) == {old["id"]}
        data["models"][0]["n_estimators"] = 21
        cfg, new = run_and_publish("b")
        models = rows("models")
        assert set(models) == {old["id"], new["id"]}  # the upsert did not replace the older version
        assert models[old["id"]]["properties"]["deprecated"] is True
        assert not models[new["id"]]["properties"].get("deprecated", False)

        def linked(content: dict[str, Any], rel: str) -> list[str]:
            return [lk["href"].rsplit("/", 1)[-1] for lk in content["links"] if lk["rel"] == rel]

        assert linked(models[old["id"]], "latest-version") == [new["id"]]
        assert linked(models[new["id"]], "predecessor-version") == [old["id"]]
        maps = rows("land-ecology-maps")
        assert maps and all(m["properties"]["sporbar:model"] == new["id"] for m in maps.values())
        assert all(new["id"] in linked(m, "derived_from") for m in maps.values())
    finally:
        stop_postgres(folder)
