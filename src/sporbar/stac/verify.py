"""Check a catalog (or one item and its ancestors) offline: ``sporbar verify``.

For every object reached from the start file it checks that

- it is valid against its core and extension schemas (offline bundle);
- every local href (links and assets) stays inside the delivery: the run root (the folder
  holding the run's ``config.yaml``) or a root given by the caller. An href that leaves it
  (``../../../etc/passwd``, ``/etc/passwd``, ``file:///etc/passwd``, a symlink out) is an
  error and its target is never opened;
- every link (child, item, parent, root, collection, derived_from...) with a local href
  resolves to an existing file;
- every item records ``processing:lineage``, ``processing:software`` and
  ``processing:datetime``;
- every asset has ``file:checksum``, its file exists, and its checksum (and
  ``file:size`` when given) match the file on disk;
- a catalog copy and the item it was copied from (its ``via`` link: the item beside the
  data, which the stages read) record the same files, sizes and checksums, so an item
  changed at the data location after publishing is caught.

Each JSON file is read once; asset files are hashed in parallel, each file once. Problems
are collected, not raised, so one run lists all of them, each as ``<json path>: <what>``,
in the order the objects were reached.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse

from sporbar.errors import SporbarError
from sporbar.io import sha256_multihash, size_of
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, read_json, run_root
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
        root: the delivery every local href must stay inside.
        problems: ``"<json path>: <what>"`` lines, in the order found.
        n_catalogs, n_collections, n_items: STAC objects checked.
        n_assets: local assets checked against the disk.
        n_remote_assets: assets with a URL href (not checked offline).
        remote_assets: ``"<json path>: item 'id' asset 'key' href 'URL'"`` of each, to name them.
        n_links: local links checked.
        external: folders outside the delivery the caller named as allowed (an archive
            indexed in place); their files are checked like the delivery's own.
        n_external_assets: of ``n_assets``, those inside an ``external`` folder.
    """

    start: Path
    root: Path
    problems: list[str] = field(default_factory=list)
    n_catalogs: int = 0
    n_collections: int = 0
    n_items: int = 0
    n_assets: int = 0
    n_remote_assets: int = 0
    remote_assets: list[str] = field(default_factory=list)
    n_links: int = 0
    external: tuple[Path, ...] = ()
    n_external_assets: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line: ``OK: N items, M assets checked`` or the number of problems."""
        counts = f"{self.n_items} items, {self.n_assets} assets checked"
        if self.n_external_assets:
            named = ", ".join(str(p) for p in self.external)
            counts += f" ({self.n_external_assets} of them in the external archive(s) {named})"
        if self.n_remote_assets:
            counts += f", {self.n_remote_assets} remote (URL) assets not checked"
        if self.ok:
            return f"OK: {counts}"
        return f"FAILED: {len(self.problems)} problem(s) in {self.start} ({counts})"


@dataclass
class _AssetFile:
    """An asset whose file is hashed once every object has been read."""

    where: str  # "<json path>: asset 'key'"
    target: Path
    expected: str


@dataclass
class _Checked:
    """The problems of one object, and its assets waiting for their checksum."""

    problems: list[str] = field(default_factory=list)
    pending: list[_AssetFile] = field(default_factory=list)


def verify_catalog(
    catalog_json: Path,
    *,
    root: Path | None = None,
    external: Iterable[Path] = (),
    schema_dir: Path | None = None,
    checksums: bool = True,
    workers: int | None = None,
) -> VerifyReport:
    """Verify the catalog, collection or item at ``catalog_json`` and all it links to.

    A catalog is walked through its child and item links; an item (given alone or
    reached) also through its ``derived_from`` links, so verifying one map item checks
    its whole lineage.

    Args:
        catalog_json: a ``catalog.json``, ``collection.json`` or item JSON.
        root: the delivery every local href must stay inside (default: the run root above
            ``catalog_json``, see :func:`sporbar.stac.hrefs.run_root`, else its folder).
        external: folders outside the delivery that hrefs may point into (a Sentinel archive
            the ``local`` source indexed in place). Only the caller can name them: a
            catalog cannot allow itself to point outside, so a hostile delivery stays refused.
        schema_dir: offline schema bundle (default: the one shipped in the package).
        checksums: compare asset checksums (hashes every file; sizes are always checked).
        workers: threads hashing asset files (default: one per CPU).

    Returns:
        The report; ``report.ok`` is False when anything is wrong.
    """
    start = Path(catalog_json).resolve()
    boundary = Path(root).resolve() if root else (run_root(start) or start.parent)
    report = VerifyReport(start=start, root=boundary, external=tuple(Path(p).resolve() for p in external))
    checker = _Checker(report, schema_dir, checksums)
    checked: list[_Checked] = []
    seen: set[Path] = {start}
    todo: deque[Path] = deque([start])
    while todo:
        path = todo.popleft()
        one = _Checked()
        checked.append(one)
        try:
            obj = read_json(path)
        except SporbarError as err:
            one.problems.append(str(err))
            continue
        for target in checker.check_object(path, obj, one):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    digests = _hash_files({a.target for c in checked for a in c.pending}, workers)
    for c in checked:
        bad = [a for a in c.pending if digests[a.target] != a.expected]
        c.problems += [f"{a.where} checksum mismatch (file {a.target})" for a in bad]
        report.problems += c.problems
    return report


def _hash_files(files: Iterable[Path], workers: int | None) -> dict[Path, str]:
    """sha2-256 multihash of each file (or folder), in parallel: hashlib lets go of the GIL."""
    todo = sorted(files)
    n = workers or os.cpu_count() or 1
    if n == 1 or len(todo) < 2:
        return {f: sha256_multihash(f) for f in todo}
    with ThreadPoolExecutor(max_workers=n) as pool:
        return dict(zip(todo, pool.map(sha256_multihash, todo), strict=True))


class _RealPaths:
    """:func:`~sporbar.stac.hrefs.resolve_href` with a memo of the paths already resolved.

    verify resolves every href of every object (five or so per item), and ``realpath``
    lstat()s each component of each path every time; here each distinct folder or file is
    looked at once, so a catalog of 100,000 items costs a few stats per item. The walk works
    on ``str`` paths with ``os.path`` (not pathlib, hence its ``noqa: PTH``): at that count
    building a ``Path`` per component would cost more than the stats it saves.
    """

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}
        self._files: dict[str, bool] = {}

    def resolve(self, href: str, base_dir: Path) -> Path:
        """The real path of local ``href`` written relative to ``base_dir`` (a real folder)."""
        if href.startswith("file://"):
            href = urlparse(href).path
        if os.path.isabs(href):  # noqa: PTH117 - str paths: see the class docstring
            return Path(self._walk(os.sep, href))
        return Path(self._walk(str(base_dir), href))

    def is_file(self, path: Path) -> bool:
        """``path.is_file()``, asked once per path (every item links the same collection)."""
        key = str(path)
        found = self._files.get(key)
        if found is None:
            found = self._files[key] = path.is_file()
        return found

    def _walk(self, cur: str, rel: str) -> str:
        """Follow ``rel`` from the real folder ``cur`` one component at a time, as the OS does."""
        for part in rel.split(os.sep):  # noqa: PTH206 - str paths: see the class docstring
            if part in ("", "."):
                continue
            if part == "..":  # the parent of the real folder
                cur = os.path.dirname(cur)  # noqa: PTH120 - str paths: see the class docstring
                continue
            nxt = os.path.join(cur, part)  # noqa: PTH118 - str paths: see the class docstring
            real = self._memo.get(nxt)
            if real is None:
                real = self._memo[nxt] = os.path.realpath(nxt) if os.path.islink(nxt) else nxt  # noqa: PTH114 - str paths
            cur = real
        return cur


class _Checker:
    """Checks one object at a time; knows the delivery root and the settings."""

    def __init__(self, report: VerifyReport, schema_dir: Path | None, checksums: bool) -> None:
        self.report = report
        self.schema_dir = schema_dir
        self.checksums = checksums
        self.paths = _RealPaths()
        self._roots = [str(report.root)] + [str(p) for p in report.external]

    def local_target(self, path: Path, what: str, href: str, out: _Checked) -> Path | None:
        """The file a local ``href`` of ``path`` points to, or None (problem noted) when it leaves the delivery.

        A target outside the delivery is never opened.
        """
        target = self.paths.resolve(href, path.parent)
        text = str(target)
        if any(text == root or text.startswith(root + os.sep) for root in self._roots):
            return target
        allowed = "" if not self.report.external else " or the external folders named"
        out.problems.append(
            f"{path}: {what} href {href!r} points outside the delivery {self.report.root}{allowed} "
            "(a delivered catalog must not point outside itself; not opened; if it is an archive "
            "indexed in place, name it with --external DIR)"
        )
        return None

    def is_external(self, target: Path) -> bool:
        """True when ``target`` (already checked by :meth:`local_target`) is in an external folder."""
        text, root = str(target), self._roots[0]
        return not (text == root or text.startswith(root + os.sep))

    def check_object(self, path: Path, obj: dict[str, Any], out: _Checked) -> list[Path]:
        """Check one object into ``out``; return the linked STAC files to walk into."""
        kind = obj.get("type")
        if kind == "Catalog":
            self.report.n_catalogs += 1
        elif kind == "Collection":
            self.report.n_collections += 1
        elif kind == "Feature":
            self.report.n_items += 1
        try:
            problems = validate_dict(obj, schema_dir=self.schema_dir)
        except SporbarError as err:
            problems = [str(err)]
        out.problems += [f"{path}: invalid STAC: {p}" for p in problems]

        walk: list[Path] = []
        via: Path | None = None
        for link in obj.get("links", []):
            rel, href = link.get("rel", "?"), link.get("href", "")
            if rel == "self" or not is_local_href(href):
                continue
            self.report.n_links += 1
            target = self.local_target(path, f"{rel} link", href, out)
            if target is None:
                continue
            if not self.paths.is_file(target):
                out.problems.append(f"{path}: {rel} link {href!r} is broken (no file {target})")
            elif rel in WALK_RELS:
                walk.append(target)
            elif rel == ext.VIA and kind == "Feature":
                via = target

        if kind == "Feature":
            props = obj.get("properties", {})
            out.problems += [
                f"{path}: property {key!r} missing (provenance not recorded)"
                for key in REQUIRED_ITEM_PROPERTIES
                if not props.get(key)
            ]
        if kind in ("Feature", "Collection"):  # a collection's own assets (the map tile index)
            assets = obj.get("assets", {})
            for key in sorted(assets):
                self.check_asset(path, obj.get("id", "?"), key, assets[key], out)
        if kind == "Feature" and via is not None:
            self.check_source_item(path, obj, via, out)
        return walk

    def check_asset(self, path: Path, item_id: str, key: str, asset: dict[str, Any], out: _Checked) -> None:
        """Check one asset's href, file, size and (later, in parallel) checksum."""
        href = asset.get("href", "")
        if not is_local_href(href):
            self.report.n_remote_assets += 1
            self.report.remote_assets.append(f"{path}: item {item_id!r} asset {key!r} href {href!r}")
            return
        where = f"{path}: asset {key!r}"
        target = self.local_target(path, f"item {item_id!r} asset {key!r}", href, out)
        if target is None:
            return
        self.report.n_assets += 1
        self.report.n_external_assets += self.is_external(target)
        try:
            st = target.stat()
        except FileNotFoundError:
            out.problems.append(f"{where} file missing ({target})")
            return
        expected = asset.get(ext.FILE_CHECKSUM)
        if expected is None:
            out.problems.append(f"{where} has no {ext.FILE_CHECKSUM} (file {target})")
        size = asset.get(ext.FILE_SIZE)
        if size is not None and size != (actual := size_of(target) if stat.S_ISDIR(st.st_mode) else st.st_size):
            out.problems.append(f"{where} size mismatch (file {target}: {actual} bytes, item says {size})")
        if expected is None or not self.checksums:
            return
        if not str(expected).startswith(SHA256_MULTIHASH_PREFIX):
            out.problems.append(f"{where} checksum {expected!r} is not a sha2-256 multihash; cannot verify")
            return
        out.pending.append(_AssetFile(where, target, str(expected)))

    def check_source_item(self, path: Path, copy: dict[str, Any], source_path: Path, out: _Checked) -> None:
        """The item at the data location must record what its catalog copy records."""
        try:
            source = read_json(source_path)
        except SporbarError as err:
            out.problems.append(f"{path}: via link: {err}")
            return
        mine, theirs = copy.get("assets", {}), source.get("assets", {})
        if source.get("id") != copy.get("id") or set(mine) != set(theirs):
            out.problems.append(
                f"{path}: the item it was copied from ({source_path}) has id {source.get('id')!r} and assets "
                f"{sorted(theirs)}; the catalog copy has {copy.get('id')!r} and {sorted(mine)}"
            )
            return
        for key in sorted(mine):
            a, b = mine[key], theirs[key]
            same_file = not is_local_href(b.get("href", "")) or self.paths.resolve(
                b["href"], source_path.parent
            ) == self.paths.resolve(a.get("href", ""), path.parent)
            for field_name in (ext.FILE_CHECKSUM, ext.FILE_SIZE):
                if a.get(field_name) != b.get(field_name):
                    out.problems.append(
                        f"{path}: asset {key!r}: the item at the data location ({source_path}) records "
                        f"{field_name} {b.get(field_name)!r}, the catalog copy {a.get(field_name)!r} "
                        "(changed after publishing)"
                    )
            if not same_file:
                out.problems.append(
                    f"{path}: asset {key!r}: the item at the data location ({source_path}) points at "
                    f"{b.get('href')!r}, another file than the catalog copy"
                )
