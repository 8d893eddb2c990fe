"""Reading HTML the way the checklist compares it: visible text and links, normalised.

A shop's page passes when every required phrase appears in its visible text after NFKC (full-width
「（」 and half-width "(" are the same) with all whitespace removed (line breaks and spaces that a cart
or an editor puts between words do not matter). Script, style and comments are not visible text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from kessai.golive.kits import Phrase

_HIDDEN = frozenset({"script", "style", "noscript", "template", "title"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


def squash(text: str) -> str:
    """NFKC, then every whitespace character removed: the form phrases are compared in."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass
class Link:
    href: str
    text: str = ""
    images: list[str] = field(default_factory=list)


@dataclass
class PageText:
    text: str
    links: list[Link]

    def missing(self, phrases: Iterable[Phrase]) -> list[Phrase]:
        haystack = squash(self.text)
        return [p for p in phrases if squash(p.text) not in haystack]

    def banner_links(self, target: str) -> list[Link]:
        """Links to ``target`` (or a page under it) that show an image: a banner."""
        return [link for link in self.links if _same_site(link.href, target) and link.images]

    def links_to(self, target: str) -> list[Link]:
        return [link for link in self.links if _same_site(link.href, target)]


def _same_site(href: str, target: str) -> bool:
    href, root = href.strip(), target.strip().rstrip("/")
    if not href or not root:
        return False
    return href == root or href.startswith(root + "/") or href.startswith(root + "?")


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[Link] = []
        self._open_links: list[Link] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in _HIDDEN:
            self._hidden.append(tag)
            return
        if tag == "a":
            link = Link(href=values.get("href", ""))
            self.links.append(link)
            self._open_links.append(link)
        elif tag == "img" and self._open_links:
            self._open_links[-1].images.append(values.get("src", ""))
        if tag in ("br", "p", "div", "li", "tr", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1]:
                self._hidden.pop()
            return
        if tag == "a" and self._open_links:
            self._open_links.pop()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.parts.append(data)
        for link in self._open_links:
            link.text += data


def read_html(html: str) -> PageText:
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    return PageText(text="".join(parser.parts), links=parser.links)
