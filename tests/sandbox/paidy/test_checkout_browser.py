"""The Checkout stand-in in a real browser (Debian's chromium through Playwright).

A merchant page on another origin loads ``/apps/`` from the emulator, calls
``Paidy.configure({api_key, closed}).launch(payload)`` and records the ``closed`` callback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest
from playwright import sync_api

from kessai.sandbox.paidy import DEFAULT_PUBLIC_KEY
from kessai.sandbox.server import RunningServer, start_in_thread
from tests.browser import chromium

from .helpers import payload

pytestmark = [
    pytest.mark.browser,
]

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>ショップ</title></head>
<body>
<button id="pay" type="button">Paidyで支払う</button>
<script src="{sandbox}/apps/"></script>
<script>
window.results = [];
var handler = Paidy.configure({{api_key: {api_key}, closed: function (r) {{ window.results.push(r); }}}});
document.getElementById("pay").addEventListener("click", function () {{ handler.launch({payload}); }});
</script>
</body></html>
"""


class MerchantSite:
    def __init__(self) -> None:
        self.html = ""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = self.html.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser: Any, server: RunningServer) -> Iterator[Any]:
    site = MerchantSite()
    site.html = PAGE.format(
        sandbox=server.url, api_key=json.dumps(DEFAULT_PUBLIC_KEY), payload=json.dumps(payload(), ensure_ascii=False)
    )
    with start_in_thread(site) as running:
        context = browser.new_context()
        tab = context.new_page()
        tab.set_default_timeout(5000)
        tab.goto(running.url + "/")
        tab.click("#pay")
        sync_api.expect(tab.locator("#paidy-sandbox-overlay")).to_be_visible()
        yield tab
        context.close()


def results(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function("window.results.length >= 1")
    return list(page.evaluate("window.results"))


def test_approve_with_the_sms_code(page: Any, control: httpx.Client) -> None:
    sync_api.expect(page.locator("#paidy-sandbox-amount")).to_have_text("¥13,824")
    sync_api.expect(page.locator("#paidy-sandbox-email")).to_have_value("successful.payment@paidy.com")
    page.fill("#paidy-sandbox-otp", "8888")
    page.click("#paidy-sandbox-confirm")
    [result] = results(page)
    assert (result["status"], result["amount"], result["currency"]) == ("authorized", 13824, "JPY")
    sync_api.expect(page.locator("#paidy-sandbox-overlay")).to_have_count(0)
    [entry] = control.get("/ledger").json()["payments"]
    assert (entry["payment"]["id"], entry["channel"]) == (result["id"], "checkout")


def test_a_wrong_code_keeps_the_modal_open(page: Any, control: httpx.Client) -> None:
    page.fill("#paidy-sandbox-otp", "0000")
    page.click("#paidy-sandbox-confirm")
    sync_api.expect(page.locator("#paidy-sandbox-error")).to_have_text("認証コードが正しくありません。")
    assert page.evaluate("window.results") == []
    assert control.get("/ledger").json()["payments"] == []


def test_closing_reports_closed_without_a_payment(page: Any) -> None:
    page.click("#paidy-sandbox-close")
    [result] = results(page)
    assert (result["id"], result["status"]) == (None, "closed")
