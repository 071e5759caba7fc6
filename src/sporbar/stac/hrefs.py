"""Hrefs and JSON files of STAC objects on disk: the helpers every catalog walker shares.

Local hrefs are file paths, relative to the JSON file that holds them or absolute (also as
``file://`` URLs); anything else is a URL that offline tools leave alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sporbar.errors import CatalogError, MissingInputError
from sporbar.stac import extensions as ext


def is_local_href(href: str) -> bool:
    """True when ``href`` is a file path (relative or absolute), not a URL."""
    scheme = urlparse(href).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def resolve_href(href: str, base_dir: Path) -> Path:
    """Absolute path of a local ``href`` written relative to ``base_dir``."""
    if href.startswith("file://"):
        href = urlparse(href).path
    p = Path(href)
    return (p if p.is_absolute() else base_dir / p).resolve()


def relative_href(target: Path, base_dir: Path) -> str:
    """``target`` relative to ``base_dir`` in STAC style (``./x`` or ``../x``)."""
    rel = Path(os.path.relpath(target, base_dir)).as_posix()
    return rel if rel.startswith("..") else f"./{rel}"


def is_inside(target: Path, folder: Path) -> bool:
    """True when the resolved ``target`` is ``folder`` or lies below it (links followed)."""
    return Path(target).resolve().is_relative_to(Path(folder).resolve())


def read_json(path: Path) -> dict[str, Any]:
    """Read a STAC JSON file.

    Args:
        path: the JSON file.

    Returns:
        The JSON object.

    Raises:
        MissingInputError: the file does not exist.
        CatalogError: it is not a JSON object.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MissingInputError(f"{path}: STAC file not found") from err
    except IsADirectoryError as err:
        raise CatalogError(f"{path}: is a folder, not a STAC JSON file") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CatalogError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: not a STAC object (JSON {type(data).__name__})")
    return data


def derived_from_paths(item: Mapping[str, Any], item_path: Path) -> list[Path]:
    """Resolved paths of the local ``derived_from`` links of an item stored at ``item_path``."""
    return [
        resolve_href(link["href"], item_path.parent)
        for link in item.get("links", [])
        if link.get("rel") == ext.DERIVED_FROM and is_local_href(link.get("href", ""))
    ]
