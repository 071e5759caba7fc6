"""Immutable versions of model and training-data items (STAC version extension v1.2.0).

Retraining must not change what an earlier map was ``derived_from``. So a model or training
set is a series of versions, each an item that is written once and never rewritten:

- **Ids carry a content hash.** ``training-<area>-<h>`` where ``h`` hashes the samples file;
  ``model-<name>-<h>`` where ``h`` hashes the training version's id, the ``models[]`` entry,
  the seed and the code version (:func:`version_hash`). Same inputs, same id: a re-run with
  nothing changed makes no new version. The item records ``version`` (the hash) and
  ``sporbar:version_of`` (the id without it, ``model-rf``).
- **One folder per version.** The item and its data files go to ``<series>/<version>/``
  (``models/rf/<version>/item.json``, ``training/<area>/<version>/item.json``). A step whose
  version folder already holds a complete item keeps it as it is; no step ever writes into
  the folder of another version. Items made from a version (maps) link to that folder's
  item, so their lineage stays exact after any retraining.
- **Snakemake tracks a job manifest per series** (``jobs/train/<name>.json``), which lists the
  version the run made: the folder is known only once the step has run.
- **The folders are the history.** Publishing a versioned item publishes every version folder
  of its series too (:func:`series_items`); the catalog copies get the version links
  (:func:`version_links`): ``predecessor-version`` / ``successor-version`` between neighbours
  (ordered by ``processing:datetime``, the run's own version last), ``latest-version`` to the
  newest, and ``deprecated: true`` on every older one. Source items are never rewritten for
  that: the links live in the catalog, which is rebuilt whole by every publish. In pgstac each
  version is its own row (ids differ), so an upsert never replaces an older version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pystac

from sporbar.errors import SporbarError
from sporbar.stac import extensions as ext
from sporbar.stac.record import check_input_assets, read_item

#: hex digits of the content hash in a version id (48 bits: no collision within one series)
HASH_LENGTH: Final = 12
ITEM_FILENAME: Final = "item.json"


def version_hash(*parts: Any) -> str:
    """Short sha256 of ``parts`` (JSON, keys sorted): the ``version`` of an item."""
    text = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def version_path(series_dir: Path, version: str) -> Path:
    """The item of ``version`` in the series folder ``series_dir`` (``models/rf``)."""
    return Path(series_dir) / version / ITEM_FILENAME


def intact_version(item_path: Path) -> dict[str, Any] | None:
    """The item dict of a complete version, or None to (re)write it.

    None when ``item_path`` does not exist, or one of its asset files is missing or differs
    from its recorded checksum (a killed or damaged write of this very version: writing it
    again makes the same content, so it repairs and overwrites no other version).
    """
    item_path = Path(item_path)
    if not item_path.exists():
        return None
    try:
        item = read_item(item_path)
        check_input_assets(item_path, item, item.assets)
    except SporbarError:
        return None
    doc: dict[str, Any] = json.loads(item_path.read_text(encoding="utf-8"))
    return doc


def set_version(item: pystac.Item, base_id: str, version: str) -> None:
    """Make ``item`` version ``version`` of series ``base_id``: id ``<base_id>-<version>``.

    Sets ``version`` and ``sporbar:version_of`` and declares the version extension.
    """
    item.id = f"{base_id}-{version}"
    item.properties[ext.VERSION] = version
    item.properties[ext.SPORBAR_VERSION_OF] = base_id
    if ext.VERSION_SCHEMA_URI not in item.stac_extensions:
        item.stac_extensions.append(ext.VERSION_SCHEMA_URI)


def series_of(item: Mapping[str, Any]) -> str | None:
    """The series (``sporbar:version_of``) of an item dict, or None for an unversioned item."""
    value = item.get("properties", {}).get(ext.SPORBAR_VERSION_OF)
    return str(value) if value else None


def series_items(item_path: Path, item: Mapping[str, Any]) -> list[Path]:
    """Every version item of the series of ``item`` (stored at ``item_path``), itself included.

    The versions of a series are the sibling folders of the item's folder that hold an item of
    the same series (``models/rf/*/item.json``). Unversioned items: just ``item_path``.
    """
    series = series_of(item)
    if series is None:
        return [Path(item_path)]
    out = []
    for candidate in sorted(Path(item_path).parent.parent.glob(f"*/{ITEM_FILENAME}")):
        try:
            doc = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a folder being written, or not an item: not a version
        if isinstance(doc, dict) and doc.get("type") == "Feature" and series_of(doc) == series:
            out.append(candidate.resolve())
    return out


def version_order(members: Sequence[tuple[Path, Mapping[str, Any]]], current: set[Path]) -> list[Path]:
    """The version items of one series, oldest first; the run's own (``current``) last.

    Order: ``processing:datetime`` (whole seconds), then the item file's modification time
    (written once, so its creation), then id. A version the run used (it is among the paths
    published, not only reached as an older version) is the latest, also when an earlier
    config was restored and its older version is used again.
    """

    def key(m: tuple[Path, Mapping[str, Any]]) -> tuple[bool, str, int, str]:
        path, doc = m
        props = doc.get("properties", {})
        written = path.stat().st_mtime_ns if path.exists() else 0
        return (path in current, str(props.get(ext.PROCESSING_DATETIME, "")), written, str(doc.get("id", "")))

    return [p for p, _ in sorted(members, key=key)]


def version_links(
    ordered: Sequence[Path], hrefs: Mapping[Path, Mapping[Path, str]], titles: Mapping[Path, str]
) -> dict[Path, tuple[bool, list[dict[str, Any]]]]:
    """The version links and ``deprecated`` flag of each version of one series.

    Args:
        ordered: the version items, oldest first (:func:`version_order`).
        hrefs: for each version, the href of every other version relative to it.
        titles: item id of each version (link titles).

    Returns:
        version -> (deprecated, links): ``latest-version`` on every version but the latest,
        ``predecessor-version`` / ``successor-version`` to its neighbours.
    """
    latest = ordered[-1]
    out: dict[Path, tuple[bool, list[dict[str, Any]]]] = {}
    for i, path in enumerate(ordered):
        links = []

        def link(rel: str, target: Path, here: Path = path) -> dict[str, Any]:
            return {"rel": rel, "href": hrefs[here][target], "type": ext.JSON, "title": titles[target]}

        if path != latest:
            links.append(link(ext.LATEST_VERSION, latest))
        if i > 0:
            links.append(link(ext.PREDECESSOR_VERSION, ordered[i - 1]))
        if i < len(ordered) - 1:
            links.append(link(ext.SUCCESSOR_VERSION, ordered[i + 1]))
        out[path] = (path != latest, links)
    return out
