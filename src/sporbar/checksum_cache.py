"""sha2-256 multihashes of input files, remembered per run root so a file is hashed once.

The stages check each file they read against the checksum its item records (issue 12.7).
Many jobs read the same big files: every 20 km ARD tile of a granule reads all of its band
files, every lidar tile its neighbours' LAZ. Hashing them in full in every job would cost more
than the reads (a 30-tile granule: 30 hashes of each band file). So, as git's index and
Snakemake's mtime checks do, a file whose ``stat`` is unchanged since it was hashed is not
hashed again. The stat key includes ``st_ctime_ns``, which no user call can set back (``touch
-d`` and ``os.utime`` change it), so a file rewritten with its old size and mtime is still
hashed again.

Entries are one small JSON file per data file under ``<run root>/.sporbar/checksums/``,
written atomically, so concurrent jobs never see half an entry (two jobs hashing the same file
write the same entry). A root that cannot be written (a read-only copy of a delivery) just
means no cache. Folders (Zarr stores) are always hashed: their own stat does not change when a
file inside them does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from sporbar.errors import SporbarError
from sporbar.io import sha256_multihash, write_json_atomic

CACHE_SUBDIR = Path(".sporbar") / "checksums"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _entry_path(cache_dir: Path, path: Path) -> Path:
    return cache_dir / (hashlib.sha256(str(path).encode()).hexdigest()[:40] + ".json")


def cached_sha256(path: Path, cache_dir: Path | None) -> str:
    """The sha2-256 multihash of ``path``, from ``cache_dir`` when the file is unchanged since.

    Args:
        path: a file or folder.
        cache_dir: where entries are kept (``<run root>/.sporbar/checksums``); None: no cache.

    Returns:
        The multihash (hex, ``1220`` prefix), as :func:`sporbar.io.sha256_multihash`.
    """
    path = Path(path).resolve()
    st = path.stat()
    if cache_dir is None or path.is_dir():
        return sha256_multihash(path)
    entry = _entry_path(cache_dir, path)
    key = _stat_key(st)
    with contextlib.suppress(OSError, ValueError):
        d = json.loads(entry.read_text(encoding="utf-8"))
        if d.get("path") == str(path) and d.get("stat") == key:
            return str(d["checksum"])
    checksum = sha256_multihash(path)
    if _stat_key(path.stat()) == key:  # not changed while we read it
        # a cache that cannot be written (read-only root, full disk) is no cache, not an error
        with contextlib.suppress(OSError, SporbarError):
            write_json_atomic(entry, {"path": str(path), "stat": key, "checksum": checksum})
    return checksum
