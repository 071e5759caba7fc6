"""The one downloader every remote source uses: resumable, verified, retried, redacted.

``download(Download(url, dest, ...))``:

- streams to ``.<name>.part`` in the target folder and renames onto ``dest`` only once
  the size and checksum (MD5 from DHuS, ``file:checksum`` multihash/sha256/md5 from STAC)
  match and the optional ``validate`` hook (e.g. "is a readable zip") passes;
- a connection cut mid-body is resumed with ``Range: bytes=<have>-`` when the server
  answers 206, else restarted; the checksum is computed while streaming (one pass);
- 429, 5xx and connection errors are retried with exponential backoff, honouring
  ``Retry-After`` (seconds or HTTP date), capped at ``max_backoff`` seconds;
- 401/403 fail at once with a message naming the credential to set (env vars or the
  ``~/.netrc`` host), never its value;
- a truncated or corrupted file is deleted and fetched again, up to ``tries`` times,
  then :class:`DownloadError` names the product;
- a product already at ``dest`` with the right checksum is not fetched again.

``download_all`` runs several downloads in a bounded thread pool. Credentials
(:class:`~sporbar.fetch.credentials.Credentials`) only ever travel in request headers;
every URL in a message goes through :func:`~sporbar.fetch.credentials.redact`.
"""

from __future__ import annotations

import email.utils
import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from sporbar.fetch.checksums import CHUNK, Checksum, file_digest
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.errors import AuthError, DownloadError, IntegrityError
from sporbar.redaction import redact_text, redact_url

log = logging.getLogger(__name__)

STREAM_CHUNK = 1 << 16  # small enough that a cut connection keeps most of what arrived


@dataclass
class Download:
    """One file to fetch.

    Attributes:
        url: where from (may carry a signature; only ever shown redacted).
        dest: final path; the file appears there only once verified.
        name: product name for messages (default: the file name).
        size: expected size in bytes, if known.
        checksum: expected digest, if known.
        credentials: where the credentials come from.
        validate: extra check of the complete temporary file (raise IntegrityError).
    """

    url: str
    dest: Path
    name: str = ""
    size: int | None = None
    checksum: Checksum | None = None
    credentials: Credentials = field(default_factory=Credentials)
    validate: Callable[[Path], None] | None = None

    def __post_init__(self) -> None:
        """Accept ``dest`` as a string; name the download after its file unless given a name."""
        self.dest = Path(self.dest)
        self.name = self.name or self.dest.name


@dataclass(frozen=True)
class Policy:
    """Retry and integrity policy.

    Attributes:
        tries: fetches of a file that arrives corrupted before giving up.
        retries: transient failures (429, 5xx, connection errors) per fetch.
        backoff: first wait in seconds; doubled each retry (with jitter).
        max_backoff: cap on any wait, including ``Retry-After``.
        timeout: connect/read timeout in seconds.
        progress: show a tqdm bar on stderr (None: only when stderr is a terminal).
    """

    tries: int = 3
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    timeout: float = 60.0
    progress: bool | None = None


_local = threading.local()


def _session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.trust_env = False  # no implicit ~/.netrc or proxies: credentials are explicit
        s.headers["User-Agent"] = "sporbar"
        _local.session = s
    return s


def _retry_after(resp: requests.Response | None) -> float | None:
    if resp is None:
        return None
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _wait(policy: Policy, attempt: int, resp: requests.Response | None) -> float:
    ra = _retry_after(resp)
    delay = ra if ra is not None else policy.backoff * (2**attempt) * (1 + 0.25 * random.random())
    return min(delay, policy.max_backoff)


def _part_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.part"


def _verify_existing(d: Download) -> bool:
    if not d.dest.is_file() or d.checksum is None:
        return False
    if d.size is not None and d.dest.stat().st_size != d.size:
        return False
    return file_digest(d.dest, d.checksum.algo) == d.checksum.hexdigest


def _hasher_of(part: Path, checksum: Checksum | None) -> Any:
    """A hasher of ``checksum``'s algorithm fed with the bytes already in ``part`` (None: no checksum)."""
    if checksum is None:
        return None
    hasher = checksum.new()
    with part.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            hasher.update(chunk)
    return hasher


def _progress_bar(name: str, total: int | None, have: int, policy: Policy) -> tqdm:
    """A byte progress bar on stderr (shown only on a terminal unless ``policy.progress`` says)."""
    return tqdm(
        total=total,
        initial=have,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name[:40],
        file=sys.stderr,
        disable=policy.progress is False or (policy.progress is None and not sys.stderr.isatty()),
        leave=False,
    )


def _fetch_once(d: Download, part: Path, policy: Policy) -> Any:
    """Stream ``d.url`` into ``part`` (resuming), retrying transient errors. Returns the hasher."""
    hasher = d.checksum.new() if d.checksum else None
    headers_auth = d.credentials.headers()
    where = redact_url(d.url)
    attempt = 0
    bar = None
    try:
        while True:
            have = part.stat().st_size if part.exists() else 0
            headers = dict(headers_auth)
            if have:
                headers["Range"] = f"bytes={have}-"
            resp: requests.Response | None = None
            try:
                resp = _session().get(d.url, headers=headers, stream=True, timeout=policy.timeout)
                code = resp.status_code
                if code in (401, 403):
                    raise AuthError(
                        f"{d.name}: HTTP {code} from {where}: the server refused the credentials "
                        f"(missing or wrong); set {d.credentials.describe()}"
                    )
                if code == 416 and have:  # nothing left to send: the part may be complete
                    resp.close()
                    return _hasher_of(part, d.checksum)
                if code == 429 or code >= 500:
                    raise _Transient(f"HTTP {code}", resp)
                if code >= 400:
                    raise DownloadError(f"{d.name}: HTTP {code} from {where}")
                if code == 206 and have:
                    mode = "ab"
                    hasher = _hasher_of(part, d.checksum)  # what is already there, then go on streaming
                    log.info("%s: resuming at byte %d", d.name, have)
                else:  # 200: the server sends everything (no Range support): restart
                    mode, have = "wb", 0
                    hasher = d.checksum.new() if d.checksum else None
                length = resp.headers.get("Content-Length")
                total = d.size or (int(length) + have if length and length.isdigit() else None)
                if bar is None:
                    bar = _progress_bar(d.name, total, have, policy)
                else:
                    bar.reset(total=total)
                    bar.update(have)
                with part.open(mode) as fh:
                    for chunk in resp.iter_content(STREAM_CHUNK):
                        fh.write(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        bar.update(len(chunk))
                return hasher
            except _Transient as err:
                reason, resp_t = str(err), err.response
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
                reason, resp_t = f"{type(err).__name__}: {redact_text(str(err))}", None
            finally:
                if resp is not None:
                    resp.close()
            if attempt >= policy.retries:
                raise DownloadError(
                    f"{d.name}: giving up after {attempt + 1} requests to {where}: {reason}"
                )
            delay = _wait(policy, attempt, resp_t)
            log.warning("%s: %s; retry %d/%d in %.1fs", d.name, reason, attempt + 1, policy.retries, delay)
            time.sleep(delay)
            attempt += 1
    finally:
        if bar is not None:
            bar.close()


class _Transient(Exception):
    def __init__(self, msg: str, response: requests.Response | None) -> None:
        super().__init__(msg)
        self.response = response


def download(d: Download, policy: Policy | None = None) -> Path:
    """Fetch ``d`` and return ``d.dest``, verified; see the module docstring.

    Raises:
        AuthError: 401/403 (names the credential to set).
        IntegrityError: still corrupted after ``policy.tries`` fetches.
        DownloadError: transient errors outlasted ``policy.retries``, or another HTTP error.
    """
    policy = policy or Policy()
    if _verify_existing(d):
        log.info("%s: already present and verified at %s", d.name, d.dest)
        return d.dest
    d.dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(d.dest)
    last = ""
    try:
        for attempt in range(1, policy.tries + 1):
            hasher = _fetch_once(d, part, policy)
            size = part.stat().st_size
            problem = None
            if d.size is not None and size != d.size:
                problem = f"size {size} bytes, expected {d.size}"
            elif d.checksum is not None and hasher is not None and hasher.hexdigest() != d.checksum.hexdigest:
                problem = f"{d.checksum.algo} {hasher.hexdigest()}, expected {d.checksum.hexdigest}"
            elif d.validate is not None:
                try:
                    d.validate(part)
                except IntegrityError as err:
                    problem = str(err)
            if problem is None:
                part.replace(d.dest)
                log.info("%s: %s (%d bytes) verified", d.name, d.dest, size)
                return d.dest
            last = problem
            log.warning("%s: corrupted download (%s), try %d/%d", d.name, problem, attempt, policy.tries)
            part.unlink(missing_ok=True)
        raise IntegrityError(
            f"{d.name}: download from {redact_url(d.url)} still corrupted after {policy.tries} tries "
            f"({last}); the file was deleted; check the source or try later"
        )
    except BaseException:
        if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            part.unlink(missing_ok=True)  # an interrupted run (Ctrl-C, killed job) keeps it to resume
        raise


def download_all(items: Sequence[Download], policy: Policy | None = None, *, workers: int = 4) -> list[Path]:
    """Download ``items`` with at most ``workers`` at once; return their paths in order.

    Raises:
        DownloadError: the first failure (the others still run to completion).
    """
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(download, d, policy) for d in items]
        return [f.result() for f in futures]


def get_range(url: str, start: int, length: int, *, credentials: Credentials, policy: Policy, name: str) -> bytes:
    """Bytes ``start`` .. ``start + length - 1`` of ``url`` by one Range request, retrying transient errors.

    A server that ignores Range (200 with the whole body) still gives the right bytes.

    Raises:
        AuthError: 401/403 (names the credential to set).
        DownloadError: another HTTP error, a short answer, or still failing after ``policy.retries``.
    """
    where = redact_url(url)
    headers = {**credentials.headers(), "Range": f"bytes={start}-{start + length - 1}"}
    attempt = 0
    while True:
        try:
            resp = _session().get(url, headers=headers, timeout=policy.timeout)
            code = resp.status_code
            if code in (401, 403):
                raise AuthError(
                    f"{name}: HTTP {code} from {where}: the server refused the credentials "
                    f"(missing or wrong); set {credentials.describe()}"
                )
            if code == 429 or code >= 500:
                raise _Transient(f"HTTP {code}", resp)
            if code not in (200, 206):
                raise DownloadError(f"{name}: HTTP {code} from {where} (bytes {start}-{start + length - 1})")
            if code == 206 and not resp.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
                raise DownloadError(
                    f"{name}: {where} answered bytes {start}-{start + length - 1} with "
                    f"Content-Range {resp.headers.get('Content-Range')!r}"
                )
            # 206 from the start asked (a server may send past the end asked); 200: the whole file
            data = resp.content[:length] if code == 206 else resp.content[start : start + length]
            if len(data) != length:
                raise _Transient(f"got {len(data)} bytes, asked for {length}", resp)
            return data
        except _Transient as err:
            reason, resp_t = str(err), err.response
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
            reason, resp_t = f"{type(err).__name__}: {redact_text(str(err))}", None
        if attempt >= policy.retries:
            raise DownloadError(f"{name}: giving up after {attempt + 1} range requests to {where}: {reason}")
        delay = _wait(policy, attempt, resp_t)
        log.warning("%s: %s; retry %d/%d in %.1fs", name, reason, attempt + 1, policy.retries, delay)
        time.sleep(delay)
        attempt += 1
