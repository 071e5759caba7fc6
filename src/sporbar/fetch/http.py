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

``download_all`` runs several downloads in a bounded thread pool. Credentials come from
environment variables or ``~/.netrc`` (:class:`Credentials`) and only ever travel in
request headers: every URL that reaches a log line, an item or an error goes through
:func:`redact`. :func:`safe_extract` unzips refusing members outside the target folder.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import netrc
import os
import random
import re
import shutil
import stat
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from tqdm import tqdm

from sporbar.errors import InputDataError, SporbarError
from sporbar.io import atomic_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
STREAM_CHUNK = 1 << 16  # small enough that a cut connection keeps most of what arrived
_SECRET_PARAM = re.compile(
    r"(token|sig|signature|key|password|passwd|secret|credential|auth|x-amz-|se$|st$|skoid|sktid)",
    re.IGNORECASE,
)
# multihash prefixes (hex) of the hashes STAC file:checksum uses in practice
_MULTIHASH = {"1220": "sha256", "d50110": "md5", "1114": "sha1", "1340": "sha512"}


class DownloadError(SporbarError, OSError):
    """A product could not be downloaded and verified (names the product, never a secret)."""


class AuthError(DownloadError, PermissionError):
    """The server refused the request (401/403): a credential is missing or wrong."""


class IntegrityError(DownloadError):
    """A downloaded file has the wrong size or checksum, or is not a readable archive."""


# --- secrets ---------------------------------------------------------------------------


def redact(url: str) -> str:
    """``url`` without user:password and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, "REDACTED" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)],
        safe="/:,()*'",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Credentials:
    """Where a source's credentials come from: env var names and/or the ``~/.netrc`` host.

    Only the *names* live here (and thus in configs and items); values are read at
    request time. A bearer token wins over user/password, env vars over ``~/.netrc``.
    """

    user_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    netrc_host: str | None = None

    def login(self) -> tuple[str, str] | None:
        """(user, password) from the env vars, else from ``~/.netrc``, else None."""
        if self.user_env and self.password_env:
            user, pw = os.environ.get(self.user_env), os.environ.get(self.password_env)
            if user and pw:
                return user, pw
        if self.netrc_host:
            try:
                entry = netrc.netrc().authenticators(self.netrc_host)
            except (FileNotFoundError, netrc.NetrcParseError, OSError):
                entry = None
            if entry and entry[0] and entry[2]:
                return entry[0], entry[2]
        return None

    def token(self) -> str | None:
        """The bearer token from ``token_env``, if set."""
        return os.environ.get(self.token_env) if self.token_env else None

    def headers(self) -> dict[str, str]:
        """Request headers carrying the credentials (empty when there are none)."""
        tok = self.token()
        if tok:
            return {"Authorization": f"Bearer {tok}"}
        login = self.login()
        if login:
            return {"Authorization": requests.auth._basic_auth_str(*login)}
        return {}

    def secrets(self) -> list[str]:
        """The secret values currently set (for scrubbing text); never log these."""
        out = [s for s in (self.token(),) if s]
        login = self.login()
        if login:
            out.append(login[1])
        return out

    def describe(self) -> str:
        """Which credential to set, by name only."""
        ways = []
        if self.token_env:
            ways.append(f"the bearer token in ${self.token_env}")
        if self.user_env and self.password_env:
            ways.append(f"${self.user_env} and ${self.password_env}")
        if self.netrc_host:
            ways.append(f"a ~/.netrc entry 'machine {self.netrc_host} login ... password ...'")
        return " or ".join(ways) or "no credentials are configured for this source"


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value and every URL's userinfo/token replaced."""
    text = re.sub(r"https?://[^\s'\"<>]+", lambda m: redact(m.group(0)), text)
    for s in secrets:
        if s:
            text = text.replace(s, "REDACTED")
    return text


# --- checksums -------------------------------------------------------------------------


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
        return f"{self.algo}:{self.hexdigest}"


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file."""
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# --- downloads -------------------------------------------------------------------------


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


def _fetch_once(d: Download, part: Path, policy: Policy) -> Any:
    """Stream ``d.url`` into ``part`` (resuming), retrying transient errors. Returns the hasher."""
    hasher = d.checksum.new() if d.checksum else None
    headers_auth = d.credentials.headers()
    secrets = d.credentials.secrets()
    where = redact(d.url)
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
                    if hasher is not None:
                        hasher = d.checksum.new()  # type: ignore[union-attr]
                        with open(part, "rb") as fh:
                            while chunk := fh.read(CHUNK):
                                hasher.update(chunk)
                    return hasher
                if code == 429 or code >= 500:
                    raise _Transient(f"HTTP {code}", resp)
                if code >= 400:
                    raise DownloadError(f"{d.name}: HTTP {code} from {where}")
                if code == 206 and have:
                    mode = "ab"
                    if hasher is not None:  # hash what is already there, then go on streaming
                        hasher = d.checksum.new()  # type: ignore[union-attr]
                        with open(part, "rb") as fh:
                            while chunk := fh.read(CHUNK):
                                hasher.update(chunk)
                    log.info("%s: resuming at byte %d", d.name, have)
                else:  # 200: the server sends everything (no Range support): restart
                    mode, have = "wb", 0
                    hasher = d.checksum.new() if d.checksum else None
                length = resp.headers.get("Content-Length")
                total = d.size or (int(length) + have if length and length.isdigit() else None)
                if bar is None:
                    bar = tqdm(
                        total=total,
                        initial=have,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=d.name[:40],
                        file=sys.stderr,
                        disable=policy.progress is False
                        or (policy.progress is None and not sys.stderr.isatty()),
                        leave=False,
                    )
                else:
                    bar.reset(total=total)
                    bar.update(have)
                with open(part, mode) as fh:
                    for chunk in resp.iter_content(STREAM_CHUNK):
                        fh.write(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        bar.update(len(chunk))
                return hasher
            except _Transient as err:
                reason, resp_t = str(err), err.response
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
                reason, resp_t = f"{type(err).__name__}: {scrub(str(err), secrets)}", None
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
                os.replace(part, d.dest)
                log.info("%s: %s (%d bytes) verified", d.name, d.dest, size)
                return d.dest
            last = problem
            log.warning("%s: corrupted download (%s), try %d/%d", d.name, problem, attempt, policy.tries)
            part.unlink(missing_ok=True)
        raise IntegrityError(
            f"{d.name}: download from {redact(d.url)} still corrupted after {policy.tries} tries "
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


# --- archives --------------------------------------------------------------------------


def check_zip(path: Path) -> None:
    """Raise IntegrityError unless ``path`` is a zip whose members all read back (CRC)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise IntegrityError(f"{path.name}: not a readable zip ({err})") from err
    if bad is not None:
        raise IntegrityError(f"{path.name}: zip member {bad!r} fails its CRC check")


def safe_extract(zip_path: Path, target: Path) -> list[Path]:
    """Extract ``zip_path`` into folder ``target`` (atomically); return the top-level entries.

    Every member is checked first: absolute paths, ``..`` components, drive letters and
    symbolic links are refused, so nothing can land outside ``target``.

    Raises:
        InputDataError: naming the zip and the offending member (nothing is extracted).
    """
    zip_path, target = Path(zip_path), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise InputDataError(f"{zip_path}: not a zip file: {err}") from err
    with zf:
        tops: set[str] = set()
        for info in zf.infolist():
            name = info.filename
            mode = info.external_attr >> 16
            dest = (root / name).resolve()
            bad = (
                name.startswith(("/", "\\"))
                or re.match(r"^[A-Za-z]:", name)
                or ".." in re.split(r"[/\\]", name)
                or (dest != root and root not in dest.parents)
            )
            if bad:
                raise InputDataError(
                    f"{zip_path}: member {name!r} would be written outside {target}; refusing to "
                    "extract this archive (delete it and fetch it again from a trusted source)"
                )
            if stat.S_ISLNK(mode):
                raise InputDataError(f"{zip_path}: member {name!r} is a symbolic link; refusing to extract")
            tops.add(name.replace("\\", "/").split("/", 1)[0])
        out = []
        for top in sorted(tops):
            final = target / top
            members = [i for i in zf.infolist() if i.filename.replace("\\", "/").split("/", 1)[0] == top]
            with atomic_path(final) as tmp:
                tmp.mkdir()
                for info in members:
                    rel = info.filename.replace("\\", "/").split("/", 1)
                    sub = tmp / rel[1] if len(rel) > 1 and rel[1] else tmp
                    if info.is_dir():
                        sub.mkdir(parents=True, exist_ok=True)
                        continue
                    if len(rel) == 1:  # a file at the top level
                        shutil.rmtree(tmp)
                        with zf.open(info) as src, open(tmp, "wb") as dst:
                            shutil.copyfileobj(src, dst, CHUNK)
                        continue
                    sub.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(sub, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
            out.append(final)
        return out
