"""A tile's points cut into row strips on disk, so a tile is processed strip by strip in bounded memory.

The points are read once, in chunks; of each chunk's used points (class role not noise or
unknown, not withheld unless kept) those a strip needs are appended to the file of every
strip whose rows, widened by the buffer, hold them: the first returns (DSM, CHM, metrics)
and the TIN candidates, the lowest ground point of each fine cell in the chunk (the strip
thins them again across chunks): 27 bytes a point (x, y, z as float64, role, first-return
and TIN flags). Every used point inside the tile is counted per grid cell here (density),
so the others need not be kept. A strip is then loaded alone (:meth:`StripSpill.load`),
with its buffer, so the surfaces computed on it are the same at strip edges as inside. A
tile in one strip stays in memory (it holds at most ``lidar.strip_points`` points). The
points left out are counted here, those inside the tile only (``sporbar:excluded_points``).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sporbar.lidar import spill_kernels
from sporbar.lidar.classes import Excluded, PointClasses, Role
from sporbar.lidar.read import Points
from sporbar.lidar.tin import lowest_per_cell

#: one spilled point
RECORD = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("role", "u1"), ("first", "u1"), ("tin", "u1")])


@dataclass
class StripSpill:
    """Row strips of a tile on disk.

    Attributes:
        bbox: the tile (minx, miny, maxx, maxy), metres.
        strip_height: metres of tile rows per strip (a multiple of the grid resolution).
        buffer: metres of points kept around each strip (and the tile).
        classes: the use of each class.
        res: the grid's cell size (m): used points are counted per cell (:attr:`counts`).
        fine_res: the fine models' cell size (m): the ground is thinned to the lowest point per fine cell.
        folder: where the strip files go (a temporary folder by default, removed by :meth:`close`).
        points: used points inside the tile.
        excluded: points inside the tile left out, by reason.
        counts: used points per grid cell, (rows, cols) of the tile, int64.
    """

    bbox: tuple[float, float, float, float]
    strip_height: float
    buffer: float
    classes: PointClasses
    res: float
    fine_res: float
    folder: Path | None = None
    points: int = 0
    excluded: Excluded = field(default_factory=Excluded)
    counts: np.ndarray = field(init=False, repr=False)
    _roles: np.ndarray = field(init=False, repr=False)
    _own_folder: bool = field(init=False, repr=False, default=False)
    _memory: list[np.ndarray] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        """Make the folder, the class role table and the counts."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="sporbar-lidar-strips-"))
            self._own_folder = True
        self._roles = self.classes.roles()
        minx, miny, maxx, maxy = self.bbox
        self.counts = np.zeros((round((maxy - miny) / self.res), round((maxx - minx) / self.res)), np.int64)

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
        pad = math.ceil(self.buffer / self.fine_res) * self.fine_res  # the strips' fine grids start there
        fine = np.array([minx - pad, maxy + pad, self.fine_res, math.ceil((maxx - minx + 2 * pad) / self.fine_res) + 2])
        # contiguous (a chunk's dimensions may be views into its records): one compiled kernel for all
        cls, ret, held = (np.ascontiguousarray(a) for a in (pts.classification, pts.return_number, pts.withheld))
        flags, cell, (noise, withheld, used, unknown) = spill_kernels.spill_flags(
            pts.x, pts.y, cls, ret, held, self._roles,
            np.array(self.bbox, np.float64), self.res, self.counts, self.classes.keep_withheld, fine)
        self.excluded.noise += int(noise)
        self.excluded.withheld += int(withheld)
        self.points += int(used)
        if unknown:
            inside = (pts.x >= minx) & (pts.x < maxx) & (pts.y > miny) & (pts.y <= maxy)
            self.excluded.add_unknown(pts.classification[inside & (self._roles[pts.classification] == Role.UNKNOWN)])
        # the TIN candidates: the lowest used ground point of each fine cell
        ground = np.flatnonzero(cell >= 0)
        flags[ground[lowest_per_cell(cell[ground], pts.x[ground], pts.y[ground], pts.z[ground])]] |= spill_kernels.TIN
        strips = np.array([maxy, self.buffer, self.strip_height, self.count], np.float64)
        rec, start = spill_kernels.spill_records(flags, pts.x, pts.y, pts.z, cls, self._roles, strips,
                                           np.empty(0, RECORD))
        for strip in range(self.count):
            if start[strip + 1] > start[strip]:
                self._append(self.path(strip), rec[start[strip]:start[strip + 1]])

    def _append(self, path: Path, records: np.ndarray) -> None:
        """Append records to a strip file (kept in memory if the tile is one strip).

        A write error names the file (the CLI reports ENOSPC and the like).
        """
        if self.count == 1:
            self._memory.append(records)
            return
        try:
            with path.open("ab") as f:
                f.write(records.data)  # contiguous: no copy
        except OSError as err:
            raise OSError(err.errno, err.strerror, str(path)) from err

    def load(self, strip: int) -> np.ndarray:
        """The points of strip ``strip`` and its buffer (:data:`RECORD` array; empty if none)."""
        if self.count == 1:
            return np.concatenate(self._memory) if self._memory else np.empty(0, RECORD)
        p = self.path(strip)
        return np.fromfile(p, RECORD) if p.exists() else np.empty(0, RECORD)

    def close(self) -> None:
        """Remove the strip files (and the folder, if it was made here)."""
        self._memory.clear()
        if self.folder is not None and self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
