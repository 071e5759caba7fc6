"""An item search narrowed to the collections a request may see, through the search's own ``collections``.

``sporbar serve`` rewrites every ``/api/search`` (GET and POST) before the API sees it: the
``collections`` the client asked for are intersected with the collections its grant may see
(``sporbar.serve.access``); a search naming none gets the permitted list. pgstac turns
``collections`` into ``collection = ANY(...)`` next to the client's filter, so the search plans
as the client wrote it (its queryable indexes, partition pruning) and stac-fastapi parses no
extra CQL2 (the access filter as CQL2 made GET searches ~50 ms slower and, at 1 M items,
could change pgstac's plans: benchmarks/README.md).

The list is an allowlist read from the table of levels at request time: a collection published
after the table was read is in no list until the table is read again, so it stays hidden, as
:meth:`AccessLevels.level` counts an unknown collection closed.

Where the rewrite cannot say the same thing, the request is left as it is and the CQL2 access
filter of ``sporbar.serve.auth`` applies instead (:data:`SCOPED` is then not set): nothing left
after the intersection (``collections: []`` would mean "all" to stac-fastapi), a permitted id
holding a comma (GET lists are comma-separated), a repeated query parameter (stac-auth-proxy
answers it 400), a body that is not a JSON object or ``collections`` that is not a list of strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

#: the request's state key set when its search was narrowed here (the CQL2 access filter is then left off)
SCOPED: Final = "sporbar_search_scoped"


def scoped_collections(requested: Sequence[str] | None, permitted: Sequence[str]) -> list[str]:
    """The collections a search may cover: ``requested`` (in its order, once each) that are permitted.

    Args:
        requested: the search's ``collections``; None or empty: every permitted one.
        permitted: the collections the request may see.

    Returns:
        The list to search; empty when none of ``requested`` is permitted.
    """
    if not requested:
        return list(permitted)
    allowed = set(permitted)
    return [cid for cid in dict.fromkeys(requested) if cid in allowed]


def scope_body(body: bytes, permitted: Sequence[str]) -> bytes | None:
    """A POST search body with ``collections`` narrowed to ``permitted``; None where that cannot be said."""
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    requested = doc.get("collections")
    if requested is not None and not (isinstance(requested, list) and all(isinstance(c, str) for c in requested)):
        return None
    collections = scoped_collections(requested, permitted)
    if not collections:
        return None
    return json.dumps({**doc, "collections": collections}).encode()


def scope_query_string(query_string: bytes, permitted: Sequence[str]) -> bytes | None:
    """A GET search query string with ``collections`` narrowed to ``permitted``; None where that cannot be said."""
    try:
        pairs = parse_qsl(query_string.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)) or any("," in cid for cid in permitted):
        return None
    given = dict(pairs).get("collections")
    collections = scoped_collections(given.split(",") if given else None, permitted)
    if not collections:
        return None
    kept: list[tuple[str, Any]] = [(k, v) for k, v in pairs if k != "collections"]
    return urlencode([*kept, ("collections", ",".join(collections))]).encode()
