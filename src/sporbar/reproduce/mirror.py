"""Mirror a run's inputs into the re-run folder: hard links, or copies across file systems."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sporbar.reproduce.steps import PathMap


class SourceMirror(PathMap):
    """A PathMap that mirrors non-item sources (e.g. the demo source folder) on first use."""

    def to_target(self, recorded: str) -> str:
        """The recorded path, mapped into the re-run folder and mirrored there if not yet."""
        found = self.locate(recorded)
        target = self.target / found.relative_to(self.root)
        if not target.exists():
            mirror(found, target)
        return str(target)


def mirror(src: Path, dst: Path) -> None:
    """Hard-link (or copy, across file systems) ``src`` (file or folder) to ``dst``; keep an existing ``dst``."""
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_file():
        _link_or_copy(str(src), str(dst))
        return
    shutil.copytree(src, dst, copy_function=_link_or_copy, symlinks=False, ignore=shutil.ignore_patterns(".*.tmp"))


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
