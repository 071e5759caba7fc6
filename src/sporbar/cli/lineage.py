"""``sporbar lineage``: print (and draw) the graph of an item back to raw data."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("lineage")
@click.argument("item", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--dot",
    "dot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the graph as Graphviz DOT (draw with `dot -Tsvg FILE -o lineage.svg`).",
)
def lineage(item: Path, dot_path: Path | None) -> None:
    """Print the derived_from tree of ITEM: one line per item, `collection/id — what was done`.

    \b
      $ sporbar lineage results/catalog/land-ecology-maps/<item>/<item>.json
    """
    from sporbar.io import write_bytes_atomic
    from sporbar.stac.layout import ItemLayout
    from sporbar.stac.lineage import leaves, render_tree, to_dot
    from sporbar.stac.lineage import lineage as read_lineage
    from sporbar.workflow import plan

    node = read_lineage(item, layout=ItemLayout.from_patterns(plan.PATTERNS))
    click.echo(render_tree(node), nl=False)
    raw = leaves(node)
    click.echo(f"{len(raw)} source item(s): " + ", ".join(n.label for n in raw))
    if dot_path:
        write_bytes_atomic(dot_path, to_dot(node).encode("utf-8"))
        click.echo(f"{dot_path}: DOT graph written")
