"""Offline validation of STAC objects against the schemas shipped in ``stac/schemas``.

No network: every schema (core, extensions, GeoJSON, PROJJSON) is resolved from the
bundle through its ``schema_map.json``. A schema that is not bundled is an error,
never a download.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import relevance
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7

from sporbar.errors import CatalogError

CORE_URL = "https://schemas.stacspec.org/v{version}/{kind}-spec/json-schema/{kind}.json"
STAC_KINDS = {"Feature": "item", "Collection": "collection", "Catalog": "catalog"}


def default_schema_dir() -> Path:
    """The schema bundle shipped inside the package."""
    return Path(str(files("sporbar.stac").joinpath("schemas")))


def _norm(url: str) -> str:
    return url[:-1] if url.endswith("#") else url


@lru_cache(maxsize=4)
def _bundle(schema_dir: Path) -> tuple[dict[str, Path], Registry]:
    raw = json.loads((schema_dir / "schema_map.json").read_text(encoding="utf-8"))
    mapping = {_norm(u): schema_dir / rel for u, rel in raw.items()}
    contents: dict[Path, Any] = {}
    resources = []
    for url, p in mapping.items():
        if p not in contents:
            contents[p] = json.loads(p.read_text(encoding="utf-8"))
        resources.append((url, Resource.from_contents(contents[p], default_specification=DRAFT7)))
    return mapping, Registry().with_resources(resources)


def schema_urls(obj: dict[str, Any]) -> list[str]:
    """The core schema URL for the object's type and version, then its extensions."""
    kind = STAC_KINDS.get(obj.get("type", ""))
    if kind is None or not obj.get("stac_version"):
        raise CatalogError(f"{obj.get('id', '?')}: not a STAC Item, Collection or Catalog")
    return [CORE_URL.format(version=obj["stac_version"], kind=kind), *obj.get("stac_extensions", [])]


def validate_dict(obj: dict[str, Any], *, schema_dir: Path | None = None) -> list[str]:
    """Validate one STAC object; return problems as ``"[schema] path: message"`` ([] = valid).

    Raises:
        CatalogError: the object is not STAC or needs a schema that is not bundled.
    """
    mapping, registry = _bundle(Path(schema_dir or default_schema_dir()).resolve())
    problems: list[str] = []
    resolver = registry.resolver()
    for url in schema_urls(obj):
        if _norm(url) not in mapping:
            raise CatalogError(f"{obj.get('id', '?')}: schema {url} is not in the offline bundle")
        schema = resolver.lookup(_norm(url)).contents
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        try:
            errors = sorted(cls(schema, registry=registry).iter_errors(obj), key=relevance, reverse=True)
        except Unresolvable as err:
            raise CatalogError(f"{url}: unresolvable reference {err}") from err
        for e in errors[:10]:
            leaf = min(e.context, key=lambda c: -len(c.absolute_path)) if e.context else e
            problems.append(f"[{url}] {leaf.json_path}: {leaf.message[:300]}")
    return problems


def validate_item_dict(obj: dict[str, Any], *, schema_dir: Path | None = None) -> None:
    """Validate and raise if invalid (for builders and tests).

    Raises:
        CatalogError: listing every problem.
    """
    problems = validate_dict(obj, schema_dir=schema_dir)
    if problems:
        raise CatalogError(f"{obj.get('id', '?')}: invalid STAC:\n  " + "\n  ".join(problems))
