"""Analysis-ready Sentinel-2 data on the tile grid.

One job per module: ``load`` (raw items + grid -> lazy cube, with odc-stac), ``warp``
(the odc-stac reader whose pixels do not depend on chunking), ``mask`` (SCL),
``composite`` (period medians, indices and counts of a block), ``write`` (Zarr cube, then
the COGs in one pass over it: the only place that computes) and ``run`` (the step,
``make_ard``); the item is built by ``sporbar.stac.items.ard``.
Import the module you need; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
