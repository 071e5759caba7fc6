"""Approval of a collection by its data owner before it is published to a public target.

The open-data seed asks that nothing is published before the data owner has approved it.
``sporbar approve <collection> --by <name>`` records who approved, when, and exactly which
items (id and a digest of each item copy in the static catalog) in
``<run root>/approvals/<collection>.json``; every approval is kept there as history.

An approval covers those items only: when a re-run changes, adds or removes an item, the
collection is no longer approved until it is approved again. ``sporbar publish --to pgstac``
(the STAC API that staff and the public search) refuses a collection that is not approved for
its current items, with :class:`UnapprovedError`. The static catalog is the review copy and is
written whatever the approval; it carries ``sporbar:approval`` (by, when, note, number of
items) on each collection that is approved for its current items, so STAC Browser shows it
beside ``sporbar:status`` and ``sporbar:access``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sporbar.errors import CatalogError, SporbarError
from sporbar.io import dumps_json, sha256_multihash_of, write_json_atomic
from sporbar.stac import extensions as ext
from sporbar.stac.reader import read_catalog

APPROVALS_DIR: Final = "approvals"
APPROVAL: Final = ext.SPORBAR_PREFIX + "approval"


class UnapprovedError(SporbarError, PermissionError):
    """A collection is published to a public target without an approval of its current items."""


@dataclass(frozen=True)
class Approval:
    """One approval: who, when, why, and the digest of each approved item."""

    collection: str
    by: str
    at: str
    items: Mapping[str, str]
    note: str = ""

    def fields(self) -> dict[str, Any]:
        """The ``sporbar:approval`` value written on the approved collection."""
        out: dict[str, Any] = {"by": self.by, "datetime": self.at, "items": len(self.items)}
        if self.note:
            out["note"] = self.note
        return out


def item_digest(item: Mapping[str, Any]) -> str:
    """A digest of an item's content (as serialised by the catalog), independent of file formatting."""
    return sha256_multihash_of(dumps_json(item).encode("utf-8"))


def approval_file(root: Path, collection_id: str) -> Path:
    """Where the approvals of ``collection_id`` are recorded."""
    return Path(root) / APPROVALS_DIR / f"{collection_id}.json"


def latest_approval(root: Path, collection_id: str) -> Approval | None:
    """The most recent approval of ``collection_id``, or None.

    Raises:
        CatalogError: the approvals file is not readable JSON of the expected shape.
    """
    path = approval_file(root, collection_id)
    if not path.is_file():
        return None
    try:
        history = json.loads(path.read_text(encoding="utf-8"))["approvals"]
        last = history[-1]
        return Approval(collection_id, last["by"], last["at"], dict(last["items"]), last.get("note", ""))
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise CatalogError(f"{path}: not a readable approvals record ({type(err).__name__}: {err})") from err


def differences(approval: Approval | None, current: Mapping[str, str]) -> list[str]:
    """What keeps ``current`` items (id -> digest) from being covered by ``approval`` (empty: approved)."""
    if approval is None:
        return ["never approved"]
    out = [f"{i} is new" for i in sorted(set(current) - set(approval.items))]
    out += [f"{i} was removed" for i in sorted(set(approval.items) - set(current))]
    out += [f"{i} changed" for i in sorted(set(current) & set(approval.items)) if current[i] != approval.items[i]]
    return out


def catalog_items(catalog_json: Path) -> dict[str, dict[str, str]]:
    """Collection id -> (item id -> digest) of the items in the static catalog at ``catalog_json``.

    Raises:
        MissingInputError / CatalogError: the catalog or one of its objects cannot be read.
    """
    collections, items = read_catalog(catalog_json)
    return {
        str(c.data["id"]): {str(i.data["id"]): item_digest(i.data) for i in items[str(c.data["id"])]}
        for c in collections
    }


def approve(
    catalog_json: Path, collection_ids: Iterable[str], *, by: str, root: Path, note: str = ""
) -> list[Approval]:
    """Record that ``by`` approved the current items of each collection in the static catalog.

    Also writes ``sporbar:approval`` on the collections in the static catalog, so a following
    ``publish --to pgstac`` carries it.

    Raises:
        CatalogError: a collection is not in the catalog (names those it has), or ``by`` is empty.
    """
    if not by.strip():
        raise CatalogError("approve: --by must name the person approving (the data owner)")
    published = catalog_items(catalog_json)
    wanted = sorted(set(collection_ids))
    unknown = [c for c in wanted if c not in published]
    if unknown:
        raise CatalogError(
            f"{catalog_json}: no collection {', '.join(map(repr, unknown))} in the catalog "
            f"(it has {', '.join(sorted(published))})"
        )
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    done = []
    for cid in wanted:
        record = Approval(cid, by.strip(), at, published[cid], note)
        path = approval_file(root, cid)
        history = json.loads(path.read_text(encoding="utf-8"))["approvals"] if path.is_file() else []
        history.append({"by": record.by, "at": record.at, "items": dict(record.items), "note": record.note})
        write_json_atomic(path, {"collection": cid, "approvals": history})
        coll_path = Path(catalog_json).parent / cid / "collection.json"
        coll = json.loads(coll_path.read_text(encoding="utf-8"))
        coll[APPROVAL] = record.fields()
        write_json_atomic(coll_path, coll)
        done.append(record)
    return done


def check_approved(catalog_json: Path, root: Path) -> None:
    """Refuse a catalog that holds a collection not approved for its current items.

    Raises:
        UnapprovedError: names each such collection, what changed, and the command to approve.
    """
    problems = []
    for cid, items in sorted(catalog_items(catalog_json).items()):
        diff = differences(latest_approval(root, cid), items)
        if diff:
            shown = "; ".join(diff[:5]) + (f"; and {len(diff) - 5} more" if len(diff) > 5 else "")
            problems.append(f"{cid}: {shown}")
    if problems:
        raise UnapprovedError(
            f"{catalog_json}: not published: {len(problems)} collection(s) not approved for their current "
            "items by the data owner:\n  " + "\n  ".join(problems) + "\nReview the static catalog, then run "
            "`sporbar approve COLLECTION... --by NAME -c CONFIG` (or --all) and publish again."
        )


def approval_fields(root: Path, collection_id: str, items: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``sporbar:approval`` for a collection about to be written, when its latest approval covers ``items``."""
    approval = latest_approval(root, collection_id)
    current = {str(d["id"]): item_digest(d) for d in items}
    return approval.fields() if approval is not None and not differences(approval, current) else None
