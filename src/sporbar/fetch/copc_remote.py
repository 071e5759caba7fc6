"""The points of an area from a remote COPC file, by HTTP range requests, into a local LAZ.

A COPC (Cloud-Optimized Point Cloud) is a LAZ file whose points are grouped in an octree,
with a hierarchy that says where each node's compressed chunk lies. laspy's ``CopcReader``
reads the header and hierarchy, then only the chunks of the nodes that meet a query box.
Over HTTP that is a handful of range requests instead of the whole file: a national
delivery of 1 km COPC tiles is fetched as the area needs it, not whole.

laspy's own HTTP reader sends no credentials and has no timeout (a hung server hangs the
job), so :class:`RangeFile` gives ``CopcReader`` a file object whose reads are range
requests through :func:`sporbar.fetch.download.get_range` (the credentials, timeout and
retries of the source). The subset is written as a plain LAZ with the file's header fields,
point format and CRS records; the COPC records are dropped, since the subset is not an
octree.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
from laspy.vlrs.vlrlist import VLRList

from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Policy, get_range
from sporbar.fetch.errors import IntegrityError
from sporbar.io import atomic_path
from sporbar.las import READ_ERRORS, Bounds
from sporbar.redaction import redact_url

log = logging.getLogger(__name__)

#: the VLR/EVLR user id of COPC's own records (info, hierarchy), dropped from a subset
COPC_USER_ID = "copc"


class RangeFile(io.RawIOBase):
    """A read-only, seekable file object over ``url`` whose reads are HTTP range requests.

    Attributes:
        bytes_read: bytes fetched so far.
        requests: range requests made so far.
    """

    def __init__(self, url: str, *, credentials: Credentials, policy: Policy, name: str) -> None:
        """Open ``url`` (nothing is fetched until the first read)."""
        super().__init__()
        self.url, self.credentials, self.policy, self.name = url, credentials, policy, name
        self.pos = 0
        self.bytes_read = 0
        self.requests = 0

    def readable(self) -> bool:
        """Yes."""
        return True

    def seekable(self) -> bool:
        """Yes: a seek moves the start of the next range."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (from the start or the current position; the end is unknown)."""
        if whence == io.SEEK_SET:
            self.pos = offset
        elif whence == io.SEEK_CUR:
            self.pos += offset
        else:
            raise io.UnsupportedOperation(f"{self.name}: seek from the end of a remote file")
        return self.pos

    def tell(self) -> int:
        """The current position."""
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes from the current position by one range request."""
        if size is None or size < 0:
            raise io.UnsupportedOperation(f"{self.name}: read to the end of a remote file")
        if size == 0:
            return b""
        data = get_range(self.url, self.pos, size, credentials=self.credentials, policy=self.policy, name=self.name)
        self.pos += len(data)
        self.bytes_read += len(data)
        self.requests += 1
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class CopcSubset:
    """What :func:`fetch_copc_subset` wrote.

    Attributes:
        path: the local LAZ.
        points: points in it.
        bytes_read: bytes fetched from the remote file.
        requests: range requests made.
        bounds: the query box, in the file's CRS.
    """

    path: Path
    points: int
    bytes_read: int
    requests: int
    bounds: Bounds


def fetch_copc_subset(
    url: str, bounds: Bounds, dest: Path, *, credentials: Credentials, policy: Policy, name: str
) -> CopcSubset:
    """Write the points of ``url`` inside ``bounds`` (its own CRS; all heights) to the LAZ ``dest``.

    Raises:
        AuthError, DownloadError: see :func:`sporbar.fetch.download.get_range`.
        IntegrityError: the remote file is not a readable COPC (names it).
    """
    where = redact_url(url)
    remote = RangeFile(url, credentials=credentials, policy=policy, name=name)
    try:
        with laspy.CopcReader(remote, close_fd=False) as reader:
            box = laspy.copc.Bounds(mins=np.array(bounds[:2], dtype=float), maxs=np.array(bounds[2:], dtype=float))
            points = reader.query(bounds=box)
            header = _plain_header(reader.header)
    except READ_ERRORS as err:
        raise IntegrityError(f"{name}: {where} is not a readable COPC file: {err}") from err
    header.point_count = 0
    with atomic_path(dest) as tmp, laspy.open(str(tmp), mode="w", header=header, do_compress=True) as writer:
        if len(points):
            writer.write_points(points)
    log.info(
        "%s: %d points inside %s from %s in %d range requests (%d bytes)",
        name, len(points), [round(v, 2) for v in bounds], where, remote.requests, remote.bytes_read,
    )  # fmt: skip
    return CopcSubset(Path(dest), len(points), remote.bytes_read, remote.requests, bounds)


def _plain_header(copc: laspy.LasHeader) -> laspy.LasHeader:
    """A LAZ header like ``copc``'s (format, version, scales, offsets, dates, CRS), without COPC's records."""
    header = laspy.LasHeader(point_format=copc.point_format, version=copc.version)
    header.scales, header.offsets = copc.scales, copc.offsets
    for attr in ("system_identifier", "generating_software", "creation_date", "global_encoding", "file_source_id"):
        setattr(header, attr, getattr(copc, attr))
    header.vlrs = VLRList(v for v in copc.vlrs if v.user_id != COPC_USER_ID)
    header.evlrs = None
    return header
