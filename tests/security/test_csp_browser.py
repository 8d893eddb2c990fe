"""The Content-Security-Policy in a real browser (Debian's chromium through Playwright): every page works with it
and the browser reports no violation — the back-office (htmx actions included), 本番開始チェック, 継続課金, the
API docs (Swagger UI renders the operations), Django's admin, and the hosted checkout with the atone emulator's
widget (script and modal iframe from the provider's host).

Violations are collected twice: the ``securitypolicyviolation`` events (a listener installed before any page
script runs) and the console errors chromium prints for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kessai.checkout.links import checkout_path
from kessai.payments.models import Payment
from tests.browser import chromium
from tests.integration.atone import hub
from tests.security.pages import PASSWORD, World, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


class Watched:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        events: list[str] = self.page.evaluate("window.__csp || []")
        return events + self.console + self.errors


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield Watched(page)
    finally:
        context.close()


@pytest.fixture
def world(fake_ledger: Any, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_world(fake_ledger)


def sign_in(page: Page, live_server: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("sec-owner")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("link", name="受注リスト")).to_be_visible()


def test_back_office_pages_and_an_htmx_action_run_under_the_policy(watched, live_server, world):
    page = watched.page
    kwargs = world.kwargs
    sign_in(page, live_server)
    visited = []
    for path in [
        "/",
        "/orders/",
        "/errors/",
        f"/errors/{kwargs['error_id']}/",
        "/settings/accounts/",
        "/settings/accounts/atone/",
        "/settings/payment-methods/",
        f"/settings/payment-methods/{kwargs['method_id']}/",
        "/settings/fees/",
        "/settings/security/",
        "/audit/",
        "/account/2fa/",
        f"/jobs/{kwargs['job_id']}/",
        "/golive/",
        f"/golive/accounts/{kwargs['account_id']}/",
        "/golive/copy/atone/",
        "/golive/pages/",
        "/billing/",
        f"/billing/{kwargs['subscription_id']}/",
    ]:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, path
        visited.append(path)

    # The payment dialog and an htmx post (X-CSRFToken from the page, the fragment swapped in).
    page.goto(f"{live_server.url}/orders/{kwargs['order_id']}/")
    page.get_by_role("button", name="決済情報").click()
    page.locator("#btn-capture").click()
    expect(page.locator("#dialog-state")).to_have_text("売上計上")

    assert watched.violations() == []
    assert Payment.objects.get(pk=kwargs["payment_id"]).state == "captured"
    assert len(visited) == 19


def test_api_docs_and_the_admin_run_under_the_policy(watched, live_server, world):
    page = watched.page

    page.goto(f"{live_server.url}/api/v1/docs")
    # Swagger UI renders ~50 operations from a 200 KB schema in script: on a loaded 2-core machine that took > 5 s
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    operations = page.locator(".opblock").count()
    page.goto(f"{live_server.url}/django-admin/login/")
    expect(page.locator("#id_username")).to_be_visible()

    assert watched.violations() == []
    assert operations >= 40


@pytest.fixture
def atone_emulator() -> Iterator[hub.Emulator]:
    yield from hub.running_emulator()


def test_the_checkout_runs_the_providers_widget_under_its_policy(watched, live_server, fake_ledger, atone_emulator):
    atone = hub.atone_shop(atone_emulator)
    payment = atone.start()
    page = watched.page

    page.goto(live_server.url + checkout_path(payment))
    expect(page.get_by_test_id("pay-button")).to_be_enabled()
    page.get_by_test_id("pay-button").click()
    modal = page.frame_locator('[data-testid="atone-frame"]')
    modal.get_by_test_id("atone-confirm").click()
    expect(page.get_by_test_id("checkout-result")).to_contain_text("ご注文ありがとうございます")

    assert watched.violations() == []


def test_a_violation_would_be_seen(watched, live_server, world):
    """The watch is real: an inline script injected into a page is blocked and reported."""
    page = watched.page
    page.goto(f"{live_server.url}/login/")

    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.x = 1";
                     document.body.appendChild(s); }""")

    expect(page.locator("body")).to_be_visible()
    assert page.evaluate("window.x") is None
    assert any("script-src" in v for v in watched.violations())
