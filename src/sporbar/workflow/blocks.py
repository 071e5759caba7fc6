"""One job, several units: run a per-tile stage over a job block and write its manifest.

Snakemake's cost is per job (about 1 ms of DAG build each, and a Slurm job each), so a
10,000-tile area in one job per tile and stage is 40,000 jobs. With ``job_block: k`` in the
config, a job does the k x k grid tiles of a block (or, for the lidar fetch, the delivered
lidar tiles the block owns) and Snakemake tracks one manifest per job:

    <root>/jobs/ard/E...N....json:
    {"block": "E...N...", "stage": "ard", "fingerprint": "...", "items": [{"unit": ..,
     "item": "../../ard/sentinel-2-l2a/E...N.../item.json", "sha256": ..,
     "files": ["../../ard/sentinel-2-l2a/E...N.../composite-early.tif", ...]}, ...]}

Each unit's item is written atomically by its own step (with its own provenance), so a
killed job leaves whole items. A journal beside the manifest (``<manifest>.partial-<host>-<pid>``) records
every finished unit with the fingerprint of the job's inputs and settings; a re-run of the
same job keeps those units and does only the rest. Changed inputs or settings give another
fingerprint, and everything is redone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.io import sha256_multihash, write_json_atomic
from sporbar.workflow import plan
from sporbar.workflow.missing import item_files

log = logging.getLogger(__name__)

MANIFEST_KEYS = ("block", "stage", "fingerprint", "items")


def fingerprint(stage_hash: str, inputs: Sequence[Path]) -> str:
    """Hash of a job's settings and inputs (path, size, mtime), as Snakemake would judge them."""
    import hashlib

    h = hashlib.sha256(stage_hash.encode())
    for p in sorted(str(x) for x in inputs):
        st = Path(p).stat()
        h.update(f"\0{p}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _journal(manifest: Path) -> Path:
    """This process's journal: ``<manifest>.partial-<host>-<pid>``.

    Two runs of one job at once (two working folders on one root, which Snakemake's lock does
    not cover) write apart.
    """
    return manifest.with_name(f"{manifest.name}.partial-{socket.gethostname()}-{os.getpid()}")


def _journals(manifest: Path) -> list[Path]:
    """Every journal of ``manifest``: of killed runs, of a run going on elsewhere, and this one's."""
    return sorted(manifest.parent.glob(f"{manifest.name}.partial*"))


def _kept_units(manifest: Path, fp: str) -> dict[str, dict[str, Any]]:
    """Units of interrupted runs of the same job whose items are still as written."""
    kept: dict[str, dict[str, Any]] = {}
    for journal in _journals(manifest):
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:  # its run finished meanwhile
            continue
        for line in lines:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # the line being written when the job was killed
                continue
            item = journal.parent / rec["item"]
            if rec.get("fingerprint") == fp and item.exists() and sha256_multihash(item) == rec["sha256"]:
                kept[rec["unit"]] = rec
    return kept


def run_block(
    *,
    block: str,
    stage: str,
    stage_hash: str,
    manifest: Path,
    units: Sequence[tuple[str, Path]],
    inputs: Sequence[Path],
    work: Callable[[str, Path], Any],
) -> dict[str, Any]:
    """Run ``work(unit, item_path)`` for each unit of a job block, then write its manifest.

    Args:
        block: the job block id (a wildcard of the rule).
        stage: the stage name, for the manifest and the log.
        stage_hash: hash of the config sections the stage depends on (``plan.stage_hash``).
        manifest: the manifest to write (the rule's output).
        units: ``(unit id, item path)`` per unit, in order.
        inputs: the job's input files; their change redoes every unit.
        work: makes one unit's item at the path it is given.

    Returns:
        The manifest as written.
    """
    manifest = Path(manifest)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    journal = _journal(manifest)
    fp = fingerprint(stage_hash, inputs)
    kept = _kept_units(manifest, fp)
    if kept:
        log.info("%s %s: resuming, %d of %d unit(s) already done", stage, block, len(kept), len(units))
    # the journal is rewritten with what is kept, so a stale fingerprint's lines go away
    with journal.open("w", encoding="utf-8") as jf:
        for rec in kept.values():
            jf.write(json.dumps(rec) + "\n")
        jf.flush()
        records = []
        for i, (unit, item) in enumerate(units, 1):
            if unit in kept:
                records.append(kept[unit])
                continue
            t0 = time.perf_counter()
            work(unit, Path(item))
            rec = {
                "unit": unit,
                "item": os.path.relpath(item, manifest.parent),
                "sha256": sha256_multihash(Path(item)),
                # the item's data files too: a re-run redoes the job when one is deleted (missing.py)
                "files": [os.path.relpath(f, manifest.parent) for f in item_files(Path(item))[1:]],
                "fingerprint": fp,
            }
            jf.write(json.dumps(rec) + "\n")
            jf.flush()
            os.fsync(jf.fileno())
            records.append(rec)
            log.info("%s %s: %d/%d %s done in %.1f s", stage, block, i, len(units), unit,
                     time.perf_counter() - t0)
    doc = {"block": block, "stage": stage, "fingerprint": fp,
           "items": [{k: r[k] for k in ("unit", "item", "sha256", "files") if k in r} for r in records]}
    write_json_atomic(manifest, doc)
    for done in _journals(manifest):  # this run's, and those of killed runs it has superseded
        done.unlink(missing_ok=True)
    return doc


def write_item_manifest(manifest: Path, *, stage: str, unit: str, item: Path) -> dict[str, Any]:
    """The manifest of a job that made one versioned item (``model_job``, ``training_job``).

    Same shape as a job block's manifest, so :func:`expand_items` and the damaged-output check
    (``missing.py``) read it alike; ``block`` is the unit (model id or area).
    """
    manifest = Path(manifest)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    checksum = sha256_multihash(Path(item))
    rec = {
        "unit": unit,
        "item": os.path.relpath(item, manifest.parent),
        "sha256": checksum,
        "files": [os.path.relpath(f, manifest.parent) for f in item_files(Path(item))[1:]],
    }
    doc = {"block": unit, "stage": stage, "fingerprint": checksum, "items": [rec]}
    write_json_atomic(manifest, doc)
    return doc


def current_item(cfg: Config, name: str, **wildcards: str) -> Path:
    """The version item a run made of versioned output ``name`` (``training``, ``model``).

    Read from its job manifest (``<name>_job``).

    Raises:
        MissingInputError: the manifest does not exist (the step has not run).
        InputDataError: it is unreadable, or does not list exactly one item.
    """
    manifest = plan.path(cfg, f"{name}_job", **wildcards)
    items = manifest_items(manifest)
    if len(items) != 1:
        raise InputDataError(f"{manifest}: lists {len(items)} items, expected the one version item")
    return items[0]


def is_manifest(path: Path) -> bool:
    """Whether ``path`` is a job manifest: ``<root>/jobs/<rule>/[<product>/]<block>.json``."""
    p = Path(path)
    return p.suffix == ".json" and p.name != "item.json" and "jobs" in p.parts[-4:-1]


def manifest_items(manifest: Path) -> list[Path]:
    """The item paths a job manifest lists.

    Raises:
        MissingInputError: the manifest does not exist.
        InputDataError: the file is not a readable manifest, or a listed item is missing.
    """
    manifest = Path(manifest)
    if not manifest.exists():
        raise MissingInputError(f"{manifest}: job manifest not found (has its Snakemake job run?)")
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        entries = doc["items"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputDataError(f"{manifest}: not a readable job manifest ({e})") from e
    out = [manifest.parent / e["item"] for e in entries]
    missing = [str(p) for p in out if not p.exists()]
    if missing:
        raise InputDataError(f"{manifest}: lists items that are missing: {', '.join(missing[:5])}")
    return [Path(os.path.normpath(p)) for p in out]


def expand_items(paths: Sequence[Path]) -> list[Path]:
    """Item paths, with each job manifest among ``paths`` replaced by the items it lists."""
    out: list[Path] = []
    for p in paths:
        out.extend(manifest_items(p) if is_manifest(p) else [Path(p)])
    return out


def run_tile_block(
    cfg: Config,
    *,
    stage: str,
    item: str,
    block: str,
    manifest: Path,
    inputs: Sequence[Path],
    work: Callable[[str, Path], Any],
    **wildcards: str,
) -> dict[str, Any]:
    """:func:`run_block` over the grid tiles of ``block``.

    Each tile's item goes to the plan path ``item`` (a key of ``plan.PATTERNS``, e.g. ``"ard"``)
    and ``stage`` names the config sections (``plan.STAGE_SECTIONS``) whose change redoes the block.
    """
    units = [(t, plan.path(cfg, item, tile=t, **wildcards)) for t in plan.Plan(cfg).block_tiles(block)]
    return run_block(block=block, stage=stage, stage_hash=plan.stage_hash(cfg, stage), manifest=manifest,
                     units=units, inputs=inputs, work=work)
