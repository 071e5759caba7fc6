"""A file is hashed once per run root while its stat is unchanged; any rewrite is hashed again."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sporbar.checksum_cache import cached_sha256
from sporbar.io import sha256_multihash


def _entries(cache: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(cache.glob("*.json"))]


def test_first_call_hashes_and_remembers(tmp_path: Path) -> None:
    f, cache = tmp_path / "band.jp2", tmp_path / "cache"
    f.write_bytes(b"x" * 1000)
    assert cached_sha256(f, cache) == sha256_multihash(f)
    [entry] = _entries(cache)
    assert entry["path"] == str(f.resolve()) and entry["checksum"] == sha256_multihash(f)


def test_unchanged_file_is_not_hashed_again(tmp_path: Path) -> None:
    f, cache = tmp_path / "band.jp2", tmp_path / "cache"
    f.write_bytes(b"x" * 1000)
    cached_sha256(f, cache)
    # prove the entry is what answers: a planted checksum for the same stat comes back
    [entry_file] = sorted(cache.glob("*.json"))
    d = json.loads(entry_file.read_text())
    entry_file.write_text(json.dumps({**d, "checksum": "1220planted"}))
    assert cached_sha256(f, cache) == "1220planted"


def test_rewrite_with_same_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    f, cache = tmp_path / "band.jp2", tmp_path / "cache"
    f.write_bytes(b"x" * 1000)
    before = cached_sha256(f, cache)
    st = f.stat()
    f.write_bytes(b"y" * 1000)  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime set back: ctime still moves
    after = cached_sha256(f, cache)
    assert after != before and after == sha256_multihash(f)


def test_no_cache_and_unwritable_cache_still_hash(tmp_path: Path) -> None:
    f = tmp_path / "band.jp2"
    f.write_bytes(b"z" * 10)
    assert cached_sha256(f, None) == sha256_multihash(f)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    assert cached_sha256(f, blocker / "checksums") == sha256_multihash(f)


def test_folders_are_always_hashed(tmp_path: Path) -> None:
    store, cache = tmp_path / "cube.zarr", tmp_path / "cache"
    store.mkdir()
    (store / "0.0").write_bytes(b"a")
    first = cached_sha256(store, cache)
    (store / "0.0").write_bytes(b"b")  # the folder's own stat need not change
    assert cached_sha256(store, cache) != first
    assert not cache.exists()
