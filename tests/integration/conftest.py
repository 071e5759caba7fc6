"""Fixtures of the integration tests: a loopback HTTP server per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from _loopback import Loopback  # noqa: E402


@pytest.fixture
def server() -> Iterator[Loopback]:
    """A fresh HTTP server on 127.0.0.1 (closed after the test)."""
    s = Loopback()
    try:
        yield s
    finally:
        s.close()
