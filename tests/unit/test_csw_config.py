"""The pycsw configuration sporbar writes (sporbar.serve.csw.pycsw_config)."""

from __future__ import annotations

import configparser
from pathlib import Path

from sporbar.serve.csw import pycsw_config


def _parsed(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()  # pycsw reads it with interpolation: '%' must come doubled
    parser.read_string(text)
    return parser


def test_contact_email_reaches_the_capabilities_section() -> None:
    text = pycsw_config(database=Path("/x/r.db"), url="http://h/csw", title="T", contact_email="post%1@example.no")
    assert _parsed(text)["metadata:main"]["contact_email"] == "post%1@example.no"


def test_no_contact_email_leaves_it_empty() -> None:
    text = pycsw_config(database=Path("/x/r.db"), url="http://h/csw", title="50% sporbar")
    parsed = _parsed(text)
    assert parsed["metadata:main"]["contact_email"] == ""
    assert parsed["metadata:main"]["identification_title"] == "50% sporbar"
