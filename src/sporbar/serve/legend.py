"""The class legend of a map as a tile colormap and as STAC renders.

The colours come from the classification extension (``classification:classes``, field
``color_hint``: ``RRGGBB`` hex), which ``sporbar predict`` writes on the ``classes`` asset
from ``classes[].color`` of the config. The renders are the STAC render extension's objects
that titiler turns into tile URLs and WMTS layers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

CLASSES_KEY: Final = "classification:classes"
#: name of the render (and WMTS layer suffix) that draws an asset's classes in legend colours
RENDER_SUFFIX: Final = "legend"


def class_colormap(classes: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Pixel value -> ``#RRGGBB`` of every class with a colour hint.

    Args:
        classes: ``classification:classes`` objects (``value``, ``color_hint``).

    Returns:
        The colormap, sorted by value; classes without a colour hint are left out (drawn transparent).
    """
    cmap = {}
    for c in classes:
        hint = str(c.get("color_hint") or "").lstrip("#")
        if len(hint) == 6 and all(ch in "0123456789abcdefABCDEF" for ch in hint):
            cmap[int(c["value"])] = "#" + hint.upper()
    return dict(sorted(cmap.items()))


def legend_renders(assets: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One render per asset that carries classification classes with colours.

    Args:
        assets: a STAC item's (or collection's ``item_assets``) assets, by key.

    Returns:
        ``{"<key>-legend": {"assets": [key], "colormap": {...}, "title": ...}}`` (the render
        extension's fields); empty when no asset has coloured classes.
    """
    renders = {}
    for key, asset in sorted(assets.items()):
        cmap = class_colormap(asset.get(CLASSES_KEY) or [])
        if cmap:
            renders[f"{key}-{RENDER_SUFFIX}"] = {
                "title": f"{asset.get('title') or key} in legend colours",
                "assets": [key],
                "colormap": {str(value): colour for value, colour in cmap.items()},
            }
    return renders


def render_query(render: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The tile query parameters of a render (titiler's names: ``assets``, ``colormap`` as JSON)."""
    query: dict[str, str | list[str]] = {"assets": list(render["assets"])}
    if "colormap" in render:
        query["colormap"] = json.dumps(render["colormap"], sort_keys=True, separators=(",", ":"))
    return query
