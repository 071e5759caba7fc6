"""The demo source folder (``sporbar demo generate``), read as data: the stand-in for a remote archive.

Its ``index.json`` lists the products (``{"sentinel2": [{"id", "path"}...], "sentinel1": [...], "lidar": [...],
"labels": {"path"}}``, paths relative to the folder); a folder without an index (as tests
write them) is listed from its layout: ``sentinel-2/<id>.SAFE``, ``sentinel-1/<id>.SAFE``, ``lidar/<id>.laz``,
``labels/labels.gpkg``. The demo sources of :mod:`sporbar.fetch` read only this; they do
not import :mod:`sporbar.demo`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sporbar.fetch.search import Listing
from sporbar.io import read_json_object

INDEX = "index.json"
# mission -> (folder, file suffix) of its products in a demo source folder
LAYOUT = {"sentinel2": ("sentinel-2", ".SAFE"), "sentinel1": ("sentinel-1", ".SAFE"), "lidar": ("lidar", ".laz")}
LABELS = "labels/labels.gpkg"
_HINT = "; run `sporbar demo generate` with the same config"


def _index(source_dir: Path) -> dict[str, Any] | None:
    path = source_dir / INDEX
    if not path.is_file():
        return None
    return read_json_object(path, what="demo source index", hint=_HINT)


def listing(source_dir: Path, mission: str) -> Listing:
    """The products of ``mission`` in the demo source folder ``source_dir``.

    Each entry has ``id``, ``path`` (absolute) and ``source_dir`` (as given).
    """
    source_dir = Path(source_dir)
    folder, suffix = LAYOUT[mission]
    index = _index(source_dir)
    if index is not None:
        rel = [(e["id"], e["path"]) for e in index.get(mission, [])]
        where = source_dir / INDEX
    else:
        files = sorted((source_dir / folder).glob(f"*{suffix}"))
        rel = [(p.name.removesuffix(suffix), f"{folder}/{p.name}") for p in files]
        where = source_dir / folder
    scenes = tuple(
        {"id": i, "path": str(source_dir / r), "source_dir": str(source_dir)} for i, r in sorted(rel)
    )
    return Listing(where, scenes, None, hint=_HINT)


def labels_path(source_dir: Path) -> Path:
    """The label file of the demo source folder ``source_dir``."""
    index = _index(Path(source_dir))
    rel = str((index or {}).get("labels", {}).get("path", LABELS))
    return Path(source_dir) / rel
