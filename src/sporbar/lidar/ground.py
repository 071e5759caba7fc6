"""Ground classification of delivery files that have none: the cloth simulation filter (CSF).

A national delivery is normally classified (ASPRS 2 ground); some are not, or carry only a
token ground class. Such a file (ground-class share below ``lidar.ground_filter.min_ground_share``,
estimated from evenly spaced samples of the whole file, so every tile decides the same for
the same file) is classified whole with CSF (Zhang et al. 2016, the ``cloth-simulation-filter``
package): the cloth is dropped on the inverted cloud, and points within ``class_threshold``
of it are ground. The whole file is filtered (not the tile's part of it), so a point is
classified the same whichever tile reads it: the products stay seamless at tile edges.
Memory for such a file is its points (a delivery tile, not the output tile).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import laspy
import numpy as np

#: what the item says was run
METHOD = "cloth simulation filter (CSF, Zhang et al. 2016)"
#: the class a ground point gets, and a ground-class point CSF rejects
GROUND_CLASS, UNCLASSIFIED = 2, 1
#: points sampled (in evenly spaced runs) to estimate a file's ground share: 16,000 put a share of 2 %
#: within +-0.2 % (two standard errors); each run costs a seek (0.3 ms), so few short runs
SAMPLE_RUNS, SAMPLE_RUN_POINTS = 16, 1_000
LAZ_CHUNK = 50_000


@dataclass(frozen=True)
class GroundFilter:
    """The CSF parameters (``lidar.ground_filter``) and when it runs."""

    min_ground_share: float = 0.02
    cloth_resolution: float = 0.5
    rigidness: int = 3
    class_threshold: float = 0.5
    time_step: float = 0.65
    iterations: int = 500
    slope_smooth: bool = True

    @classmethod
    def from_config(cls, lidar: Mapping[str, Any]) -> GroundFilter:
        """From the config's ``lidar`` section (defaults filled in)."""
        return cls(**lidar["ground_filter"])

    def parameters(self) -> dict[str, Any]:
        """The parameters as the item records them (with the package version)."""
        return {**asdict(self), "software": f"cloth-simulation-filter {version('cloth-simulation-filter')}"}


def ground_share(path: Path, ground_codes: tuple[int, ...]) -> float:
    """Share of ground-class points of a LAS/LAZ file, from evenly spaced runs of points.

    Only the classification is decompressed where the format allows (LAZ 1.4 layers); at most
    ``SAMPLE_RUNS * SAMPLE_RUN_POINTS`` points are read, always the same ones for a file.
    """
    sel = laspy.DecompressionSelection.XY_RETURNS_CHANNEL | laspy.DecompressionSelection.CLASSIFICATION
    # the single-threaded decoder: the parallel one's seek costs several times more CPU
    backend = laspy.LazBackend.Lazrs if laspy.LazBackend.Lazrs.is_available() else None
    with laspy.open(str(path), decompression_selection=sel, laz_backend=backend) as reader:
        n = int(reader.header.point_count)
        if n == 0:
            return 1.0
        starts = np.linspace(0, max(n - SAMPLE_RUN_POINTS, 0), SAMPLE_RUNS).astype(np.int64)
        # at the starts of LAZ chunks (50,000 points by default): a seek inside one decodes up to it
        starts = np.unique(starts // LAZ_CHUNK * LAZ_CHUNK)
        ground = seen = 0
        for s in starts.tolist():
            reader.seek(int(s))
            cls = np.asarray(reader.read_points(SAMPLE_RUN_POINTS).classification)
            ground += int(np.isin(cls, ground_codes).sum())
            seen += int(cls.size)
    return ground / max(seen, 1)


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the C++ library's progress lines (printed to file descriptor 1, not sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def classify_ground(x: np.ndarray, y: np.ndarray, z: np.ndarray, params: GroundFilter) -> np.ndarray:
    """Boolean mask of the ground points among (x, y, z) in metres, by CSF.

    Args:
        x: easting of each point, metres (a projected CRS).
        y: northing, metres.
        z: height, metres.
        params: the CSF parameters.

    Returns:
        True where CSF puts a point within ``class_threshold`` of the cloth.
    """
    import CSF  # the compiled filter: imported only when a file needs it

    mask = np.zeros(x.size, bool)
    if x.size < 3:
        return mask
    csf = CSF.CSF()
    p = csf.params
    p.bSloopSmooth = params.slope_smooth
    p.cloth_resolution = params.cloth_resolution
    p.rigidness = params.rigidness
    p.class_threshold = params.class_threshold
    p.time_step = params.time_step
    p.interations = params.iterations  # sic: the library's spelling
    # relative to the lower-left point: CSF works in float, national coordinates lose centimetres
    csf.setPointCloud(np.column_stack([x - x.min(), y - y.min(), z]).astype(np.float64))
    ground, other = CSF.VecInt(), CSF.VecInt()
    with _quiet_stdout():
        csf.do_filtering(ground, other, exportCloth=False)
    mask[np.asarray(ground, dtype=np.int64)] = True
    return mask
