"""The STAC query extension's ``query`` as a CQL2 ``filter``, so a search keeps working under the access filter.

pgstac answers a search that has both ``query`` and ``filter`` with 400 ("Query extension is not
available when using pgstac with cql2"); every search below ``/api`` gets the access filter
(``sporbar.serve.auth``), so a client's ``query`` is rewritten into the equivalent CQL2 first,
ANDed with the client's own ``filter`` if it has one.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from sporbar.errors import SporbarError

#: query extension operator -> CQL2 operator (like: the pattern is built from the value)
_COMPARISONS: Final = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_LIKE: Final = {"startsWith": "{}%", "endsWith": "%{}", "contains": "%{}%"}


class QueryError(SporbarError, ValueError):
    """A ``query`` that is not the query extension's form (answered 400)."""


def query_to_cql2(query: Any) -> dict[str, Any]:
    """CQL2-JSON of a query extension object ``{property: {op: value}}``.

    Raises:
        QueryError: not a mapping of properties to mappings of known operators.
    """
    if not isinstance(query, dict) or not query:
        raise QueryError(f"query: {json.dumps(query)[:200]} is not an object of property -> {{operator: value}}")
    args: list[dict[str, Any]] = []
    for prop, ops in sorted(query.items()):
        if not isinstance(ops, dict) or not ops:
            raise QueryError(f"query: {prop!r} needs an object of operator -> value")
        for op, value in sorted(ops.items()):
            ref = {"property": str(prop)}
            if op in _COMPARISONS:
                args.append({"op": _COMPARISONS[op], "args": [ref, value]})
            elif op in _LIKE:
                args.append({"op": "like", "args": [ref, _LIKE[op].format(value)]})
            elif op == "in" and isinstance(value, list):
                args.append({"op": "in", "args": [ref, value]})
            else:
                raise QueryError(f"query: operator {op!r} of {prop!r} is not one of the query extension's")
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def _with_filter(query: dict[str, Any], user_filter: Any, lang: str | None) -> dict[str, Any]:
    """``query`` ANDed with the client's own filter (CQL2 text or JSON)."""
    if user_filter is None or user_filter == "":
        return query
    from cql2 import Expr

    try:
        own = Expr(user_filter if not isinstance(user_filter, str) or lang != "cql2-json" else json.loads(user_filter))
    except Exception as err:  # cql2 raises its own ValueError/ParseError kinds
        raise QueryError(f"filter: not CQL2 ({err})") from err
    return {"op": "and", "args": [query, own.to_json()]}


def rewrite_body(body: dict[str, Any]) -> dict[str, Any]:
    """A POST search body with ``query`` turned into (or ANDed into) ``filter``.

    Raises:
        QueryError: the query or the filter is malformed.
    """
    if "query" not in body:
        return body
    out = dict(body)
    query = query_to_cql2(out.pop("query"))
    out["filter"] = _with_filter(query, out.get("filter"), out.get("filter-lang") or "cql2-json")
    out["filter-lang"] = "cql2-json"
    return out


def rewrite_query_string(query_string: bytes) -> bytes:
    """A GET search query string with ``query`` (JSON) turned into (or ANDed into) ``filter``.

    Raises:
        QueryError: the query is not JSON, or the query or the filter is malformed.
    """
    pairs = parse_qsl(query_string.decode(), keep_blank_values=True)
    values = dict(pairs)
    if "query" not in values:
        return query_string
    try:
        parsed = json.loads(values["query"])
    except ValueError as err:
        raise QueryError(f"query: {values['query'][:200]!r} is not a JSON query object ({err})") from err
    query = query_to_cql2(parsed)
    combined = _with_filter(query, values.get("filter"), values.get("filter-lang") or "cql2-text")
    kept = [(k, v) for k, v in pairs if k not in ("query", "filter", "filter-lang")]
    kept += [("filter", json.dumps(combined, separators=(",", ":"))), ("filter-lang", "cql2-json")]
    return urlencode(kept).encode()
