"""A tile's points cut into row strips on disk, so a tile is processed strip by strip in bounded memory.

The points are read once, in chunks; each chunk's used points (class role not noise or
unknown, not withheld unless kept) are appended to the file of every strip whose rows,
widened by the buffer, hold them: 26 bytes a point (x, y, z as float64, role, first-return
flag). A strip is then loaded alone (:meth:`StripSpill.load`), with its buffer, so the
surfaces computed on it are the same at strip edges as inside. The points left out are
counted here, those inside the tile only (``sporbar:excluded_points``).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sporbar.lidar.classes import Excluded, PointClasses, Role
from sporbar.lidar.read import Points

#: one spilled point
RECORD = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("role", "u1"), ("first", "u1")])


@dataclass
class StripSpill:
    """Row strips of a tile on disk.

    Attributes:
        bbox: the tile (minx, miny, maxx, maxy), metres.
        strip_height: metres of tile rows per strip (a multiple of the grid resolution).
        buffer: metres of points kept around each strip (and the tile).
        classes: the use of each class.
        folder: where the strip files go (a temporary folder by default, removed by :meth:`close`).
        points: used points inside the tile.
        excluded: points inside the tile left out, by reason.
    """

    bbox: tuple[float, float, float, float]
    strip_height: float
    buffer: float
    classes: PointClasses
    folder: Path | None = None
    points: int = 0
    excluded: Excluded = field(default_factory=Excluded)
    _roles: np.ndarray = field(init=False, repr=False)
    _own_folder: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        """Make the folder and the class role table."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="sporbar-lidar-strips-"))
            self._own_folder = True
        self._roles = self.classes.roles()

    @property
    def count(self) -> int:
        """Number of strips."""
        return max(1, math.ceil((self.bbox[3] - self.bbox[1]) / self.strip_height - 1e-9))

    def path(self, strip: int) -> Path:
        """The file of strip ``strip`` (0 = the top)."""
        assert self.folder is not None
        return self.folder / f"strip-{strip:05d}.bin"

    def add(self, pts: Points) -> None:
        """Spill one chunk (points in the tile plus buffer, grid CRS)."""
        minx, miny, maxx, maxy = self.bbox
        role = self._roles[pts.classification]
        inside = (pts.x >= minx) & (pts.x < maxx) & (pts.y > miny) & (pts.y <= maxy)
        used = (role != Role.NOISE) & (role != Role.UNKNOWN)
        self.excluded.noise += int(np.count_nonzero(inside & (role == Role.NOISE)))
        if not self.classes.keep_withheld:
            held = used & pts.withheld
            self.excluded.withheld += int(np.count_nonzero(held & inside))
            used &= ~pts.withheld
        unknown = inside & (role == Role.UNKNOWN)
        if unknown.any():
            self.excluded.add_unknown(pts.classification[unknown])
        self.points += int(np.count_nonzero(used & inside))
        sel = np.flatnonzero(used)
        rec = np.empty(sel.size, RECORD)
        rec["x"], rec["y"], rec["z"] = pts.x[sel], pts.y[sel], pts.z[sel]
        rec["role"], rec["first"] = role[sel], pts.return_number[sel] == 1
        down = maxy - rec["y"]  # metres below the tile's top edge
        lo = np.clip(np.floor((down - self.buffer) / self.strip_height), 0, self.count - 1).astype(np.int64)
        hi = np.clip(np.floor((down + self.buffer) / self.strip_height), 0, self.count - 1).astype(np.int64)
        for d in range(int((hi - lo).max(initial=0)) + 1):
            s = lo + d
            mine = s <= hi
            order = np.argsort(s[mine], kind="stable")
            part, keys = rec[mine][order], s[mine][order]
            bounds = np.flatnonzero(np.diff(keys)) + 1
            starts = np.concatenate([[0], bounds])
            for a, b in zip(starts.tolist(), [*bounds.tolist(), part.size], strict=True):
                if b > a:
                    self._append(self.path(int(keys[a])), part[a:b])

    @staticmethod
    def _append(path: Path, records: np.ndarray) -> None:
        """Append records to a strip file; a write error names the file (the CLI reports ENOSPC and the like)."""
        try:
            with path.open("ab") as f:
                f.write(records.tobytes())
        except OSError as err:
            raise OSError(err.errno, err.strerror, str(path)) from err

    def load(self, strip: int) -> np.ndarray:
        """The points of strip ``strip`` and its buffer (:data:`RECORD` array; empty if none)."""
        p = self.path(strip)
        return np.fromfile(p, RECORD) if p.exists() else np.empty(0, RECORD)

    def close(self) -> None:
        """Remove the strip files (and the folder, if it was made here)."""
        if self.folder is not None and self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
