"""Compiled lidar kernels: numba's ``njit`` with an on-disk cache that works in a read-only install.

numba compiles a kernel on its first call in a process (about a second each) and, with
``cache=True``, stores the machine code so later processes load it. Its own cache goes to
``__pycache__`` next to the source, else to the user's cache folder; in a container whose
install and home are read-only neither is writable, and numba would refuse to cache. So
unless ``NUMBA_CACHE_DIR`` is set, a writable folder is chosen here before the first kernel
is defined: numba's own where it can write, else ``$XDG_CACHE_HOME/sporbar/numba`` or
``~/.cache/sporbar/numba``, else ``<tmp>/sporbar-numba-<uid>``.

No fast-math and no parallel loops: the kernels do the floating-point operations of the numpy
code they replace, in the same order, so the products are the same bytes (and CPU time, the
measure of the lidar benchmark, does not fall with threads on a 2-core machine).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])
#: numba's settings (read when a cached kernel is defined)
_config: Any = numba.config


def _writable(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def first_writable(folders: Sequence[Path]) -> Path | None:
    """The first of ``folders`` where files can be made (made if missing); None if none."""
    return next((f for f in folders if _writable(f)), None)


def cache_dir() -> Path | None:
    """The folder numba caches the kernels in; None where no folder is writable (no cache).

    Sets ``numba.config.CACHE_DIR`` (and ``NUMBA_CACHE_DIR`` for child processes) when numba's
    own place is not writable and the variable is not set.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        _config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
        return Path(os.environ["NUMBA_CACHE_DIR"])
    own = Path(__file__).parent / "__pycache__"
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = first_writable([own, home / "sporbar" / "numba",
                             Path(tempfile.gettempdir()) / f"sporbar-numba-{os.getuid()}"])
    if folder is not None and folder != own:
        os.environ["NUMBA_CACHE_DIR"] = _config.CACHE_DIR = str(folder)
    return folder  # None: nowhere writable, the kernels are compiled in every process


#: where the compiled kernels are kept (None: not kept)
CACHE_DIR = cache_dir()


def njit(fn: F) -> F:
    """``fn`` compiled by numba (nopython, cached on disk where possible, no fast-math), typed as ``fn``."""
    return cast(F, numba.njit(cache=CACHE_DIR is not None, nogil=True)(fn))
