"""Namespace-blind lookups in SAFE metadata XML, with errors that name the file and element.

SAFE products mix many XML namespaces (and their versions change between processing
baselines), so elements are found by local name only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sporbar.errors import InputDataError, MissingInputError

T = TypeVar("T")


def local_name(tag: str) -> str:
    """The tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(path: Path) -> ET.Element:
    """The root element of the XML file ``path``.

    Raises:
        MissingInputError: the file does not exist.
        InputDataError: it is not well-formed XML.
    """
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError as err:
        raise MissingInputError(f"{path}: file not found") from err
    except ET.ParseError as err:
        raise InputDataError(f"{path}: not valid XML: {err}") from err


def find_all(root: ET.Element, name: str) -> list[ET.Element]:
    """Every element below ``root`` (itself included) whose local name is ``name``, in document order."""
    return [e for e in root.iter() if local_name(e.tag) == name]


def find_first(root: ET.Element, name: str, path: Path, *, required: bool = True) -> ET.Element | None:
    """The first element called ``name``; None if there is none and it is not ``required``.

    Raises:
        InputDataError: a required element is missing (names ``path`` and the element).
    """
    for e in root.iter():
        if local_name(e.tag) == name:
            return e
    if required:
        raise InputDataError(f"{path}: no {name}")
    return None


def text_of(root: ET.Element, name: str, path: Path) -> str:
    """The stripped text of the first ``name`` element.

    Raises:
        InputDataError: the element is missing or empty.
    """
    el = find_first(root, name, path)
    assert el is not None
    if not (el.text or "").strip():
        raise InputDataError(f"{path}: {name} is empty")
    return (el.text or "").strip()


def float_of(root: ET.Element, name: str, path: Path) -> float:
    """The number in the first ``name`` element.

    Raises:
        InputDataError: the element is missing, empty or not a number.
    """
    return _converted(root, name, path, float, "a number")


def int_of(root: ET.Element, name: str, path: Path) -> int:
    """The integer in the first ``name`` element.

    Raises:
        InputDataError: the element is missing, empty or not an integer.
    """
    return _converted(root, name, path, int, "an integer")


def _converted(root: ET.Element, name: str, path: Path, kind: Callable[[str], T], what: str) -> T:
    text = text_of(root, name, path)
    try:
        return kind(text)
    except ValueError as err:
        raise InputDataError(f"{path}: {name} {text!r} is not {what}") from err
