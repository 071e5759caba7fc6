"""sporbar: a traceable remote-sensing pipeline for land-ecology mapping in Norway.

Every intermediate product and every trained model is recorded as a STAC item,
so any map can be traced back to its raw Sentinel and lidar inputs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "open_cube"]


def __getattr__(name: str) -> Any:
    # Both are loaded on first use: importlib.metadata costs more than the rest of
    # `sporbar --help`, and open_cube pulls in xarray and dask.
    if name == "open_cube":
        from sporbar.ard.mosaic import open_cube

        return open_cube
    if name != "__version__":
        raise AttributeError(f"module 'sporbar' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("sporbar")
    except PackageNotFoundError:  # running from a source tree without install
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
