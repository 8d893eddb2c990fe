"""A fresh shop walked from red to all-green to production in a real browser (Debian's chromium, headless,
through Playwright): the hub is a live server (``hub_server``: one request at a time, see conftest), atone is
the in-process emulator (its webhooks reach the hub's inbound URL), the shop's own pages are served by a local
http.server."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kessai.backoffice.models import AuditEntry
from kessai.golive.models import ProductionSwitch
from kessai.payments.models import Payment
from kessai.shops.models import PaymentMethod, ProviderAccount
from kessai.webhooks.models import InboundWebhook
from tests.browser import chromium
from tests.golive.helpers import PASSWORD, PageServer, World, fresh_shop
from tests.integration.atone import hub

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
BEFORE_SWITCH = (
    "keys",
    "webhook_payment",
    "webhook_authentication",
    "checkout_copy",
    "payment_guide_page",
    "legal_notice_page",
    "test_purchase",
    "test_purchase_ng",
    "production_keys",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


def item(page: Page, key: str) -> Any:
    return page.get_by_test_id(f"item-{key}")


def click_and_wait(page: Page, test_id: str) -> None:
    with page.expect_navigation():
        page.get_by_test_id(test_id).click()


def test_a_fresh_shop_goes_from_red_to_all_green_to_production(
    page: Page, hub_server: str, atone_emulator: hub.Emulator, pages: PageServer
):
    world: World = fresh_shop(atone_emulator)  # KESSAI_PUBLIC_URL is the hub server's: the webhooks come here
    banner = pages.raw("/img/atone-banner.png", 200, {"Content-Type": "image/png"}, PNG)

    page.goto(f"{hub_server}/login/")
    page.get_by_label("ユーザー名").fill("owner")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{hub_server}/golive/")
    expect(page.get_by_test_id("provider-atone")).to_have_attribute("data-status", "blocked")
    page.get_by_test_id("open-atone").click()

    # red: nothing is proven yet
    expect(page.get_by_test_id("overall")).to_have_attribute("data-ready", "false")
    for key in BEFORE_SWITCH:
        expect(item(page, key)).not_to_have_attribute("data-status", "ok")
    expect(item(page, "checkout_copy")).to_have_attribute("data-status", "ng")
    expect(page.get_by_test_id("switch-production")).to_have_count(0)
    checklist = page.url

    # 認証鍵: a real 接続テスト against the emulator
    click_and_wait(page, "run-checks")
    expect(item(page, "keys")).to_have_attribute("data-status", "ok")

    # Webhook: the emulator posts to this hub's inbound URLs
    click_and_wait(page, "send-test-webhooks")
    expect(page.get_by_role("status")).to_contain_text("テストWebhookを送信しました。")
    assert atone_emulator.app.wait_for_webhooks(10.0)
    page.reload()
    expect(item(page, "webhook_payment")).to_have_attribute("data-status", "ok")
    expect(item(page, "webhook_authentication")).to_have_attribute("data-status", "ok")

    # 決済選択画面: the official copy, with the shop's banner image, applied to the payment method
    page.get_by_test_id("link-copy").click()
    page.get_by_label("バナー画像URL").fill(banner)
    click_and_wait(page, "copy-save")
    click_and_wait(page, "copy-apply")
    expect(page.get_by_test_id("method-display-atone")).to_have_attribute("data-official", "true")
    guide_snippet = page.locator("#guide-snippet").input_value()
    legal_snippet = page.locator("#legal-snippet").input_value()

    # the shop publishes the snippets on its own site, then enters the URLs
    guide_url = pages.page("/guide.html", f"<html><body><h1>お支払い方法</h1>{guide_snippet}</body></html>")
    legal_url = pages.page("/law.html", f"<html><body><h1>特定商取引法に基づく表記</h1>{legal_snippet}</body></html>")
    page.goto(f"{hub_server}/golive/pages/")
    page.get_by_label("支払方法説明ページのURL").fill(guide_url)
    page.get_by_label("特定商取引法に基づく表記のURL").fill(legal_url)
    click_and_wait(page, "pages-save")
    page.goto(checklist)
    expect(item(page, "checkout_copy")).to_have_attribute("data-status", "ok")
    expect(item(page, "payment_guide_page")).to_have_attribute("data-status", "pending")
    click_and_wait(page, "run-checks")
    expect(item(page, "payment_guide_page")).to_have_attribute("data-status", "ok")
    expect(item(page, "legal_notice_page")).to_have_attribute("data-status", "ok")
    assert sorted(hit for hit in pages.hits if hit.endswith(".html")) == ["/guide.html", "/law.html"]  # fetched

    # テスト取引: token, charge, capture, cancel, and 「NPテスト」 → 与信NG, all at the emulator
    click_and_wait(page, "run-test-purchase")
    expect(item(page, "test_purchase")).to_have_attribute("data-status", "ok")
    expect(item(page, "test_purchase_ng")).to_have_attribute("data-status", "ok")

    # 本番環境の認証鍵, registered in the back-office without switching it on
    page.goto(f"{hub_server}/settings/accounts/atone/")
    production = page.locator("#panel-production")
    production.get_by_label("公開鍵").fill("live-atone-public-key01")
    production.get_by_label("秘密鍵").fill("live-atone-secret-key1")
    production.get_by_label("この環境を使用する").uncheck()
    with page.expect_navigation():
        production.get_by_role("button", name="本番環境の設定を保存").click()
    page.goto(checklist)

    # all green: the owner switches
    for key in BEFORE_SWITCH:
        expect(item(page, key)).to_have_attribute("data-status", "ok")
    expect(page.get_by_test_id("overall")).to_have_attribute("data-ready", "true")
    click_and_wait(page, "switch-production")
    expect(page.get_by_test_id("overall")).to_have_attribute("data-live", "true")
    expect(item(page, "live_test_order")).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("record-live-test")).to_be_visible()

    assert atone_emulator.app.wait_for_webhooks(10.0)  # the hub has answered every webhook: its database is ours
    live = ProviderAccount.objects.get(shop=world.shop, environment="production")
    test = ProviderAccount.objects.get(shop=world.shop, environment="test")
    assert (live.active, test.active) == (True, False)
    assert PaymentMethod.objects.get(shop=world.shop).provider_account_id == live.pk
    switch = ProductionSwitch.objects.get(account=live)
    assert (switch.overridden, switch.username, switch.open_items) == (False, "owner", [])
    assert AuditEntry.objects.filter(shop=world.shop, action="golive.switch").count() == 1
    # the test webhook (one of each), then the test purchase: a buyer login, the OK and the NG transaction
    assert Counter(InboundWebhook.objects.filter(account=test).values_list("kind", flat=True)) == {
        "authentication": 2,
        "payment": 3,
    }
    assert sorted(Payment.objects.filter(account=test).values_list("state", flat=True)) == [
        "cancelled",
        "declined",
        "declined",
    ]
