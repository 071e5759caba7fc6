"""A preview picture for every published collection (the card picture in STAC Browser).

A collection whose items carry a ``thumbnail`` asset (maps, ARD, lidar products) shows the
first item's thumbnail; any other collection shows its items' footprints, drawn as a small
PNG of the collection's extent (``preview.png`` beside ``collection.json``). Either way the
collection gets an asset ``thumbnail`` (role ``thumbnail``), which STAC Browser and the
STAC API show on the collection card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from sporbar.io import sha256_multihash_of
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, relative_href, resolve_href
from sporbar.stac.preview import MAX_SIZE, encode_png

PREVIEW_FILENAME: Final = "preview.png"
_FILL: Final = (33, 102, 172, 140)  # footprints: blue, partly transparent
_EDGE: Final = (8, 48, 107, 255)


def _item_thumbnail(members: Sequence[tuple[Mapping[str, Any], Path]], here: Path) -> dict[str, Any] | None:
    """The first member's thumbnail asset, its href relative to ``here`` (size and checksum kept)."""
    for doc, path in members:
        asset = (doc.get("assets") or {}).get("thumbnail")
        if asset and is_local_href(str(asset.get("href", ""))) and ext.FILE_CHECKSUM in asset:
            href = relative_href(resolve_href(str(asset["href"]), path.parent), here)
            return {"href": href, ext.FILE_CHECKSUM: asset[ext.FILE_CHECKSUM], ext.FILE_SIZE: asset[ext.FILE_SIZE]}
    return None


def footprints_png(bboxes: Sequence[Sequence[float]], extent: Sequence[float], max_size: int = MAX_SIZE) -> bytes:
    """PNG of lon/lat ``bboxes`` drawn over ``extent`` (west, south, east, north), at most ``max_size`` px.

    The width/height ratio follows the extent's ground shape (longitude shrunk by the cosine
    of the mean latitude), so Norwegian tiles are not drawn twice as wide as they are.
    """
    w0, s0, e0, n0 = (float(v) for v in extent[:4])
    span_x = max(e0 - w0, 1e-9) * max(np.cos(np.radians((s0 + n0) / 2)), 0.05)
    span_y = max(n0 - s0, 1e-9)
    scale = max_size / max(span_x, span_y)
    width, height = max(8, round(span_x * scale)), max(8, round(span_y * scale))
    img = np.zeros((height, width, 4), dtype=np.uint8)

    def col(lon: float) -> int:
        return int(np.clip((lon - w0) / max(e0 - w0, 1e-9) * (width - 1), 0, width - 1))

    def row(lat: float) -> int:
        return int(np.clip((n0 - lat) / span_y * (height - 1), 0, height - 1))

    for b in sorted(tuple(float(v) for v in bb[:4]) for bb in bboxes):
        c0, c1, r0, r1 = col(b[0]), col(b[2]), row(b[3]), row(b[1])
        img[r0 : r1 + 1, c0 : c1 + 1] = _FILL
        img[[r0, r1], c0 : c1 + 1] = _EDGE
        img[r0 : r1 + 1, [c0, c1]] = _EDGE
    return encode_png(img)


def add_collection_preview(
    collection: dict[str, Any], members: Sequence[tuple[Mapping[str, Any], Path]], coll_path: Path
) -> dict[Path, bytes]:
    """Add the ``thumbnail`` asset to ``collection`` (to be written at ``coll_path``).

    Args:
        collection: the collection dict; gets ``assets.thumbnail``.
        members: its items as (catalog copy, path of the copy), sorted as listed.
        coll_path: where ``collection.json`` is written.

    Returns:
        Files to write beside it (``{path: bytes}``): the footprint picture, or nothing when an
        item thumbnail is used.
    """
    here = coll_path.parent
    found = _item_thumbnail(members, here)
    files: dict[Path, bytes] = {}
    if found is not None:
        asset = {**found, "title": "Preview: the first item's thumbnail"}
    else:
        extent = collection["extent"]["spatial"]["bbox"][0]
        bboxes = [doc["bbox"] for doc, _ in members if doc.get("bbox")] or [extent]
        png = footprints_png(bboxes, extent)
        files[here / PREVIEW_FILENAME] = png
        asset = {
            "href": "./" + PREVIEW_FILENAME,
            "title": "Preview: footprints of the items",
            ext.FILE_CHECKSUM: sha256_multihash_of(png),
            ext.FILE_SIZE: len(png),
        }
    collection.setdefault("assets", {})["thumbnail"] = {**asset, "type": "image/png", "roles": ["thumbnail"]}
    if ext.FILE_SCHEMA_URI not in collection.setdefault("stac_extensions", []):
        collection["stac_extensions"].append(ext.FILE_SCHEMA_URI)
    return files
