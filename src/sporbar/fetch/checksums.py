"""Expected digests of files (``md5:<hex>``, STAC ``file:checksum`` multihashes) and file digests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
# multihash prefixes (hex) of the hashes STAC file:checksum uses in practice
_MULTIHASH = {"1220": "sha256", "d50110": "md5", "1114": "sha1", "1340": "sha512"}


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algo`` one of md5, sha1, sha256, sha512; ``hexdigest`` lowercase."""

    algo: str
    hexdigest: str

    @classmethod
    def parse(cls, value: str, default_algo: str = "md5") -> Checksum:
        """From ``"md5:<hex>"``, ``"sha256:<hex>"``, a multihash hex (``1220...``) or bare hex."""
        value = value.strip()
        if ":" in value:
            algo, hexd = value.split(":", 1)
            return cls(algo.lower().replace("-", ""), hexd.lower())
        low = value.lower()
        for prefix, algo in _MULTIHASH.items():
            n = hashlib.new(algo).digest_size * 2
            if low.startswith(prefix) and len(low) == len(prefix) + n:
                return cls(algo, low[len(prefix) :])
        return cls(default_algo, low)

    def new(self) -> Any:
        """A fresh hashlib object for this algorithm."""
        return hashlib.new(self.algo)

    def __str__(self) -> str:
        """``<algo>:<hex digest>``, as messages quote a checksum."""
        return f"{self.algo}:{self.hexdigest}"


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file."""
    h = hashlib.new(algo)
    with Path(path).open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
