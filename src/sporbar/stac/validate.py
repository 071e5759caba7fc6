"""Offline validation of STAC objects against the schemas shipped in ``stac/schemas``.

No network: every schema (core, extensions, GeoJSON, PROJJSON) is resolved from the
bundle through its ``schema_map.json``. A schema that is not bundled is an error,
never a download.

Each schema is compiled once per process, twice over: to Python code by fastjsonschema,
which answers "valid?" about 30 times faster than jsonschema (``sporbar verify`` of a large
catalog spends its time here), and as a jsonschema validator, which lists every problem
of an object the fast one refused. jsonschema stays the authority: an object is reported
invalid only when jsonschema finds problems.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import fastjsonschema
from fastjsonschema.ref_resolver import RefResolver

from sporbar.errors import CatalogError
from sporbar.io import write_bytes_atomic

CORE_URL = "https://schemas.stacspec.org/v{version}/{kind}-spec/json-schema/{kind}.json"
STAC_KINDS = {"Feature": "item", "Collection": "collection", "Catalog": "catalog"}


def default_schema_dir() -> Path:
    """The schema bundle shipped inside the package."""
    return Path(str(files("sporbar.stac").joinpath("schemas")))


def _norm(url: str) -> str:
    return url[:-1] if url.endswith("#") else url


@lru_cache(maxsize=4)
def _mapping(schema_dir: Path) -> dict[str, Path]:
    """Schema URL -> its file in the bundle (``schema_map.json``)."""
    raw = json.loads((schema_dir / "schema_map.json").read_text(encoding="utf-8"))
    return {_norm(u): schema_dir / rel for u, rel in raw.items()}


@lru_cache(maxsize=4)
def _registry(schema_dir: Path) -> Any:
    """Every bundled schema as a jsonschema ``referencing`` registry (built only when needed)."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    contents: dict[Path, Any] = {}
    resources = []
    for url, p in _mapping(schema_dir).items():
        if p not in contents:
            contents[p] = json.loads(p.read_text(encoding="utf-8"))
        resources.append((url, Resource.from_contents(contents[p], default_specification=DRAFT7)))
    return Registry().with_resources(resources)


def schema_urls(obj: dict[str, Any]) -> list[str]:
    """The core schema URL for the object's type and version, then its extensions."""
    kind = STAC_KINDS.get(obj.get("type", ""))
    if kind is None or not obj.get("stac_version"):
        raise CatalogError(f"{obj.get('id', '?')}: not a STAC Item, Collection or Catalog")
    return [CORE_URL.format(version=obj["stac_version"], kind=kind), *obj.get("stac_extensions", [])]


@lru_cache(maxsize=256)
def _jsonschema_validator(schema_dir: Path, url: str) -> Any:
    """The jsonschema validator of bundled schema ``url`` (lists every problem)."""
    import jsonschema  # only for objects the fast path refused: most runs never import it

    registry = _registry(schema_dir)
    schema = registry.resolver().lookup(_norm(url)).contents
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=registry)


# how the schemas are compiled (part of the cache key)
_FAST_OPTIONS: Final = "use_formats=False,use_default=False"


@lru_cache(maxsize=4)
def _bundle_digest(schema_dir: Path) -> str:
    """sha256 of every file of the bundle and the fastjsonschema and Python versions."""
    h = hashlib.sha256(f"{fastjsonschema.VERSION}|{sys.version}".encode())
    for f in sorted(p for p in schema_dir.rglob("*.json") if p.is_file()):
        h.update(f.relative_to(schema_dir).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _cache_dir() -> Path:
    """Where compiled schemas are kept between processes (``$XDG_CACHE_HOME/sporbar/schemas``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sporbar" / "schemas"


@lru_cache(maxsize=256)
def _fast_validator(schema_dir: Path, url: str) -> Callable[[Any], Any] | None:
    """Bundled schema ``url`` compiled by fastjsonschema, or None when it cannot compile it.

    The compiled validator raises on the first problem; without one, jsonschema alone decides.

    Generating and compiling the code of a STAC item schema takes about a second, so the
    compiled code is kept on disk, keyed by the bundle's content: later processes load it
    in milliseconds. A cache that cannot be read or written is only slower.
    """
    key = hashlib.sha256(f"{_bundle_digest(schema_dir)}|{_norm(url)}|{_FAST_OPTIONS}".encode()).hexdigest()
    cached = _cache_dir() / f"{key}.marshal"
    try:
        name, code = marshal.loads(cached.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        mapping = _mapping(schema_dir)
        loaded: dict[str, Any] = {}

        def load(uri: str) -> Any:
            k = _norm(uri)
            if k not in loaded:
                if k in mapping:
                    loaded[k] = json.loads(mapping[k].read_text(encoding="utf-8"))
                else:  # the JSON Schema meta-schemas (the collection schema refers to draft-07's)
                    from jsonschema_specifications import REGISTRY

                    loaded[k] = REGISTRY.contents(k)
            return loaded[k]

        handlers = {"https": load, "http": load}
        try:
            # formats are not checked, as jsonschema does not check them by default; defaults are
            # not filled in (fastjsonschema would write them into the object it checks)
            source = fastjsonschema.compile_to_code(
                load(url), handlers=handlers, use_formats=False, use_default=False
            )
            name = RefResolver.from_schema(load(url), handlers=handlers).get_scope_name()
        except (fastjsonschema.JsonSchemaDefinitionException, LookupError):
            return None
        code = compile(source, f"<schema {url}>", "exec")
        with contextlib.suppress(OSError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(cached, marshal.dumps((name, code)))
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - code fastjsonschema generated from the bundled schema
    check: Callable[[Any], Any] = namespace[name]
    return check


def _passes_fast(schema_dir: Path, url: str, obj: dict[str, Any]) -> bool:
    check = _fast_validator(schema_dir, url)
    if check is None:
        return False
    try:
        check(obj)
    except Exception:  # noqa: BLE001 - any refusal (or a fault of the generated code) goes to jsonschema
        return False
    return True


def validate_dict(obj: dict[str, Any], *, schema_dir: Path | None = None) -> list[str]:
    """Validate one STAC object; return problems as ``"[schema] path: message"`` ([] = valid).

    Args:
        obj: a STAC Item, Collection or Catalog as JSON data.
        schema_dir: offline schema bundle (default: the one shipped in the package).

    Returns:
        Up to ten problems per schema, most relevant first.

    Raises:
        CatalogError: the object is not STAC or needs a schema that is not bundled.
    """
    sd = Path(schema_dir or default_schema_dir()).resolve()
    mapping = _mapping(sd)
    urls = schema_urls(obj)
    for url in urls:
        if _norm(url) not in mapping:
            raise CatalogError(f"{obj.get('id', '?')}: schema {url} is not in the offline bundle")
    problems: list[str] = []
    for url in urls:
        if _passes_fast(sd, url, obj):
            continue
        from jsonschema.exceptions import relevance
        from referencing.exceptions import Unresolvable

        try:
            errors = sorted(_jsonschema_validator(sd, url).iter_errors(obj), key=relevance, reverse=True)
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
