"""sporbar: a traceable remote-sensing pipeline for land-ecology mapping in Norway.

Every intermediate product and every trained model is recorded as a STAC item,
so any map can be traced back to its raw Sentinel and lidar inputs.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sporbar")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
