"""XML in and out for the emulator (standard library only).

Requests are external input, parsed with :mod:`xml.etree.ElementTree` after refusing what makes expat
dangerous: a ``<!DOCTYPE`` or ``<!ENTITY`` declaration (entity expansion, "billion laughs"), a body that is
not UTF-8 (which could hide those markers), or one larger than :data:`MAX_BYTES`.

Answers are ``<?xml version="1.0" encoding="UTF-8"?><response>…</response>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # defused below: DOCTYPE/ENTITY refused before parsing
from typing import Any

MAX_BYTES = 1_048_576
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_UNSAFE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlRefused(ValueError):
    """``unsafe`` is True when the document was refused for a DTD/entity declaration."""

    def __init__(self, message: str, *, unsafe: bool = False) -> None:
        super().__init__(message)
        self.unsafe = unsafe


def parse_request(body: bytes) -> ET.Element:
    if len(body) > MAX_BYTES:
        raise XmlRefused("body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise XmlRefused("body is not UTF-8") from None
    if _UNSAFE.search(text):
        raise XmlRefused("DOCTYPE/ENTITY declarations are refused", unsafe=True)
    try:
        return ET.fromstring(body)  # noqa: S314 - defused above
    except ET.ParseError as exc:
        raise XmlRefused(f"not well-formed: {exc}") from None


def text_of(parent: ET.Element | None, tag: str) -> str | None:
    """The stripped text of the first child ``tag`` ("" when empty), or None when there is no such child."""
    if parent is None:
        return None
    child = parent.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append(parent, tag, item)
        return
    child = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(child, key, item)
    elif value is not None:
        child.text = str(value)


def render(body: dict[str, Any]) -> bytes:
    root = ET.Element("response")
    for key, value in body.items():
        _append(root, key, value)
    return (DECLARATION + ET.tostring(root, encoding="unicode")).encode("utf-8")


def tree(element: ET.Element) -> Any:
    """An element as nested dicts/lists/strings (for the ledger's copy of what was registered)."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        value = tree(child)
        if child.tag in out:
            out[child.tag] = [*out[child.tag], value] if isinstance(out[child.tag], list) else [out[child.tag], value]
        else:
            out[child.tag] = value
    return out
