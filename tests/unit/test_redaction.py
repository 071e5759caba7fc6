"""sporbar.redaction: secrets out of messages and log records in every encoding (issue 12.5)."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest

from sporbar.redaction import (
    MAX_QUOTE,
    REDACTED,
    RedactingFilter,
    install_log_filter,
    quote_body,
    redact_text,
    redact_url,
    register_login,
    register_secret,
)

USER, PASSWORD, TOKEN = "bob", "s3cr3t/p+ss:w0rd", "eyJhbGciOiJIUzI1NiJ9.payload.sig-xyz"


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_login(USER, PASSWORD)
    register_secret(TOKEN)


def _forms() -> list[str]:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [PASSWORD, quote(PASSWORD, safe=""), quote_plus(PASSWORD), basic, basic.rstrip("="),
            base64.b64encode(PASSWORD.encode()).decode(), TOKEN, quote(TOKEN, safe="")]


@pytest.mark.parametrize("form", range(8))
def test_every_encoding_of_a_registered_secret_is_replaced(form: int) -> None:
    value = _forms()[form]
    out = redact_text(f"server said: <{value}> end")
    assert value not in out and REDACTED in out and out.startswith("server said: <") and out.endswith("> end")


@pytest.mark.parametrize("user", ["x", "ab", "carol", "daniel-q"])
def test_base64_of_any_user_with_the_password_hides_it(user: str) -> None:
    """Basic auth of another user name still encodes the password: its base64 core goes at any offset."""
    enc = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    out = redact_text(enc)
    assert REDACTED in out
    leftover = out.replace(REDACTED, "")
    assert base64.b64encode(f"{user}:".encode()).decode().startswith(leftover)  # at most the user name is left


def test_unregistered_auth_headers_and_url_credentials_are_replaced() -> None:
    text = ("Authorization: Basic dXNlcjpwYXNzd29yZDE= and Bearer abc.def-123456 at "
            "https://u:p4ss@host.example/x?sig=abc123&page=2 (set the bearer token in $TOKEN_ENV)")
    out = redact_text(text)
    assert "dXNlcjpwYXNzd29yZDE" not in out and "abc.def-123456" not in out
    assert "u:p4ss" not in out and "abc123" not in out and "page=2" in out
    assert "set the bearer token in $TOKEN_ENV" in out  # prose stays prose
    assert redact_url("https://u:p@h:8080/a?token=t&x=1") == "https://h:8080/a?token=REDACTED&x=1"


def test_quote_body_is_redacted_one_line_and_capped() -> None:
    body = f"<p>{PASSWORD}</p>\n" + "y" * 5000
    out = quote_body(body)
    assert PASSWORD not in out and "\n" not in out
    assert len(out) < MAX_QUOTE + 40 and out.endswith("more characters)")


def test_log_filter_redacts_message_args_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test_redaction")
    caplog.handler.addFilter(RedactingFilter())
    try:
        raise RuntimeError(f"failed with {quote_plus(PASSWORD)}")
    except RuntimeError:
        logger.exception("login %s:%s refused", USER, PASSWORD)
    text = caplog.text
    assert PASSWORD not in text and quote_plus(PASSWORD) not in text
    assert "login REDACTED refused" in text and "RuntimeError: failed with REDACTED" in text


def test_install_log_filter_once_per_handler() -> None:
    logger = logging.getLogger("test_redaction_install")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        install_log_filter(logger)
        install_log_filter(logger)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
