"""The item properties staff search on, declared to pgstac as queryables, each with its index.

``sporbar publish --to pgstac`` declares them (:func:`declare_queryables`), so the STAC API
lists them at ``/queryables`` (filter forms and pystac-client learn the names and types
there) and CQL2 filters on them are index scans at national scale instead of walks through
every item in date order.

Why our own indexes rather than pgstac's ``property_index_type``: pgstac builds its index
on ``content->'properties'->'<name>'``, which is the wrong path for a nested name
(``processing:software.sporbar``), and on the property alone. A search returns the newest
items first, so where a value is rare in one collection and absent from another, Postgres
walks the date index and tests every row (1.7 s at 1 M items, benchmarks/pgstac_publish.py).
Each index here is on (the property, ``datetime DESC``), built from the very expression
pgstac's CQL2 translation uses (``pgstac.queryable(name)``). They are not partial (``WHERE
... IS NOT NULL``): Postgres keeps no statistics of a partial index's expression, and
without them it expects a third of a collection to match a range and walks the dates of
collections that do not have the property at all. Arrays (``a_contains`` etc.) get a GIN
index. Indexes are created on the partitioned ``pgstac.items`` table, so every collection's
partition, present or future, has them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from sporbar.stac import extensions as ext

#: JSON Schema of a text value
_TEXT: Final = {"type": "string"}


@dataclass(frozen=True)
class Queryable:
    """One item property offered for CQL2 filters.

    Attributes:
        name: the CQL2 property name; a dot walks into an object (``processing:software.sporbar``).
        title: what staff see in a filter form.
        definition: the JSON Schema of the value (``type`` decides pgstac's comparison:
            numbers as numbers, the rest as text).
        kind: ``scalar`` (compared with = < > ..., index on (value, datetime DESC)) or
            ``array`` (``a_contains``/``a_overlaps``..., GIN index).
    """

    name: str
    title: str
    definition: Mapping[str, Any]
    kind: Literal["scalar", "array"] = "scalar"

    @property
    def wrapper(self) -> str:
        """The pgstac function that turns the JSON value into a comparable SQL value."""
        if self.kind == "array":
            return "to_text_array"
        return "to_float" if self.definition.get("type") == "number" else "to_text"

    @property
    def index_name(self) -> str:
        """A stable index name (Postgres names are at most 63 bytes; property names may not fit)."""
        return "sporbar_q_" + hashlib.sha256(self.name.encode()).hexdigest()[:16]


#: What directorate staff filter on: which classes a map tile holds, which model version made
#: it, model quality, the version of a model or training set, and the code and config behind
#: any item (software version, git commit, config hash).
QUERYABLES: Final[tuple[Queryable, ...]] = (
    Queryable(
        ext.SPORBAR_CLASSES,
        "Classes mapped in the tile",
        {"type": "array", "items": {"type": "string"}, "description": "Land-ecology classes present in a map tile"},
        kind="array",
    ),
    Queryable(
        ext.SPORBAR_MODEL,
        "Model version that made the map",
        {**_TEXT, "description": "Id of the model item (model-<name>-<version>) a map tile was predicted with"},
    ),
    Queryable("version", "Version", {**_TEXT, "description": "Version of a model or training set (content hash)"}),
    Queryable(
        ext.SPORBAR_VERSION_OF,
        "Versioned product",
        {**_TEXT, "description": "What a model or training-set version is a version of (e.g. model-rf)"},
    ),
    Queryable(
        "sporbar:metrics.overall_accuracy",
        "Model overall accuracy (blocked cross-validation)",
        {"type": "number", "minimum": 0, "maximum": 1},
    ),
    Queryable(
        ext.PROCESSING_SOFTWARE + ".sporbar",
        "sporbar version",
        {**_TEXT, "description": "Version of sporbar that made the item"},
    ),
    Queryable(ext.SPORBAR_CODE_VERSION, "Code version", {**_TEXT, "description": "git:<commit>[+dirty]"}),
    Queryable(ext.SPORBAR_CONFIG_HASH, "Config hash", {**_TEXT, "description": "sha256 of the effective config"}),
)


def declare_queryables(conn: Any, queryables: tuple[Queryable, ...] = QUERYABLES) -> list[str]:
    """Declare ``queryables`` in pgstac and create their indexes; idempotent.

    Args:
        conn: an open psycopg connection to a pgstac database (committed here).
        queryables: what to declare (default: :data:`QUERYABLES`).

    Returns:
        The names of the indexes created now (empty when all existed).
    """
    created: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SET LOCAL search_path TO pgstac, public")  # pgstac's triggers call its functions unqualified
        for q in queryables:
            definition = {"title": q.title, **q.definition}
            cur.execute("DELETE FROM pgstac.queryables WHERE name = %s", (q.name,))
            cur.execute(
                "INSERT INTO pgstac.queryables (name, definition, property_wrapper, property_index_type) "
                "VALUES (%s, %s::jsonb, %s, NULL)",
                (q.name, json.dumps(definition), q.wrapper),
            )
            expression = index_expression(cur, q)
            cur.execute("SELECT 1 FROM pg_indexes WHERE schemaname = 'pgstac' AND indexname = %s", (q.index_name,))
            if cur.fetchone():
                continue
            if q.kind == "array":
                columns, method = expression, "gin"
            else:
                columns, method = f"{expression}, datetime DESC", "btree"
            # names and expressions come from our table and pgstac, never from a request
            cur.execute(f"CREATE INDEX {q.index_name} ON pgstac.items USING {method} ({columns})")
            created.append(q.index_name)
        if created:
            cur.execute("ANALYZE pgstac.items")
    conn.commit()
    return created


def analyze_collections(conn: Any, collection_ids: Iterable[str]) -> list[str]:
    """Refresh the planner statistics of the item partitions of ``collection_ids``; committed here.

    A load leaves new rows without statistics until autovacuum comes by (for the partitioned
    parent, never): the planner then has no idea how rare a queryable's value is and walks the
    date index instead of the queryable's (benchmarks/pgstac_publish.py at 1 M items: the
    accuracy search 4-5 s without statistics, ~0.1 s with; ~1 s of ANALYZE per 250,000 items).

    Args:
        conn: an open psycopg connection to a pgstac database.
        collection_ids: the collections whose items were loaded.

    Returns:
        The partitions analysed (pgstac's collection partitions; time partitions below them go with them).
    """
    from psycopg import sql

    ids = sorted(set(collection_ids))
    if not ids:
        return []
    rows = conn.execute(
        "SELECT partition FROM pgstac.partition_sys_meta WHERE level = 1 AND collection = ANY(%s) ORDER BY 1", (ids,)
    ).fetchall()
    partitions = [str(r[0]) for r in rows]
    for name in partitions:
        conn.execute(sql.SQL("ANALYZE pgstac.{}").format(sql.Identifier(name)))
    conn.commit()
    return partitions


def index_expression(cur: Any, q: Queryable) -> str:
    """The SQL expression pgstac's CQL2 translation compares for ``q`` (so the index matches it)."""
    cur.execute("SELECT path FROM pgstac.queryable(%s)", (q.name,))
    (path,) = cur.fetchone()
    return f"pgstac.{q.wrapper}({path})"
