"""The ``manifest.safe`` of a SAFE product (Sentinel-1 and -2): its files, their sizes and MD5s.

Every data object of the manifest's ``dataObjectSection`` names a file (``fileLocation``),
its representation (``repID``), and in its ``byteStream`` the file's size and MD5 as the
ground segment wrote it. :func:`check_listed` holds files to that, so that a band cut short
or corrupted in an archive is refused instead of recorded with its checksum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sporbar.errors import MissingInputError
from sporbar.fetch.checksums import file_digest
from sporbar.fetch.errors import IntegrityError
from sporbar.fetch.xmltools import find_all, find_first, parse_xml

MANIFEST = "manifest.safe"


@dataclass(frozen=True)
class ListedFile:
    """One file of the manifest's ``dataObjectSection``.

    Attributes:
        path: the file (absolute when the SAFE folder was given absolute).
        rep_id: its representation, e.g. ``s1Level1CalibrationSchema``.
        size: its size in bytes, if the manifest says.
        md5: its MD5 (lowercase hex), if the manifest says.
    """

    path: Path
    rep_id: str
    size: int | None
    md5: str | None


def manifest_of(safe_dir: Path, what: str) -> Path:
    """The ``manifest.safe`` of the SAFE folder ``safe_dir`` (a ``what`` product, for messages).

    Raises:
        MissingInputError: the folder or its manifest does not exist.
    """
    safe = Path(safe_dir)
    if not safe.is_dir():
        raise MissingInputError(f"{safe}: SAFE folder not found")
    manifest = safe / MANIFEST
    if not manifest.is_file():
        raise MissingInputError(f"{safe}: no {MANIFEST} (not a complete {what} SAFE product; re-download it)")
    return manifest


def listed_files(manifest: Path) -> list[ListedFile]:
    """The files the manifest lists, in its order.

    Raises:
        MissingInputError, InputDataError: the manifest is missing or not XML.
    """
    root = parse_xml(manifest)
    out = []
    for obj in find_all(root, "dataObject"):
        loc = find_first(obj, "fileLocation", manifest, required=False)
        href = (loc.get("href") if loc is not None else None) or ""
        if not href:
            continue
        stream = find_first(obj, "byteStream", manifest, required=False)
        size = stream.get("size") if stream is not None else None
        md5 = next((c.text for c in find_all(obj, "checksum") if (c.get("checksumName") or "").upper() == "MD5"), None)
        out.append(ListedFile(
            path=manifest.parent / href.removeprefix("./"),
            rep_id=obj.get("repID", ""),
            size=int(size) if size and size.isdigit() else None,
            md5=md5.strip().lower() if md5 and md5.strip() else None,
        ))
    return out


def check_listed(manifest: Path, paths: Iterable[Path]) -> None:
    """Hold each of ``paths`` that the manifest lists to the size and MD5 it states.

    Files the manifest does not list (or lists without size and MD5) pass unchecked.

    Raises:
        IntegrityError: a file's size or MD5 differs (names the file and both values).
    """
    listed = {f.path.resolve(): f for f in listed_files(manifest)}
    for path in sorted({Path(p).resolve() for p in paths}):
        f = listed.get(path)
        if f is None or not path.is_file():
            continue
        size = path.stat().st_size
        if f.size is not None and size != f.size:
            raise IntegrityError(
                f"{path}: {size} bytes, but {manifest} says {f.size}: the file is truncated or corrupt; "
                "fetch the product again from its source"
            )
        if f.md5 is not None and (digest := file_digest(path, "md5")) != f.md5:
            raise IntegrityError(
                f"{path}: MD5 {digest}, but {manifest} says {f.md5}: the file is corrupt; "
                "fetch the product again from its source"
            )
