"""atone.js and the modal in a real browser (Debian's chromium through Playwright).

A merchant page on another origin loads ``/v1/atone.js`` from the emulator, calls ``Atone.config``
and ``Atone.start()``, and records every callback in ``window.events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest
from playwright import sync_api

from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY
from kessai.sandbox.server import RunningServer, start_in_thread
from tests.browser import chromium

from .helpers import payment, signed_payment, with_customer

pytestmark = [
    pytest.mark.browser,
]

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>ショップ</title></head>
<body>
<button id="pay" type="button">atoneで支払う</button>
<script src="{sandbox}/v1/atone.js"></script>
<script>
window.events = [];
function record(name) {{
  return function () {{ window.events.push([name].concat(Array.prototype.slice.call(arguments))); }};
}}
Atone.config({{
  pub_key: {pub_key},
  pre_token: {pre_token},
  payment: {payment},
  authenticated: record("authenticated"),
  succeeded: record("succeeded"),
  failed: record("failed"),
  cancelled: record("cancelled"),
  error: record("error")
}}, function () {{ window.atoneReady = true; }});
document.getElementById("pay").addEventListener("click", function () {{ Atone.start(); }});
</script>
</body></html>
"""


class MerchantSite:
    """Serves the checkout page under test from its own origin."""

    def __init__(self) -> None:
        self.html = ""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = self.html.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    def page(
        self, sandbox_url: str, body: dict[str, Any], pre_token: str = "", pub_key: str = DEFAULT_PUBLIC_KEY
    ) -> None:
        self.html = PAGE.format(
            sandbox=sandbox_url,
            pub_key=json.dumps(pub_key),
            pre_token=json.dumps(pre_token),
            payment=json.dumps(body, ensure_ascii=False),
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def shop() -> Iterator[tuple[MerchantSite, RunningServer]]:
    site = MerchantSite()
    with start_in_thread(site) as running:
        yield site, running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(5000)
    yield tab
    context.close()


def open_checkout(
    page: Any, shop: tuple[MerchantSite, RunningServer], server: RunningServer, body: dict[str, Any], **kw: Any
) -> Any:
    site, running = shop
    site.page(server.url, body, **kw)
    page.goto(running.url + "/")
    page.wait_for_function("window.atoneReady === true")
    page.click("#pay")
    sync_api.expect(page.locator("#atone-sandbox-overlay")).to_be_visible()
    return page.frame_locator("#atone-sandbox-frame")


def events(page: Any, count: int) -> list[list[Any]]:
    page.wait_for_function(f"window.events.length >= {count}")
    return list(page.evaluate("window.events"))


def test_confirm_ok(page: Any, shop: Any, server: RunningServer, control: httpx.Client) -> None:
    frame = open_checkout(page, shop, server, signed_payment(DEFAULT_SECRET_KEY, payment()))
    sync_api.expect(frame.get_by_test_id("atone-amount")).to_have_text("¥13,824")
    sync_api.expect(frame.get_by_test_id("atone-phone")).to_have_value("090-1234-5678")
    frame.get_by_test_id("atone-confirm").click()
    authenticated, succeeded = events(page, 2)
    assert authenticated[0] == "authenticated"
    assert authenticated[1].startswith("tk_")
    assert succeeded == ["succeeded", {"id": succeeded[1]["id"], "authorization_result": 1, "subtract_point": 0}]
    sync_api.expect(page.locator("#atone-sandbox-overlay")).to_be_hidden()
    [entry] = control.get("/ledger").json()["transactions"]
    assert (entry["transaction"]["id"], entry["channel"], entry["transaction"]["customer"]["user_no"]) == (
        succeeded[1]["id"],
        "widget",
        authenticated[2],
    )


def test_ng_shows_the_message_then_failed_on_close(page: Any, shop: Any, server: RunningServer) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, with_customer(payment(), customer_name="NPテスト"))
    frame = open_checkout(page, shop, server, body)
    frame.get_by_test_id("atone-confirm").click()
    sync_api.expect(frame.get_by_test_id("atone-result-ng")).to_contain_text("与信NG")
    assert [e[0] for e in events(page, 1)] == ["authenticated"]
    frame.get_by_test_id("atone-result-close").click()
    failed = events(page, 2)[1]
    assert failed == [
        "failed",
        {"id": failed[1]["id"], "authorization_result": 2, "authorization_result_ng_reason": 9, "subtract_point": 0},
    ]


def test_close_is_cancelled_and_start_works_again(page: Any, shop: Any, server: RunningServer) -> None:
    open_checkout(page, shop, server, signed_payment(DEFAULT_SECRET_KEY, payment()))
    page.frame_locator("#atone-sandbox-frame").get_by_test_id("atone-close").click()
    assert events(page, 1) == [["cancelled"]]
    sync_api.expect(page.locator("#atone-sandbox-overlay")).to_be_hidden()
    page.click("#pay")
    frame = page.frame_locator("#atone-sandbox-frame")
    frame.get_by_test_id("atone-confirm").click()
    assert [e[0] for e in events(page, 3)] == ["cancelled", "authenticated", "succeeded"]


def test_invalid_checksum_calls_error(page: Any, shop: Any, server: RunningServer) -> None:
    frame = open_checkout(page, shop, server, signed_payment("not-the-secret-key-000", payment()))
    frame.get_by_test_id("atone-confirm").click()
    sync_api.expect(frame.get_by_test_id("atone-error-message")).to_have_text("不正なチェックサムです。")
    frame.get_by_test_id("atone-error-close").click()
    assert events(page, 1) == [
        [
            "error",
            "InvalidRequest",
            "不正なチェックサムです。",
            [{"code": "EATN0351", "messages": ["不正なチェックサムです。"], "params": ["checksum"]}],
        ]
    ]


def test_phone_error_stays_in_the_modal(page: Any, shop: Any, server: RunningServer) -> None:
    frame = open_checkout(page, shop, server, signed_payment(DEFAULT_SECRET_KEY, payment()))
    frame.get_by_test_id("atone-phone").fill("03-1234-5678")
    frame.get_by_test_id("atone-confirm").click()
    sync_api.expect(frame.get_by_test_id("atone-phone-error")).to_have_text("携帯電話番号を正しく入力して下さい。")
    assert page.evaluate("window.events") == []
    frame.get_by_test_id("atone-phone").fill("080-9999-0000")
    frame.get_by_test_id("atone-confirm").click()
    assert [e[0] for e in events(page, 2)] == ["authenticated", "succeeded"]


def test_pre_token_prefills_the_buyers_phone(
    page: Any, shop: Any, server: RunningServer, control: httpx.Client
) -> None:
    buyer = control.post("/authenticate", json={"phone_number": "070-5555-6666"}).json()
    body = signed_payment(DEFAULT_SECRET_KEY, payment())
    frame = open_checkout(page, shop, server, body, pre_token=buyer["authentication_token"])
    sync_api.expect(frame.get_by_test_id("atone-phone")).to_have_value("07055556666")
    frame.get_by_test_id("atone-confirm").click()
    authenticated = events(page, 2)[0]
    assert authenticated == ["authenticated", buyer["authentication_token"], buyer["user_no"]]
