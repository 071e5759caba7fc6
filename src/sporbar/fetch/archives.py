"""Product zips: checked readable, and extracted without letting any member escape its folder."""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sporbar.errors import InputDataError
from sporbar.fetch.checksums import CHUNK
from sporbar.fetch.errors import IntegrityError
from sporbar.io import atomic_path


def check_zip(path: Path) -> None:
    """Raise IntegrityError unless ``path`` is a zip whose members all read back (CRC)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise IntegrityError(f"{path.name}: not a readable zip ({err})") from err
    if bad is not None:
        raise IntegrityError(f"{path.name}: zip member {bad!r} fails its CRC check")


def safe_extract(zip_path: Path, target: Path, *, select: Callable[[str], bool] | None = None) -> list[Path]:
    """Extract ``zip_path`` into folder ``target`` (atomically); return the top-level entries.

    Every member is checked first: absolute paths, ``..`` components, drive letters and
    symbolic links are refused, so nothing can land outside ``target``.

    Args:
        zip_path: the zip.
        target: the folder to extract into (made if missing).
        select: extract only the file members whose name it accepts (default: all).

    Raises:
        InputDataError: naming the zip and the offending member (nothing is extracted).
    """
    zip_path, target = Path(zip_path), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise InputDataError(f"{zip_path}: not a zip file: {err}") from err
    with zf:
        tops: set[str] = set()
        for info in zf.infolist():
            name = info.filename
            mode = info.external_attr >> 16
            dest = (root / name).resolve()
            bad = (
                name.startswith(("/", "\\"))
                or re.match(r"^[A-Za-z]:", name)
                or ".." in re.split(r"[/\\]", name)
                or (dest != root and root not in dest.parents)
            )
            if bad:
                raise InputDataError(
                    f"{zip_path}: member {name!r} would be written outside {target}; refusing to "
                    "extract this archive (delete it and fetch it again from a trusted source)"
                )
            if stat.S_ISLNK(mode):
                raise InputDataError(f"{zip_path}: member {name!r} is a symbolic link; refusing to extract")
            tops.add(name.replace("\\", "/").split("/", 1)[0])
        out = []
        for top in sorted(tops):
            final = target / top
            members = [i for i in zf.infolist() if i.filename.replace("\\", "/").split("/", 1)[0] == top
                       and (select is None or i.is_dir() or select(i.filename))]
            with atomic_path(final) as tmp:
                tmp.mkdir()
                for info in members:
                    rel = info.filename.replace("\\", "/").split("/", 1)
                    sub = tmp / rel[1] if len(rel) > 1 and rel[1] else tmp
                    if info.is_dir():
                        sub.mkdir(parents=True, exist_ok=True)
                        continue
                    if len(rel) == 1:  # a file at the top level
                        shutil.rmtree(tmp)
                        with zf.open(info) as src, tmp.open("wb") as dst:
                            shutil.copyfileobj(src, dst, CHUNK)
                        continue
                    sub.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, sub.open("wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
            out.append(final)
        return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def extract_safe(zip_path: Path, name: str, folder: Path) -> Path:
    """Extract the zip of product ``name`` into ``folder``; return its ``<name>.SAFE`` folder there.

    Raises:
        InputDataError: the zip is unreadable, holds members outside its folder, or does not
            hold ``<name>.SAFE`` (whatever it held is removed again).
    """
    tops = safe_extract(zip_path, folder)
    safe = folder / f"{name}.SAFE"
    if safe not in tops:
        for t in tops:
            _remove(t)
        raise InputDataError(f"{zip_path}: zip holds {[t.name for t in tops]}, not {safe.name}")
    return safe


@contextmanager
def removed_on_failure(path: Path) -> Iterator[Path]:
    """Yield ``path``; if the block fails, delete it (so no half-described product stays in raw/)."""
    try:
        yield path
    except BaseException:
        _remove(path)
        raise


def _is_metadata(member: str) -> bool:
    return member.lower().endswith((".xml", ".safe"))


@contextmanager
def metadata_of(product: Path, name: str) -> Iterator[Path]:
    """The SAFE folder of a product to read its metadata from.

    A folder is its own; for a zip, a temporary copy of its metadata files (``manifest.safe``
    and the XML), removed afterwards.

    Raises:
        InputDataError: the zip is unreadable, holds members outside its folder, or lacks ``<name>.SAFE``.
    """
    if product.is_dir():
        yield product
        return
    with tempfile.TemporaryDirectory(prefix="sporbar-metadata-") as tmp:
        tops = safe_extract(product, Path(tmp), select=_is_metadata)
        safe = Path(tmp) / f"{name}.SAFE"
        if safe not in tops:
            raise InputDataError(f"{product}: zip holds {[t.name for t in tops]}, not {safe.name}")
        yield safe

