"""Builders for the go-live tests: a fresh shop on the atone emulator, staff of each role, a tiny local
web server for the shop's own pages, and the evidence-free starting point ("red")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from django.test import Client

from kessai.golive import display
from kessai.golive.kits import ATONE
from kessai.shops import services as shop_services
from kessai.shops.models import Membership, PaymentMethod, ProviderAccount, Role, Shop
from tests.integration.atone import hub

PASSWORD = "correct horse battery staple 7"
BANNER = "https://atone.be/images/banner.png"


@dataclass
class World:
    shop: Shop
    owner: Membership
    operator: Membership
    viewer: Membership
    test: ProviderAccount
    method: PaymentMethod


def staff(shop: Shop, prefix: str = "") -> dict[str, Membership]:
    return {
        role: shop_services.add_staff(shop, username=f"{prefix}{role}", password=PASSWORD, role=Role(role))
        for role in ("owner", "operator", "viewer")
    }


def fresh_shop(emulator: hub.Emulator, name: str = "atone 導入ショップ", prefix: str = "") -> World:
    """A shop that has just entered its atone test keys and made a payment method with its own wording."""
    shop = shop_services.create_shop(
        name=name,
        company="株式会社アトネ商店",
        site_url="https://shop.example.jp/",
        admin_email="admin@shop.example.jp",
    )
    shop.contact_name = "山田 花子"
    shop.save(update_fields=["contact_name"])
    members = staff(shop, prefix)
    account = hub.atone_account(shop, emulator)
    method = shop_services.create_payment_method(
        shop, provider_account=account, code="atone", name="あと払い", description="<p>翌月にお支払い</p>"
    )
    return World(shop, members["owner"], members["operator"], members["viewer"], account, method)


def client_for(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def official_guide_page(shop: Shop, provider: str = "atone", charset: str = "utf-8") -> str:
    """A 支払方法説明ページ made from the snippet Kessai gives the shop, inside the shop's own layout."""
    snippet = display.guide_page_snippet(shop, provider)
    return (
        f'<!doctype html><html><head><meta charset="{charset}"><title>お支払い方法</title></head><body>'
        f"<header>アトネ商店</header><h1>お支払い方法について</h1><h2>クレジットカード</h2><p>各種カードがご利用いただけます。</p>"
        f"{snippet}<footer>© アトネ商店</footer></body></html>"
    )


def legal_page(names: list[str]) -> str:
    methods = "、".join(["クレジットカード", "銀行振込", *names])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>特定商取引法に基づく表記</title></head><body>"
        "<h1>特定商取引法に基づく表記</h1><dl><dt>販売業者</dt><dd>株式会社アトネ商店</dd>"
        f"<dt>お支払い方法</dt><dd>{methods}</dd></dl></body></html>"
    )


OFFICIAL_NAME = ATONE.name


@dataclass
class PageServer:
    """``http.server`` on 127.0.0.1 serving pages set by the test: path → (status, headers, body)."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, html: str, *, charset: str = "utf-8", content_type: str = "text/html") -> str:
        body = html.encode(charset)
        header = f"{content_type}; charset={charset}" if charset else content_type
        self.routes[path] = (200, {"Content-Type": header}, body)
        return self.url(path)

    def raw(self, path: str, status: int, headers: dict[str, str], body: bytes = b"") -> str:
        self.routes[path] = (status, headers, body)
        return self.url(path)


def serve_pages() -> Iterator[PageServer]:
    pages = PageServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pages.hits.append(self.path)
            status, headers, body = pages.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"not found"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    pages.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=pages.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield pages
    finally:
        pages.server.shutdown()
        pages.server.server_close()


class HubSession:
    """A signed-in browser-less session against a live hub (real HTTP, real CSRF token)."""

    def __init__(self, base: str, membership: Membership) -> None:
        client = client_for(membership)
        self.http = httpx.Client(
            base_url=base, cookies={"sessionid": client.cookies["sessionid"].value}, follow_redirects=True, timeout=30
        )

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        if "csrftoken" not in self.http.cookies:
            self.http.get("/golive/")
        return self.http.post(path, data={**(data or {}), "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})
