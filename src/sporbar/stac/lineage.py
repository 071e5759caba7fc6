"""The lineage of an item: the graph of its ``derived_from`` links back to raw data.

:func:`lineage` reads the graph into :class:`LineageNode` values. An ancestor shared
by several items (an ARD tile used by both the training set and the map) is read once
and the same node appears under every item that uses it; a cycle is an error. A
``derived_from`` link whose file is missing becomes a node marked ``missing``, so the
rest of the graph can still be shown.

The graph is walked in one place, :func:`graph_nodes` (every distinct node once) and
:func:`heights` (a node's distance from the raw data); the tree and DOT text here, the SVG
picture (``lineage_svg``) and the ISO 19139 process steps all use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sporbar.errors import CatalogError
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import is_local_href, read_json, resolve_href
from sporbar.stac.layout import ItemLayout


@dataclass(eq=False)
class LineageNode:
    """One item in the lineage graph.

    Attributes:
        id: the item id (for a missing item: the link title, or the file name).
        collection: the item's ``collection``, else the one its path shows, else ``"?"``.
        path: resolved path of the item JSON.
        lineage: its ``processing:lineage`` text ("" when missing).
        children: the items it was derived from, sorted by (collection, id).
        missing: True when the ``derived_from`` target does not exist.
    """

    id: str
    collection: str
    path: Path
    lineage: str = ""
    children: list[LineageNode] = field(default_factory=list)
    missing: bool = False

    @property
    def label(self) -> str:
        """``collection/id``."""
        return f"{self.collection}/{self.id}"


def lineage(item_json: Path, *, layout: ItemLayout | None = None) -> LineageNode:
    """Read the lineage graph of the item at ``item_json``.

    Args:
        item_json: the item (a stage's ``item.json`` or a catalog copy).
        layout: tells the collection of an item without a ``collection`` field from its
            path; without it such items show collection ``"?"``.

    Returns:
        The node of the item, its inputs as children.

    Raises:
        MissingInputError: ``item_json`` does not exist.
        CatalogError: it is not an item, or the ``derived_from`` links form a cycle.
    """
    nodes: dict[Path, LineageNode] = {}
    return _node(Path(item_json).resolve(), nodes, [], title=None, layout=layout)


def _node(
    path: Path,
    nodes: dict[Path, LineageNode],
    stack: list[Path],
    title: str | None,
    layout: ItemLayout | None,
) -> LineageNode:
    if path in stack:
        cycle = " -> ".join(str(p) for p in [*stack[stack.index(path) :], path])
        raise CatalogError(f"{path}: derived_from links form a cycle: {cycle}")
    if path in nodes:
        return nodes[path]
    if stack and not path.is_file():
        node = LineageNode(id=title or path.name, collection="?", path=path, missing=True)
        nodes[path] = node
        return node
    data = read_json(path)
    if data.get("type") != "Feature":
        raise CatalogError(
            f"{path}: not a STAC Item (type {data.get('type')!r}); lineage needs an item"
        )
    node = LineageNode(
        id=str(data.get("id", path.stem)),
        collection=str(
            data.get("collection") or (layout.collection_of(path) if layout else None) or "?"
        ),
        path=path,
        lineage=str(data.get("properties", {}).get(ext.PROCESSING_LINEAGE, "")),
    )
    stack.append(path)
    for link in data.get("links", []):
        if link.get("rel") == ext.DERIVED_FROM and is_local_href(link.get("href", "")):
            target = resolve_href(link["href"], path.parent)
            node.children.append(_node(target, nodes, stack, link.get("title"), layout))
    stack.pop()
    node.children.sort(key=lambda n: (n.collection, n.id, str(n.path)))
    nodes[path] = node
    return node


def graph_nodes(node: LineageNode) -> list[LineageNode]:
    """Every distinct node of the graph below (and with) ``node``, depth first, each once."""
    out: list[LineageNode] = []
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def heights(node: LineageNode) -> dict[int, int]:
    """``id(n)`` -> height of every node of the graph of ``node``.

    The height is 0 for items without inputs, else 1 + the highest of its inputs (so every
    input stands below what was made from it).
    """
    out: dict[int, int] = {}

    def height(n: LineageNode) -> int:
        if id(n) not in out:
            out[id(n)] = 1 + max((height(c) for c in n.children), default=-1)
        return out[id(n)]

    height(node)
    return out


def leaves(node: LineageNode) -> list[LineageNode]:
    """The distinct items with no inputs (the raw data reached), sorted by (collection, id)."""
    return sorted(
        (n for n in graph_nodes(node) if not n.children), key=lambda n: (n.collection, n.id, str(n.path))
    )


def render_tree(node: LineageNode) -> str:
    """An ASCII tree, one line per item: ``collection/id — lineage``.

    A shared ancestor is drawn in full the first time; later it is one line marked
    ``(see above)``. A missing input is marked ``MISSING``.
    """
    lines: list[str] = []
    shown: set[int] = set()

    def text(n: LineageNode, again: bool) -> str:
        if n.missing:
            return f"{n.label} — MISSING: {n.path}"
        first = (
            n.lineage.strip().splitlines()[0] if n.lineage.strip() else "(no processing:lineage)"
        )
        return f"{n.label} (see above)" if again else f"{n.label} — {first}"

    def draw(n: LineageNode, prefix: str, last: bool, top: bool) -> None:
        again = id(n) in shown and bool(n.children)
        lines.append(
            text(n, again) if top else f"{prefix}{'└── ' if last else '├── '}{text(n, again)}"
        )
        shown.add(id(n))
        if again:
            return
        sub = "" if top else prefix + ("    " if last else "│   ")
        for i, c in enumerate(n.children):
            draw(c, sub, i == len(n.children) - 1, False)

    draw(node, "", True, True)
    return "\n".join(lines) + "\n"


def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(node: LineageNode) -> str:
    """Graphviz DOT text of the graph: one box per item, edges from input to output.

    Draw it with ``dot -Tsvg lineage.dot -o lineage.svg``.
    """
    nodes = sorted(graph_nodes(node), key=lambda n: (n.collection, n.id, str(n.path)))
    key = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    out = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for n in nodes:
        attrs = (
            f"label={_dot_quote(n.collection + chr(10) + n.id)}, tooltip={_dot_quote(n.lineage)}"
        )
        if n.missing:
            attrs += ", color=red, style=dashed"
        out.append(f"  {key[id(n)]} [{attrs}];")
    edges = sorted({(key[id(c)], key[id(n)]) for n in nodes for c in n.children})
    out += [f"  {a} -> {b};" for a, b in edges]
    out.append("}")
    return "\n".join(out) + "\n"
