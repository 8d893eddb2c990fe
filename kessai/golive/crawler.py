"""Fetch a page the shop publishes (支払方法説明ページ, 特定商取引法に基づく表記) to check its text.

The URL comes from staff, so the fetch is fenced: http(s) only, explicit timeouts, at most
:data:`MAX_BYTES` read, at most :data:`MAX_REDIRECTS` redirects (each hop checked again), HTML only, no
cookies or credentials sent (``trust_env=False``: no ``.netrc``, no proxy variables). Addresses inside
private, loopback or link-local networks are refused unless the install allows them
(``KESSAI_GOLIVE_ALLOW_PRIVATE_URLS``; default: when sandboxes are allowed, i.e. development and test
installs), so the hub cannot be used to probe its own network.

Japanese shops still publish Shift_JIS and EUC-JP pages: the charset comes from the Content-Type, else
from a ``<meta>`` in the first bytes, else UTF-8 is tried and then cp932.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Kessai-GoLive-Check/1 (payment page verification)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


class FetchError(Exception):
    """The page could not be read; ``message`` says why in Japanese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status_code: int
    html: str
    encoding: str


def allow_private_urls() -> bool:
    return bool(getattr(settings, "KESSAI_GOLIVE_ALLOW_PRIVATE_URLS", settings.KESSAI_ALLOW_SANDBOX))


def _check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(_("URLは http:// または https:// で始まる必要があります: %(url)s") % {"url": url})
    if parts.username or parts.password:
        raise FetchError(_("ユーザー名やパスワードを含むURLは確認できません。"))
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise FetchError(_("ホスト名を解決できません: %(host)s") % {"host": parts.hostname}) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise FetchError(
                _("社内ネットワークなど公開されていないアドレス(%(addr)s)のページは確認できません。")
                % {"addr": address}
            )


def _charset(content_type: str, head: bytes) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _sep, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _decode(body: bytes, declared: str | None) -> tuple[str, str]:
    if declared:
        try:
            codecs.lookup(declared)
        except LookupError:
            declared = None
    if declared:
        return body.decode(declared, errors="replace"), declared
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return body.decode("cp932", errors="replace"), "cp932"


def fetch(url: str, *, allow_private: bool | None = None) -> Fetched:
    """GET an HTML page (following redirects) within the limits above, or raise :class:`FetchError`."""
    private = allow_private_urls() if allow_private is None else allow_private
    current = url.strip()
    with httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"},
        trust_env=False,
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            _check_url(current, allow_private=private)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise FetchError(_("リダイレクト先が指定されていません。"))
                        current = urljoin(current, location)
                        continue
                    return _read(current, response)
            except httpx.TimeoutException:
                raise FetchError(_("時間内に応答がありませんでした: %(url)s") % {"url": current}) from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    _("ページを取得できませんでした(%(error)s): %(url)s")
                    % {"error": type(exc).__name__, "url": current}
                ) from None
    raise FetchError(_("リダイレクトが多すぎます(%(n)s回まで)。") % {"n": MAX_REDIRECTS})


def _read(url: str, response: httpx.Response) -> Fetched:
    if response.status_code != 200:
        raise FetchError(
            _("ページがHTTP %(status)sを返しました: %(url)s") % {"status": response.status_code, "url": url}
        )
    content_type = response.headers.get("content-type", "")
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        raise FetchError(_("HTMLのページではありません(%(type)s)。") % {"type": content_type.split(";")[0]})
    declared_length = response.headers.get("content-length", "")
    if declared_length.isdigit() and int(declared_length) > MAX_BYTES:
        raise FetchError(_("ページが大きすぎます(上限 %(mb)sMB)。") % {"mb": MAX_BYTES // (1024 * 1024)})
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise FetchError(_("ページが大きすぎます(上限 %(mb)sMB)。") % {"mb": MAX_BYTES // (1024 * 1024)})
        chunks.append(chunk)
    body = b"".join(chunks)
    html, encoding = _decode(body, _charset(content_type, body[:4096]))
    return Fetched(url=url, status_code=response.status_code, html=html, encoding=encoding)
