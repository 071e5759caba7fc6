"""Disk full, quota and read-only file systems: one line naming the path and what to do.

Regression (issue 12.6): OSError errno 28 and 30 from our code printed tracebacks, because
``cli.main`` caught only SporbarError. The end-to-end tests mount a real tmpfs (tiny or
read-only) in a private mount namespace (``unshare -rm``) and run the real command there.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _s2_fixtures import write_tiny_config

from sporbar.errors import OutputWriteError
from sporbar.io import atomic_path

SPORBAR = Path(sys.executable).parent / "sporbar"


def test_a_full_disk_inside_atomic_path_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out" / "model.joblib"
    with pytest.raises(OutputWriteError) as err, atomic_path(target), open("/dev/full", "wb") as f:  # noqa: PTH123
        f.write(b"x" * 100_000)
        f.flush()  # /dev/full answers every write with ENOSPC
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    assert str(err.value).startswith(f"{target}: cannot write: No space left on device; free space")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_only_write_failures_are_translated() -> None:
    assert OutputWriteError.of(FileNotFoundError(errno.ENOENT, "No such file", "x")) is None
    assert OutputWriteError.of(ValueError("x")) is None
    try:
        try:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), "/data/x.tif")
        except OSError as inner:
            raise RuntimeError("GDAL write failed") from inner
    except RuntimeError as outer:
        found = OutputWriteError.of(outer)
    assert found is not None and str(found).startswith("/data/x.tif: cannot write: Read-only file system")
    quota = OutputWriteError.of(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), "/nird/x")
    assert quota is not None and "/nird/x: cannot write" in str(quota) and "quota" in str(quota)


def _can_mount() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    r = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs `unshare -rm` (user and mount namespaces) to mount a tmpfs")
@pytest.mark.parametrize(("options", "words"), [
    ("size=32k", "No space left on device; free space there"),
    ("ro", "Read-only file system; set root (or -o) to a writable folder"),
])
def test_sporbar_on_a_full_or_read_only_file_system(tmp_path: Path, options: str, words: str) -> None:
    cfg = write_tiny_config(tmp_path / "cfg")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = mnt / "demo-source"
    script = f'mount -t tmpfs -o {options} tmpfs "{mnt}" && exec "{SPORBAR}" demo generate -c "{cfg}" -o "{out}"'
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: {out}") and words in last, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_a_file_in_the_way_of_the_output_folder_names_it(tmp_path: Path) -> None:
    # found by tests/reliability/bad_input.py: -o below a regular file gave a FileExistsError traceback
    blocker = tmp_path / "raw"
    blocker.write_text("a file\n")
    for target in (blocker / "item.json", blocker / "deeper" / "item.json"):
        with pytest.raises(OutputWriteError) as err, atomic_path(target):
            pass
        assert str(err.value).startswith(f"{target}: cannot make its folder {target.parent}: ")
        assert "a file is in the way of a folder on that path" in str(err.value)
    assert blocker.read_text() == "a file\n"
