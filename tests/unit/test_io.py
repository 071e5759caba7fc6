"""Atomic writes and checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sporbar.errors import OutputExistsError
from sporbar.io import atomic_path, check_writable, sha256_multihash, size_of, write_json_atomic


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_rewrite_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "a": 1\n}\n'


def test_directory_replace(tmp_path: Path) -> None:
    target = tmp_path / "cube.zarr"
    for value in (b"1", b"2"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "chunk").write_bytes(value)
    assert (target / "chunk").read_bytes() == b"2"
    assert size_of(target) == 1


def test_multihash(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"hello")
    assert sha256_multihash(f) == "1220" + hashlib.sha256(b"hello").hexdigest()
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a").write_bytes(b"x")
    first = sha256_multihash(d)
    (d / "sub" / "a").write_bytes(b"y")
    assert sha256_multihash(d) != first


def test_check_writable(tmp_path: Path) -> None:
    f = tmp_path / "x"
    check_writable(f, overwrite=False)
    f.write_text("")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_writable(f, overwrite=False)
    check_writable(f, overwrite=True)
