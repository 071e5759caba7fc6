"""The true class of the demo landscape at any point: reference labels for the demo's accuracy.

The landscape depends only on ``area.bbox`` and ``demo.seed`` (``make_landscape``), so the
truth is rebuilt here, not stored: the demo source stays as it was. A point is labelled with
the class of the landscape cell holding it; landscape cells are 10 m and aligned to whole
10 m, like the national grid's pixels, so a pixel centre falls inside exactly one cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sporbar.config import Config
from sporbar.demo.landscape import LANDSCAPE_RES, DemoClass, make_landscape
from sporbar.errors import ConfigError, InputDataError


def demo_truth(cfg: Config) -> Callable[[np.ndarray, np.ndarray], list[str]]:
    """A labeller: (x, y) arrays in EPSG:25833 -> the demo class name of each point.

    Raises:
        ConfigError: the config's sources are not the demo (there is no synthetic truth).
    """
    if cfg.data["sources"]["sentinel2"]["source"] != "demo":
        raise ConfigError(
            f"{cfg.source}: key accuracy/reference: 'demo' needs sources.sentinel2.source 'demo'; "
            "with real data give the interpreted sample GeoPackage"
        )
    landscape = make_landscape(tuple(cfg.data["area"]["bbox"]), seed=int(cfg.data["demo"]["seed"]))
    t = landscape.transform

    def label(xs: np.ndarray, ys: np.ndarray) -> list[str]:
        cols = np.floor((np.asarray(xs) - t.c) / LANDSCAPE_RES).astype(np.int64)
        rows = np.floor((t.f - np.asarray(ys)) / LANDSCAPE_RES).astype(np.int64)
        ny, nx = landscape.shape
        off = (rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise InputDataError(
                f"point ({xs[i]}, {ys[i]}) lies outside the demo landscape {landscape.bounds}; "
                "the demo truth covers the config's area and a margin only"
            )
        return [DemoClass(int(v)).name for v in landscape.classes[rows, cols]]

    return label


__all__ = ["demo_truth"]
