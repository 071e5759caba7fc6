"""Record a step's output as a STAC item next to its data.

Every sporbar command that writes data ends with :func:`record_item`: it adds the
processing extension, ``derived_from`` links to the input items, and ``file:``
checksum and size for every asset, then writes the item atomically. The data is
written first and the item last, so an item's presence means its data is complete.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from sporbar.errors import MissingInputError
from sporbar.io import dumps_json, sha256_multihash, size_of, write_bytes_atomic
from sporbar.stac import extensions as ext
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
        target = Path(asset.href) if os.path.isabs(asset.href) else folder / asset.href
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

    Raises:
        MissingInputError: the file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: item not found (has the step that makes it run?)")
    return pystac.Item.from_file(str(path))


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
    return Path(href) if os.path.isabs(href) else (Path(item_path).parent / href).resolve()
