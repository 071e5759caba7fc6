"""A tile's points cut into blocks, so a tile is processed block by block in bounded memory.

The points are read once, in chunks; of each chunk's used points (class role not noise or
unknown, not withheld unless kept) those a block needs are appended to every block whose
extent, widened by the buffer, holds them: the first returns (DSM, CHM, metrics) and the TIN
candidates, the lowest ground point of each fine cell in the chunk (the block thins them again
across chunks): 15 bytes a point (:data:`SPILLED`: x, y, z in whole millimetres as int32, x and
y from the tile's corner; role, first-return and TIN flags). Every
used point inside the tile is counted per grid cell here (density), so the others need not be
kept. A block is then loaded alone (:meth:`BlockSpill.load`), with its buffer, so the surfaces
computed on it are the same at block edges as inside. The points left out are counted here,
those inside the tile only (``sporbar:excluded_points``).

Blocks are rows of blocks across the tile, each row cut into columns (a tile wider than a block
holds is cut both ways, so the buffer stays a small share of a block). Records stay in memory
while they number at most ``memory_points``; past that, all go to one file per block (in
``folder``), so a tile of any size spills to disk and a small one never touches it.
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

#: one point as spilled: x and y in millimetres from the spill's origin, z in millimetres (int32: 2,000 km)
SPILLED = np.dtype([("x", "<i4"), ("y", "<i4"), ("z", "<i4"), ("role", "u1"), ("first", "u1"), ("tin", "u1")])


@dataclass
class BlockSpill:
    """Blocks of a tile, in memory or on disk.

    Attributes:
        bbox: the tile (minx, miny, maxx, maxy), metres.
        block_height: metres of tile rows per block (a multiple of the grid resolution).
        block_width: metres of tile columns per block (a multiple of the grid resolution).
        buffer: metres of points kept around each block (and the tile).
        classes: the use of each class.
        res: the grid's cell size (m): used points are counted per cell (:attr:`counts`).
        fine_res: the fine models' cell size (m): the ground is thinned to the lowest point per fine cell.
        memory_points: records kept in memory before the blocks go to files.
        folder: where the block files go (a temporary folder by default, removed by :meth:`close`).
        points: used points inside the tile.
        excluded: points inside the tile left out, by reason.
        counts: used points per grid cell, (rows, cols) of the tile, int64.
    """

    bbox: tuple[float, float, float, float]
    block_height: float
    block_width: float
    buffer: float
    classes: PointClasses
    res: float
    fine_res: float
    memory_points: int = 10_000_000
    folder: Path | None = None
    points: int = 0
    excluded: Excluded = field(default_factory=Excluded)
    counts: np.ndarray = field(init=False, repr=False)
    _roles: np.ndarray = field(init=False, repr=False)
    _own_folder: bool = field(init=False, repr=False, default=False)
    _memory: dict[int, list[np.ndarray]] | None = field(init=False, repr=False, default_factory=dict)
    _held: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        """Make the class role table and the counts."""
        self._roles = self.classes.roles()
        minx, miny, maxx, maxy = self.bbox
        self.counts = np.zeros((round((maxy - miny) / self.res), round((maxx - minx) / self.res)), np.int64)

    @property
    def origin(self) -> np.ndarray:
        """The whole millimetres the records' x and y count from: the tile's bottom left corner (int64)."""
        return np.array([round(self.bbox[0] * 1000), round(self.bbox[1] * 1000)], np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of blocks."""
        minx, miny, maxx, maxy = self.bbox
        return (max(1, math.ceil((maxy - miny) / self.block_height - 1e-9)),
                max(1, math.ceil((maxx - minx) / self.block_width - 1e-9)))

    @property
    def count(self) -> int:
        """Number of blocks (numbered row by row from the top left)."""
        rows, cols = self.shape
        return rows * cols

    @property
    def on_disk(self) -> bool:
        """Whether the blocks went to files."""
        return self._memory is None

    def path(self, block: int) -> Path:
        """The file of block ``block``."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="sporbar-lidar-blocks-"))
            self._own_folder = True
        return self.folder / f"block-{block:05d}.bin"

    def add(self, pts: Points) -> None:
        """Spill one chunk (points in the tile plus buffer, grid CRS)."""
        minx, miny, maxx, maxy = self.bbox
        pad = math.ceil(self.buffer / self.fine_res) * self.fine_res  # the blocks' fine grids start there
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
        if not spill_kernels.mark_lowest(cell, pts.x, pts.y, pts.z, flags):
            ground = np.flatnonzero(cell >= 0)
            lowest = ground[lowest_per_cell(cell[ground], pts.x[ground], pts.y[ground], pts.z[ground])]
            flags[lowest] |= spill_kernels.TIN
        rows, cols = self.shape
        layout = np.array([maxy, self.buffer, self.block_height, rows, minx, self.block_width, cols], np.float64)
        rec, start = spill_kernels.spill_records(flags, pts.x, pts.y, pts.z, cls, self._roles, layout,
                                                 self.origin, np.empty(0, SPILLED))
        if self._memory is not None and self._held + rec.size > self.memory_points:
            self._to_disk()
        for block in range(self.count):
            if start[block + 1] > start[block]:
                self._append(block, rec[start[block]:start[block + 1]])

    def _append(self, block: int, records: np.ndarray) -> None:
        """Append records to a block, in memory or its file.

        A write error names the file (the CLI reports ENOSPC and the like).
        """
        if self._memory is not None:
            self._memory.setdefault(block, []).append(records)
            self._held += records.size
            return
        path = self.path(block)
        try:
            with path.open("ab") as f:
                f.write(records.data)  # contiguous: no copy
        except OSError as err:
            raise OSError(err.errno, err.strerror, str(path)) from err

    def _to_disk(self) -> None:
        """Move the blocks held in memory to their files; later records go there too."""
        held, self._memory, self._held = self._memory or {}, None, 0
        for block in sorted(held):
            for records in held.pop(block):
                self._append(block, records)

    def load(self, block: int) -> np.ndarray:
        """The points of block ``block`` and its buffer (:data:`SPILLED` records; empty if none), once.

        x and y are millimetres from :attr:`origin`: a coordinate's metres are its whole millimetres
        over 1000, the same float in every tile and block (:func:`metres`).
        """
        if self._memory is not None:
            parts = self._memory.pop(block, [])
            self._held -= sum(p.size for p in parts)
            if len(parts) < 2:
                return parts[0] if parts else np.empty(0, SPILLED)
            # as bytes: numpy copies a packed record array field by field
            return np.concatenate([part.view(np.uint8) for part in parts]).view(SPILLED)
        p = self.path(block)
        return np.fromfile(p, SPILLED) if p.exists() else np.empty(0, SPILLED)

    def close(self) -> None:
        """Drop the blocks held in memory and remove the block files (and the folder, if it was made here)."""
        self._memory = {}
        self._held = 0
        if self.folder is not None and self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def metres(records: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y, z (float64 metres) of spilled records whose x and y count from ``origin`` (millimetres)."""
    return ((records["x"] + origin[0]) / 1000.0, (records["y"] + origin[1]) / 1000.0, records["z"] / 1000.0)
