"""An SVG picture of an item's lineage: the ``derived_from`` graph back to the raw data.

Pure Python (no Graphviz): items are laid out in columns by their height in the graph
(raw items, which have no inputs, in the left column; the item itself on the right),
sorted by (collection, id) inside a column. Each item is a box in its collection's
colour showing the collection and the id, with its ``processing:lineage`` as a tooltip
and, when ``href`` gives one, a link to its JSON. Arrows run from each input to the item
made from it. The same graph always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from sporbar.io import write_bytes_atomic
from sporbar.stac import extensions as ext
from sporbar.stac.lineage import LineageNode, graph_nodes, heights

SVG_MEDIA_TYPE: Final = "image/svg+xml"
FILENAME: Final = "lineage.svg"

# collection -> (fill, stroke)
COLOURS: Final = {
    ext.COLLECTION_S2_RAW: ("#dbe9f6", "#2b6cb0"),
    ext.COLLECTION_LIDAR_RAW: ("#e8e2f4", "#6b46c1"),
    ext.COLLECTION_LABELS_RAW: ("#fde8d7", "#c05621"),
    ext.COLLECTION_S1_RAW: ("#e2e8f0", "#2d3748"),
    ext.COLLECTION_ARD: ("#d4eefa", "#2c7a9b"),
    ext.COLLECTION_S1_ARD: ("#e6fffa", "#285e61"),
    ext.COLLECTION_LIDAR_PRODUCTS: ("#ece6fa", "#553c9a"),
    ext.COLLECTION_TRAINING: ("#fff5d6", "#b7791f"),
    ext.COLLECTION_MODELS: ("#fde2e4", "#c53030"),
    ext.COLLECTION_MAPS: ("#dcf5e3", "#2f855a"),
}
MISSING_COLOURS: Final = ("#ffffff", "#e53e3e")
OTHER_COLOURS: Final = ("#edf2f7", "#4a5568")

BOX_H: Final = 42
GAP_Y: Final = 14
GAP_X: Final = 70
MARGIN: Final = 16
CHAR_W: Final = 8.4  # generous glyph width of 12 px bold sans-serif, for box widths
MIN_BOX_W: Final = 150


def lineage_svg(top: LineageNode, *, href: Callable[[LineageNode], str | None] | None = None) -> str:
    """SVG text of the lineage graph rooted at ``top``.

    Args:
        top: the graph from :func:`sporbar.stac.lineage.lineage`.
        href: link target of a node's box (e.g. the item JSON relative to the SVG), or None.
    """
    nodes = graph_nodes(top)
    height_of = heights(top)
    n_cols = max(height_of.values()) + 1
    columns: list[list[LineageNode]] = [[] for _ in range(n_cols)]
    for n in nodes:
        columns[height_of[id(n)]].append(n)
    for col in columns:
        col.sort(key=lambda n: (n.collection, n.id, str(n.path)))
    widths = [
        max(MIN_BOX_W, int(max(max(len(n.id), len(n.collection)) for n in col) * CHAR_W) + 20) if col else MIN_BOX_W
        for col in columns
    ]
    xs = [MARGIN + sum(widths[:i]) + GAP_X * i for i in range(n_cols)]
    tallest = max(len(c) for c in columns)
    height = 2 * MARGIN + 24 + tallest * BOX_H + (tallest - 1) * GAP_Y
    width = xs[-1] + widths[-1] + MARGIN
    pos: dict[int, tuple[float, float, float]] = {}  # x, y, w
    for ci, col in enumerate(columns):
        col_h = len(col) * BOX_H + (len(col) - 1) * GAP_Y
        y0 = MARGIN + 24 + (height - 2 * MARGIN - 24 - col_h) / 2
        for ri, n in enumerate(col):
            pos[id(n)] = (xs[ci], y0 + ri * (BOX_H + GAP_Y), widths[ci])

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{escape(f'Lineage of {top.collection}/{top.id}')}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#4a5568"/>'
        "</marker></defs>",
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 12}" font-size="14" font-weight="bold">'
        f"{escape(f'Lineage of {top.id}: derived_from graph back to the raw data')}</text>",
        '<g id="edges" fill="none" stroke="#4a5568" stroke-width="1.2">',
    ]
    edges = sorted(
        {(pos[id(c)], pos[id(n)]) for n in nodes for c in n.children},
        key=lambda e: (e[0][0], e[0][1], e[1][0], e[1][1]),
    )
    for (x1, y1, w1), (x2, y2, _) in edges:
        ax, ay, bx, by = x1 + w1, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
        mx = (ax + bx) / 2
        out.append(
            f'<path d="M {ax:.1f} {ay:.1f} C {mx:.1f} {ay:.1f}, {mx:.1f} {by:.1f}, {bx:.1f} {by:.1f}" '
            'marker-end="url(#arrow)"/>'
        )
    out.append("</g>")
    out.append('<g id="items">')
    for col in columns:
        for n in col:
            x, y, w = pos[id(n)]
            fill, stroke = MISSING_COLOURS if n.missing else COLOURS.get(n.collection, OTHER_COLOURS)
            tip = f"{n.collection}/{n.id}\n" + ("MISSING: " + str(n.path.name) if n.missing else n.lineage)
            box = [
                f'<g class="item" data-id={quoteattr(n.id)} data-collection={quoteattr(n.collection)}>',
                f"<title>{escape(tip)}</title>",
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{BOX_H}" rx="6" ry="6" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"'
                + (' stroke-dasharray="4 3"' if n.missing else "")
                + "/>",
                f'<text x="{x + 10:.1f}" y="{y + 16:.1f}" font-size="10" fill="{stroke}">'
                f"{escape(n.collection + (' (missing)' if n.missing else ''))}</text>",
                f'<text x="{x + 10:.1f}" y="{y + 33:.1f}" font-weight="bold" fill="#1a202c">{escape(n.id)}</text>',
                "</g>",
            ]
            link = href(n) if href is not None and not n.missing else None
            if link:
                box = [f'<a href={quoteattr(link)} xlink:href={quoteattr(link)} target="_top">', *box, "</a>"]
            out.extend(box)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_lineage_svg(top: LineageNode, dst: Path, *, href: Callable[[LineageNode], str | None] | None = None) -> Path:
    """Write :func:`lineage_svg` of ``top`` to ``dst`` atomically."""
    write_bytes_atomic(Path(dst), lineage_svg(top, href=href).encode("utf-8"))
    return Path(dst)


__all__ = ["FILENAME", "SVG_MEDIA_TYPE", "lineage_svg", "write_lineage_svg"]
