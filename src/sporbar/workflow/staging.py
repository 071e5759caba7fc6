"""Copy data between NIRD and cluster work space, verified by sha2-256.

NIRD project areas are mounted on the login nodes of Saga and Betzy but not on
their compute nodes, so inputs kept on NIRD are copied to the cluster work area
before a run (stage-in) and the published products are copied back after it
(stage-out). Every copy is

- verified: the copy's sha2-256 must equal the source's before it is renamed into place;
- atomic: a file is written to a temporary beside its destination and renamed, so an
  interrupted copy never leaves a partial file under the final name;
- resumable: a destination file with the source's size and checksum is kept, so a
  second run after a kill copies only what is missing or different;
- recorded: a manifest (JSON) lists every file with its checksum and size.

Checksums are multihashes (``1220`` + hex), the same as ``file:checksum`` in items.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import MissingInputError, SporbarError
from sporbar.io import atomic_path, dumps_json, sha256_multihash, write_bytes_atomic

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
# What stage-out can copy back: folders below the pipeline root.
OUTPUTS = ("catalog", "maps", "models", "metadata")


class StagingError(SporbarError, OSError):
    """A copy could not be made or did not verify."""


@dataclass
class Manifest:
    """What one staging call copied (``copied``) or found already in place (``kept``)."""

    destination: str
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def copied(self) -> int:
        """Files copied by this call."""
        return sum(1 for f in self.files if f["action"] == "copied")

    @property
    def kept(self) -> int:
        """Files already at the destination with the same size and checksum, left as they were."""
        return sum(1 for f in self.files if f["action"] == "kept")

    @property
    def bytes_copied(self) -> int:
        """Bytes of the files copied by this call."""
        return sum(f["size"] for f in self.files if f["action"] == "copied")

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written: every file sorted by path, and the summary counts."""
        files = sorted(self.files, key=lambda f: f["path"])
        return {
            "version": MANIFEST_VERSION,
            "destination": self.destination,
            "files": files,
            "summary": {
                "files": len(files),
                "copied": self.copied,
                "kept": self.kept,
                "bytes": sum(f["size"] for f in files),
                "bytes_copied": self.bytes_copied,
            },
        }

    def write(self, path: Path) -> None:
        """Write the manifest to ``path`` as JSON (atomically: no half-written manifest)."""
        write_bytes_atomic(Path(path), dumps_json(self.to_dict()).encode("utf-8"))


def _files(src: Path) -> list[tuple[Path, str]]:
    """(file, path relative to ``src``) for a file or every file of a tree, sorted."""
    if src.is_file():
        return [(src, "")]
    return [(f, f.relative_to(src).as_posix()) for f in sorted(src.rglob("*")) if f.is_file()]


def copy_verified(src: Path, dst: Path, checksum: str | None = None) -> str:
    """Copy the file ``src`` to ``dst`` atomically; return the verified checksum.

    Raises:
        StagingError: the copy's checksum differs from the source's (``dst`` is not touched).
    """
    checksum = checksum or sha256_multihash(src)
    with atomic_path(dst) as tmp:
        shutil.copy2(src, tmp)
        got = sha256_multihash(tmp)
        if got != checksum:
            raise StagingError(
                f"{src}: copy to {dst} has checksum {got}, expected {checksum}; "
                "the source changed during the copy or the file system is faulty: run again"
            )
    return checksum


def stage(src: Path | str, dst: Path | str, *, manifest: Manifest | None = None, prefix: str = "") -> Manifest:
    """Copy the file or folder tree ``src`` to ``dst`` (``dst`` is the copy, like ``cp -rT``).

    Files already at the destination with the same size and checksum are kept; others
    are (re)copied and verified. Files at the destination that ``src`` lacks are left.

    Args:
        src: the file or folder to copy.
        dst: the path of the copy.
        manifest: add the entries to this manifest (default: a new one for ``dst``).
        prefix: path of ``dst`` relative to the manifest's destination (for several sources).

    Raises:
        MissingInputError: ``src`` does not exist.
        StagingError: a copy did not verify, or the destination cannot be written.
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise MissingInputError(f"{src}: nothing to stage: no such file or folder (is NIRD mounted on this node?)")
    manifest = manifest if manifest is not None else Manifest(destination=str(dst))
    for f, rel in _files(src):
        target = dst / rel if rel else dst
        name = "/".join(p for p in (prefix, rel) if p) or target.name
        size = f.stat().st_size
        checksum = sha256_multihash(f)
        if target.is_file() and target.stat().st_size == size and sha256_multihash(target) == checksum:
            action = "kept"
        else:
            if target.exists():
                log.info("stage: %s differs from the source; copying again", target)
            try:
                copy_verified(f, target, checksum)
            except OSError as exc:
                if isinstance(exc, StagingError):
                    raise
                raise StagingError(f"{target}: cannot copy {f} there: {exc}") from exc
            action = "copied"
        manifest.files.append({"path": name, "checksum": checksum, "size": size, "action": action})
    log.info("stage: %s -> %s: %d file(s) copied, %d kept", src, dst, manifest.copied, manifest.kept)
    return manifest


def stage_many(sources: Sequence[Path | str], dst_dir: Path | str) -> Manifest:
    """Copy each of ``sources`` to ``dst_dir/<its name>`` and return one manifest."""
    dst_dir = Path(dst_dir)
    manifest = Manifest(destination=str(dst_dir))
    for src in sources:
        src = Path(src)
        stage(src, dst_dir / src.name, manifest=manifest, prefix=src.name)
    return manifest


def settings(cfg: Config) -> dict[str, Any]:
    """The ``staging`` section of the config, with ``work_root`` defaulting to ``root``."""
    s = dict(cfg.data.get("staging") or {})
    s.setdefault("enabled", False)
    s.setdefault("inputs", [])
    s.setdefault("outputs", list(OUTPUTS))
    s["work_root"] = s.get("work_root") or str(cfg.root)
    return s


def nird_area(cfg: Config) -> Path:
    """Where stage-out puts the results: ``<staging.nird_root>/<area.name>``."""
    s = settings(cfg)
    if not s.get("nird_root"):
        raise StagingError(f"{cfg.source}: key staging/nird_root: required to stage to or from NIRD")
    return Path(s["nird_root"]) / str(cfg.data["area"]["name"])


def stage_in_pairs(cfg: Config) -> list[tuple[Path, Path]]:
    """(NIRD source, work copy) of each ``staging.inputs`` entry (relative to ``nird_root``)."""
    s = settings(cfg)
    if s["inputs"] and not s.get("nird_root"):
        raise StagingError(f"{cfg.source}: key staging/nird_root: required by staging/inputs")
    return [(Path(s["nird_root"]) / p, Path(s["work_root"]) / p) for p in s["inputs"]]


def stage_out_sources(cfg: Config) -> list[Path]:
    """The folders below ``root`` that stage-out copies to NIRD (``staging.outputs``)."""
    return [Path(cfg.root) / name for name in settings(cfg)["outputs"]]


def require_dir(path: Path | str) -> None:
    """Fail with a clear message when ``path`` (the NIRD project folder) is not visible here."""
    path = Path(path)
    if not path.is_dir():
        import socket

        raise StagingError(
            f"{path}: not found on {socket.gethostname()}; NIRD project areas are mounted on "
            "Sigma2 login nodes, not compute nodes: run the stage step on a login node "
            "(see README 'Run on Sigma2')"
        )
