"""Check a catalog (or one item and its ancestors) offline: ``sporbar verify``.

For every object reached from the start file it checks that

- it is valid against its core and extension schemas (offline bundle);
- every link (child, item, parent, root, collection, derived_from...) with a local
  href resolves to an existing file;
- every item records ``processing:lineage``, ``processing:software`` and
  ``processing:datetime``;
- every asset has ``file:checksum``, its file exists, and its checksum (and
  ``file:size`` when given) match the file on disk.

Problems are collected, not raised, so one run lists all of them, each as
``<json path>: <what>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sporbar.errors import SporbarError
from sporbar.io import sha256_multihash, size_of
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href
from sporbar.stac.validate import validate_dict

REQUIRED_ITEM_PROPERTIES: Final = (
    ext.PROCESSING_LINEAGE,
    ext.PROCESSING_SOFTWARE,
    ext.PROCESSING_DATETIME,
)
# Links whose targets are STAC objects that verify walks into.
WALK_RELS: Final = frozenset({"child", "item", ext.DERIVED_FROM})
SHA256_MULTIHASH_PREFIX: Final = "1220"


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_catalog`.

    Attributes:
        start: the file verification started from.
        problems: ``"<json path>: <what>"`` lines, in the order found.
        n_catalogs, n_collections, n_items: STAC objects checked.
        n_assets: local assets checked against the disk.
        n_remote_assets: assets with a URL href (not checked offline).
        n_links: local links checked.
    """

    start: Path
    problems: list[str] = field(default_factory=list)
    n_catalogs: int = 0
    n_collections: int = 0
    n_items: int = 0
    n_assets: int = 0
    n_remote_assets: int = 0
    n_links: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line: ``OK: N items, M assets checked`` or the number of problems."""
        counts = f"{self.n_items} items, {self.n_assets} assets checked"
        if self.ok:
            return f"OK: {counts}"
        return f"FAILED: {len(self.problems)} problem(s) in {self.start} ({counts})"


def verify_catalog(
    catalog_json: Path, *, schema_dir: Path | None = None, checksums: bool = True
) -> VerifyReport:
    """Verify the catalog, collection or item at ``catalog_json`` and all it links to.

    A catalog is walked through its child and item links; an item (given alone or
    reached) also through its ``derived_from`` links, so verifying one map item checks
    its whole lineage.

    Args:
        catalog_json: a ``catalog.json``, ``collection.json`` or item JSON.
        schema_dir: offline schema bundle (default: the one shipped in the package).
        checksums: compare asset checksums (hashes every file; sizes are always checked).

    Returns:
        The report; ``report.ok`` is False when anything is wrong.
    """
    start = Path(catalog_json).resolve()
    report = VerifyReport(start=start)
    hashes: dict[Path, str] = {}
    seen: set[Path] = {start}
    todo: deque[Path] = deque([start])
    while todo:
        path = todo.popleft()
        try:
            obj = read_json(path)
        except SporbarError as err:
            report.problems.append(str(err))
            continue
        for target in _check_object(path, obj, report, schema_dir, hashes, checksums):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return report


def _check_object(
    path: Path,
    obj: dict[str, Any],
    report: VerifyReport,
    schema_dir: Path | None,
    hashes: dict[Path, str],
    checksums: bool,
) -> list[Path]:
    """Check one object; return the linked STAC files to walk into."""
    kind = obj.get("type")
    if kind == "Catalog":
        report.n_catalogs += 1
    elif kind == "Collection":
        report.n_collections += 1
    elif kind == "Feature":
        report.n_items += 1
    try:
        problems = validate_dict(obj, schema_dir=schema_dir)
    except SporbarError as err:
        problems = [str(err)]
    report.problems += [f"{path}: invalid STAC: {p}" for p in problems]

    walk: list[Path] = []
    for link in obj.get("links", []):
        rel, href = link.get("rel", "?"), link.get("href", "")
        if rel == "self" or not is_local_href(href):
            continue
        report.n_links += 1
        target = resolve_href(href, path.parent)
        if not target.is_file():
            report.problems.append(f"{path}: {rel} link {href!r} is broken (no file {target})")
        elif rel in WALK_RELS:
            walk.append(target)

    if kind == "Feature":
        props = obj.get("properties", {})
        for key in REQUIRED_ITEM_PROPERTIES:
            if not props.get(key):
                report.problems.append(
                    f"{path}: property {key!r} missing (provenance not recorded)"
                )
        for key in sorted(obj.get("assets", {})):
            _check_asset(path, key, obj["assets"][key], report, hashes, checksums)
    return walk


def _check_asset(
    path: Path,
    key: str,
    asset: dict[str, Any],
    report: VerifyReport,
    hashes: dict[Path, str],
    checksums: bool,
) -> None:
    href = asset.get("href", "")
    if not is_local_href(href):
        report.n_remote_assets += 1
        return
    report.n_assets += 1
    target = resolve_href(href, path.parent)
    where = f"asset {key!r}"
    if not target.exists():
        report.problems.append(f"{path}: {where} file missing ({target})")
        return
    expected = asset.get(ext.FILE_CHECKSUM)
    if expected is None:
        report.problems.append(f"{path}: {where} has no {ext.FILE_CHECKSUM} (file {target})")
    size = asset.get(ext.FILE_SIZE)
    if size is not None and size != size_of(target):
        report.problems.append(
            f"{path}: {where} size mismatch "
            f"(file {target}: {size_of(target)} bytes, item says {size})"
        )
    if expected is None or not checksums:
        return
    if not str(expected).startswith(SHA256_MULTIHASH_PREFIX):
        report.problems.append(
            f"{path}: {where} checksum {expected!r} is not a sha2-256 multihash; cannot verify"
        )
        return
    if target not in hashes:
        hashes[target] = sha256_multihash(target)
    if hashes[target] != expected:
        report.problems.append(f"{path}: {where} checksum mismatch (file {target})")
