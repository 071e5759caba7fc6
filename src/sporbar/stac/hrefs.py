"""Hrefs and JSON files of STAC objects on disk: the helpers every catalog walker shares.

Local hrefs are file paths, relative to the JSON file that holds them or absolute (also as
``file://`` URLs); anything else is a URL that offline tools leave alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
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


# Every run writes its effective config at its root (sporbar.workflow.effective): the files
# that mark the folder a delivery is made of (the catalog, the data, the config). Names as in
# sporbar.config (EFFECTIVE_CONFIG_DIR), not imported: verify must not pay for the grid imports.
RUN_CONFIG_FILENAME: Final = "config.yaml"
RUN_CONFIG_DIR: Final = "config"
RUN_CONFIG_GLOB: Final = "effective-*.yaml"


def run_root(path: Path) -> Path | None:
    """The root of the run ``path`` belongs to.

    That is the nearest folder above it holding the run's effective config
    (``config/effective-<hash>.yaml``, or ``config.yaml`` in older roots).

    Args:
        path: a file of the run (an item, a catalog copy, the catalog).

    Returns:
        The folder, or None when no folder above ``path`` holds a run's config.
    """
    for cand in Path(path).resolve().parents:
        if (cand / RUN_CONFIG_FILENAME).is_file() or any((cand / RUN_CONFIG_DIR).glob(RUN_CONFIG_GLOB)):
            return cand
    return None


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
