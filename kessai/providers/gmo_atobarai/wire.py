"""XML on the wire: building ``<request>`` bodies and parsing answers safely.

Parsing uses the standard library's :mod:`xml.etree.ElementTree` (expat), defused by hand because GMO's
answers are external input: expat expands internal entities (the "billion laughs" attack) and the stdlib
has no switch to forbid a DTD. So a document is **refused before parsing** when

- it is larger than ``const.MAX_RESPONSE_BYTES``;
- it is not UTF-8 (GMO speaks UTF-8; another encoding — e.g. UTF-16 — could hide the markers below);
- it contains a ``<!DOCTYPE`` or ``<!ENTITY`` declaration (any case, any spacing): without a DTD there
  are no entities to expand and no external resources to fetch.

What is left is plain elements and text, which expat parses in linear time.

:func:`to_tree` turns an element into nested ``dict``/``list``/``str`` (a repeated tag becomes a list);
:func:`build` turns such a structure back into an XML document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # defused below: DOCTYPE/ENTITY refused before parsing
from collections.abc import Mapping, Sequence
from typing import Any

from kessai.providers.gmo_atobarai import const

__all__ = ["UnsafeXml", "XmlValue", "build", "parse", "to_tree"]

XmlValue = str | dict[str, Any] | list[Any]

_DECLARATIONS = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXml(ValueError):
    """The document was refused before parsing (DTD/entity declaration, size, encoding) or is not XML."""


def parse(document: bytes) -> ET.Element:
    """The root element of a UTF-8 XML document without DTD or entity declarations."""
    if len(document) > const.MAX_RESPONSE_BYTES:
        raise UnsafeXml(f"document larger than {const.MAX_RESPONSE_BYTES} bytes")
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeXml("document is not UTF-8") from None
    if _DECLARATIONS.search(text):
        raise UnsafeXml("DOCTYPE/ENTITY declarations are refused")
    try:
        return ET.fromstring(document)  # noqa: S314 - defused above
    except ET.ParseError as exc:
        raise UnsafeXml(f"not well-formed XML: {exc}") from None


def to_tree(element: ET.Element) -> XmlValue:
    """Children → ``{tag: value}`` (a repeated tag → a list of values); a leaf → its stripped text."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    tree: dict[str, Any] = {}
    for child in children:
        value = to_tree(child)
        if child.tag in tree:
            existing = tree[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                tree[child.tag] = [existing, value]
        else:
            tree[child.tag] = value
    return tree


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:  # a list → the tag repeated
            _append(parent, tag, item)
        return
    child = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(child, key, item)
    elif value is not None:
        child.text = str(value)


def build(root: str, body: Mapping[str, Any]) -> bytes:
    """``<?xml …?><root>…</root>`` in UTF-8; mappings nest, lists repeat their tag, ``None`` is empty."""
    element = ET.Element(root)
    for key, value in body.items():
        _append(element, key, value)
    return (const.XML_DECLARATION + ET.tostring(element, encoding="unicode")).encode("utf-8")
