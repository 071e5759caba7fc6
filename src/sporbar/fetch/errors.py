"""The errors of the fetch stage: downloads, integrity, credentials, empty searches."""

from __future__ import annotations

from sporbar.errors import SporbarError


class DownloadError(SporbarError, OSError):
    """A product could not be downloaded and verified (names the product, never a secret)."""


class AuthError(DownloadError, PermissionError):
    """The server refused the request (401/403): a credential is missing or wrong."""


class IntegrityError(SporbarError, OSError):
    """A file does not match what its source says of it, or is not a readable archive.

    What the source says: its size or checksum (SAFE manifest, STAC ``file:*``, the download's
    MD5) or its completeness (the length a LAS header states).
    """


class NothingFoundError(SporbarError, LookupError):
    """A search found no products; the message names the AOI, dates and filters."""
