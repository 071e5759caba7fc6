"""Analysis-ready Sentinel-2 data on the tile grid.

One job per module: ``load`` (raw items + grid -> lazy cube), ``mask`` (SCL),
``composite`` (period medians and indices), ``write`` (Zarr cube and COGs, the only
place that computes) and ``run`` (the step, ``make_ard``); the item is built by
``sporbar.stac.items.ard``.
Import the module you need; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
