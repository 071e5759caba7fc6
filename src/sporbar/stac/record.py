"""Record a step's output as a STAC item next to its data.

Every sporbar command that writes data ends with :func:`record_item`: it adds the
processing extension, ``derived_from`` links to the input items, and ``file:``
checksum and size for every asset, then writes the item atomically. The data is
written first and the item last, so an item's presence means its data is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from sporbar.checksum_cache import CACHE_SUBDIR, cached_sha256
from sporbar.errors import InputDataError, MissingInputError
from sporbar.io import dumps_json, sha256_multihash, size_of, write_bytes_atomic
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import run_root
from sporbar.stac.provenance import Provenance, processing_properties

ITEM_FILENAME = "item.json"


@dataclass(frozen=True)
class Step:
    """What a step did: recorded as ``processing:lineage`` and ``processing:expression``.

    Attributes:
        lineage: what was done, in words (one or two sentences).
        command: the sporbar sub-command, e.g. ``"ard"``.
        parameters: the command's parameters (JSON-serialisable), inputs as paths.
        rule: the Snakemake rule that ran it, if any.
    """

    lineage: str
    command: str
    parameters: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None

    def expression(self) -> dict[str, Any]:
        """The ``processing:expression`` object."""
        expr: dict[str, Any] = {"command": f"sporbar {self.command}", "parameters": self.parameters}
        if self.rule:
            expr["rule"] = self.rule
        return {"format": "sporbar-cli", "expression": expr}


def record_item(
    item: pystac.Item,
    item_path: Path,
    *,
    inputs: Sequence[Path],
    step: Step,
    provenance: Provenance,
) -> dict[str, Any]:
    """Finish ``item`` with provenance and write it to ``item_path`` atomically.

    Asset hrefs may be absolute or relative to ``item_path``'s folder; they are
    written relative. Every asset file must exist (it is checksummed).

    Args:
        item: the item as built by a product builder (assets, geometry, extensions).
        item_path: where to write the item JSON.
        inputs: paths of the items of every input (become ``derived_from`` links).
        step: what was done.
        provenance: who, where, with which code and config.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: an asset file or an input item does not exist.
    """
    item_path = Path(item_path)
    folder = item_path.parent.resolve()
    item.clear_links()
    for key in sorted(item.assets):
        asset = item.assets[key]
        target = Path(asset.href) if Path(asset.href).is_absolute() else folder / asset.href
        if not target.exists():
            raise MissingInputError(f"{target}: asset {key!r} of item {item.id!r} does not exist")
        asset.href = _relative(target, folder)
        asset.extra_fields[ext.FILE_CHECKSUM] = sha256_multihash(target)
        asset.extra_fields[ext.FILE_SIZE] = size_of(target)
    for inp in sorted({Path(p).resolve() for p in inputs}):
        if not inp.exists():
            raise MissingInputError(f"{inp}: input item does not exist")
        src = pystac.Item.from_file(str(inp))
        item.add_link(
            pystac.Link(ext.DERIVED_FROM, _relative(inp, folder), media_type=ext.JSON, title=src.id)
        )
    item.properties.update(processing_properties(provenance))
    item.properties[ext.PROCESSING_LINEAGE] = step.lineage
    item.properties[ext.PROCESSING_EXPRESSION] = step.expression()
    _add_extension(item, ext.PROCESSING_SCHEMA_URI)
    _add_extension(item, ext.FILE_SCHEMA_URI)
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    d["stac_extensions"] = sorted(set(d.get("stac_extensions", [])))
    write_bytes_atomic(item_path, dumps_json(d).encode("utf-8"))
    return d


@dataclass(frozen=True)
class RunContext:
    """Who runs a step, built once at the CLI edge and handed down to every runner.

    Attributes:
        provenance: code, host, time, config hash and container of this process.
        rule: the Snakemake rule that runs the command, if any.
    """

    provenance: Provenance
    rule: str | None = None

    @classmethod
    def current(cls, *, config_hash: str | None = None, rule: str | None = None) -> RunContext:
        """The context of the running process (see :meth:`Provenance.current`)."""
        return cls(provenance=Provenance.current(config_hash=config_hash), rule=rule)

    def record(
        self,
        item: pystac.Item,
        item_path: Path,
        *,
        inputs: Sequence[Path],
        lineage: str,
        command: str,
        parameters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """:func:`record_item` with this context's rule and provenance."""
        step = Step(lineage=lineage, command=command, parameters=parameters or {}, rule=self.rule)
        return record_item(item, item_path, inputs=inputs, step=step, provenance=self.provenance)


def _add_extension(item: pystac.Item, uri: str) -> None:
    if uri not in item.stac_extensions:
        item.stac_extensions.append(uri)


def _relative(target: Path, folder: Path) -> str:
    rel = os.path.relpath(Path(target).resolve(), folder)
    return rel if rel.startswith("..") else f"./{rel}"


def read_item(path: Path) -> pystac.Item:
    """Read an item JSON file.

    Args:
        path: the item (an ``item.json`` a step wrote).

    Returns:
        The item, its self href set to ``path``.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: it is not a STAC item (a data file such as a GeoTIFF or LAZ, JSON of
            another kind, or an item pystac cannot read); the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: item not found (has the step that makes it run?)")
    hint = "give the item.json a step wrote (e.g. results/raw/lidar/<lidar_tile>/item.json), not a data file"
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputDataError(f"{path}: not a STAC item (not JSON: {err}); {hint}") from err
    except IsADirectoryError as err:
        raise InputDataError(f"{path}: not a STAC item (a folder); {hint}") from err
    kind = data.get("type") if isinstance(data, dict) else type(data).__name__
    if kind != "Feature":
        raise InputDataError(f"{path}: not a STAC item (JSON of type {kind!r}, expected 'Feature'); {hint}")
    try:
        return pystac.Item.from_dict(data, href=str(path.resolve()), migrate=True, preserve_dict=False)
    except (pystac.STACError, pystac.STACTypeError, KeyError, TypeError, ValueError) as err:
        raise InputDataError(f"{path}: not a readable STAC item ({type(err).__name__}: {err})") from err


def read_input_item(path: Path, assets: Iterable[str]) -> pystac.Item:
    """Read an input item and check the files of the ``assets`` a stage is about to read.

    Args:
        path: the input item.
        assets: keys of the assets the stage reads (each must exist).

    Returns:
        The item.

    Raises:
        MissingInputError: the item, an asset or its file does not exist.
        InputDataError: the item is not an item, or a file's size or checksum differs from
            the recorded one (names item, asset and file).
    """
    item = read_item(path)
    check_input_assets(path, item, assets)
    return item


def check_input_assets(path: Path, item: pystac.Item, assets: Iterable[str]) -> None:
    """Check that the files of ``assets`` of ``item`` (read from ``path``) are as recorded.

    Each file must have the ``file:size`` and ``file:checksum`` the item records, so a
    stage never works on data changed (or damaged) after the step that made it. A file
    unchanged (same stat) since an earlier job of the run hashed it is not hashed again
    (:mod:`sporbar.checksum_cache`).

    Raises:
        MissingInputError: an asset or its file does not exist.
        InputDataError: a file's size or checksum differs from the recorded one.
    """
    root = run_root(path)
    cache = root / CACHE_SUBDIR if root is not None else None
    for key in sorted(set(assets)):
        target = asset_path(path, item, key)
        if not target.exists():
            raise MissingInputError(f"{target}: asset {key!r} of item {item.id!r} ({path}) does not exist")
        recorded = item.assets[key].extra_fields
        fix = "the file changed after the step that made it; re-run that step or restore the file"
        size = recorded.get(ext.FILE_SIZE)
        if size is not None and size != (actual := size_of(target)):
            raise InputDataError(
                f"{target}: asset {key!r} of item {item.id!r} ({path}) is {actual} bytes, "
                f"the item records {size}; {fix}"
            )
        checksum = recorded.get(ext.FILE_CHECKSUM)
        if checksum is not None and checksum != (actual_sum := cached_sha256(target, cache)):
            raise InputDataError(
                f"{target}: asset {key!r} of item {item.id!r} ({path}) has checksum {actual_sum}, "
                f"the item records {checksum}; {fix}"
            )


def asset_path(item_path: Path, item: pystac.Item, key: str) -> Path:
    """Local path of asset ``key`` of the item stored at ``item_path``.

    Raises:
        MissingInputError: the item has no such asset (names the keys it has).
    """
    if key not in item.assets:
        raise MissingInputError(
            f"{item_path}: item {item.id!r} has no asset {key!r} (has {', '.join(sorted(item.assets))})"
        )
    href = item.assets[key].href
    return Path(href) if Path(href).is_absolute() else (Path(item_path).parent / href).resolve()
