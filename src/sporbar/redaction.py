"""Keep secrets out of every text sporbar writes: exception messages, log records, quoted server bodies.

Credentials are read at request time (:class:`sporbar.fetch.credentials.Credentials`), which
registers every value it reads here; :func:`redact_text` then replaces each registered secret in
all the encodings it travels in (plain, URL-encoded, base64 as in an HTTP Basic header, alone
or inside ``user:password``), every ``Authorization: Basic``/``Bearer`` value, the userinfo of
every URL and secret-looking query values. The CLI installs :class:`RedactingFilter` on its log
handlers, so log files, Snakemake's logs and the console never hold a secret; fetch code runs
every server text it quotes through :func:`quote_body`, which also caps it.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
MAX_QUOTE = 500  # characters of a server's answer quoted in a message
_MIN_SECRET = 4  # shorter values are too likely to occur by chance to be replaced everywhere

_SECRET_PARAM = re.compile(
    r"(token|sig|signature|key|password|passwd|secret|credential|auth|x-amz-|se$|st$|skoid|sktid)",
    re.IGNORECASE,
)
# the value of an HTTP Basic or Bearer authorization (at least one non-letter: not a word of prose)
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer)(\s+|%20|\+)(?=[A-Za-z0-9+/=._~\-]*[0-9+/=._~\-])[A-Za-z0-9+/=._~\-]{8,}")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember secret values (passwords, tokens) so that :func:`redact_text` replaces them everywhere."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= _MIN_SECRET)


def register_login(user: str, password: str) -> None:
    """Remember a login: the password, and ``user:password`` (what an HTTP Basic header encodes)."""
    register_secret(password, f"{user}:{password}")


@functools.lru_cache(maxsize=256)
def _patterns(secret: str) -> tuple[re.Pattern[str], ...]:
    """Patterns of the forms ``secret`` travels in.

    Plain, URL-encoded, and base64 (whole, or inside the base64 of longer text such as
    ``user:password``, at any of the three byte alignments).
    """
    raw = secret.encode("utf-8")
    plain = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    out = [re.compile(re.escape(f)) for f in sorted(plain, key=len, reverse=True)]
    cores = set()
    for pad in (0, 1, 2):
        enc = base64.b64encode(b"\0" * pad + raw).decode()
        # the characters set by the secret's bytes alone, whatever surrounds it
        start, end = -(-pad * 4 // 3), ((pad + len(raw)) // 3) * 4
        if end - start >= _MIN_SECRET:
            cores.add(enc[start:end])
    # a core with the few base64 characters around it that mix in neighbouring bytes
    out += [re.compile(rf"[A-Za-z0-9+/]{{0,3}}{re.escape(c)}[A-Za-z0-9+/]{{0,3}}=*") for c in cores]
    return tuple(out)


def redact_url(url: str) -> str:
    """``url`` without user:password and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "<unparseable URL>"
    query = urlencode(
        [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)],
        safe="/:,()*'",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every registered (and given) secret, auth header value and URL credential replaced."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    with _lock:
        known = set(_secrets)
    known.update(s for s in secrets if s and len(s) >= _MIN_SECRET)
    for secret in sorted(known, key=len, reverse=True):
        for pattern in _patterns(secret):
            text = pattern.sub(REDACTED, text)
    return text


def quote_body(text: str, limit: int = MAX_QUOTE) -> str:
    """A server's answer as quoted in a message: redacted, on one line, cut to ``limit`` characters."""
    one = " ".join(redact_text(text).split())
    return one if len(one) <= limit else f"{one[:limit]}... ({len(one) - limit} more characters)"


class RedactingFilter(logging.Filter):
    """A log filter that redacts each record's message and traceback (see :func:`redact_text`)."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 (logging's name)
        """Replace the record's message (arguments merged in) with its redacted text; keep every record."""
        message = record.getMessage()
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Add one :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
