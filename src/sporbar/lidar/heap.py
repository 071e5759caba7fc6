"""Keep freed memory in the process for reuse (glibc), so large numpy temporaries do not fault in afresh.

The lidar stage allocates and frees arrays of tens of megabytes per chunk and block. glibc
serves each from a fresh ``mmap`` and returns it on ``free``, so every one is faulted in and
zeroed by the kernel again: about a gigabyte of page faults per 10 M points, which cost as
much CPU time as the products' arithmetic on the shared machines measured here. With large
blocks taken from the heap and the heap not trimmed, freed blocks are reused. Peak memory is
unchanged (a peak is a peak); the resident size no longer drops back after it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_done = False


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from the heap and keep freed memory (once per process).

    Returns:
        True if set (glibc), False where there is no glibc ``mallopt`` (nothing changes).
    """
    global _done  # noqa: PLW0603 - a process-wide setting, made once
    if _done:
        return True
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    log.debug("glibc keeps freed memory: %s", ok)
    _done = ok
    return ok
