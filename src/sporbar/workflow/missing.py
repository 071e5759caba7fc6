"""Outputs whose files went missing after they were made: a deleted composite, raw band or map tile.

Snakemake tracks one file per job: an item, or the manifest of a job block. It does not know
the data files beside them, so a deleted COG leaves its job "done" and a re-run says "Nothing
to be done". These functions find such outputs from what each one lists (an item its assets,
a job manifest its items and their files), by file existence only: cheap enough for every parse.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def _asset_files(item: Path, doc: Any) -> list[Path]:
    assets = doc.get("assets") if isinstance(doc, dict) else None
    files = [item]
    for asset in (assets or {}).values():
        href = str(asset.get("href", "")) if isinstance(asset, dict) else ""
        if href and not urlparse(href).scheme:
            files.append(Path(os.path.normpath(item.parent / href)))
    return files


def item_files(item: Path) -> list[Path]:
    """The item and the local files of its assets (hrefs relative to the item; URLs skipped).

    Raises:
        OSError, ValueError: the item is not readable JSON.
    """
    item = Path(item)
    return _asset_files(item, json.loads(item.read_text(encoding="utf-8")))


def listed_files(output: Path) -> list[Path]:
    """The files a made output stands for.

    For an item, the item and its assets; for a job manifest (``{"block", "items": [...]}``)
    the files of every item it lists, as recorded in it (``files``) or, in manifests written
    before those were recorded, read from the items.

    Raises:
        OSError, ValueError, KeyError, TypeError: the output or an item is not readable.
    """
    output = Path(output)
    doc = json.loads(output.read_text(encoding="utf-8"))
    if not (isinstance(doc, dict) and "block" in doc and isinstance(doc.get("items"), list)):
        return _asset_files(output, doc)
    files: list[Path] = []
    for entry in doc["items"]:
        item = Path(os.path.normpath(output.parent / entry["item"]))
        if "files" in entry:
            files += [item, *(Path(os.path.normpath(output.parent / f)) for f in entry["files"])]
        else:
            files += item_files(item)
    return files


def missing_files(output: Path) -> list[Path]:
    """The files a made output lists that are not there (none for an output not made yet).

    Args:
        output: an item, or a job manifest.

    Returns:
        The missing files in listing order; ``[output]`` when it or an item it lists is unreadable.
    """
    output = Path(output)
    if not output.exists():
        return []
    try:
        files = listed_files(output)
    except (OSError, ValueError, KeyError, TypeError):
        return [output]
    return [f for f in files if not f.exists()]


def damaged_outputs(outputs: Iterable[Path]) -> dict[Path, list[Path]]:
    """The made outputs among ``outputs`` with missing files, and what each misses."""
    out: dict[Path, list[Path]] = {}
    for o in outputs:
        gone = missing_files(Path(o))
        if gone:
            out[Path(o)] = gone
    return out
