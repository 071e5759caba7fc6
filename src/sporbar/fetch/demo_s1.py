"""Sentinel-1 GRD from the demo source: copy a SAFE product into raw/ and record its raw item.

The same copy as the demo Sentinel-2 source (:func:`sporbar.fetch.demo_s2.fetch`), with the
Sentinel-1 reader and item builder; the demo archive lists its ``sentinel-1/`` products.
"""

from __future__ import annotations

from functools import partial

from sporbar.fetch import demo_archive
from sporbar.fetch.demo_s2 import fetch
from sporbar.fetch.missions import SENTINEL1
from sporbar.fetch.source import Source

SOURCE = Source(
    mission="sentinel1",
    kind="demo",
    search=None,
    fetch=partial(fetch, mission=SENTINEL1),
    demo_listing=partial(demo_archive.listing, mission="sentinel1"),
)
