"""The hosted checkout in a real browser (Debian's chromium through Playwright, headless) against the
atone emulator's fake widget: the modal is the emulator's iframe, the hub is pytest-django's live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kessai.checkout.links import checkout_path
from kessai.payments.models import BuyerToken, Operation, Payment
from tests.browser import chromium
from tests.integration.atone import hub

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors  # no script errors (CSP violations included) on the page


@pytest.fixture
def atone(atone_emulator: hub.Emulator) -> hub.AtoneShop:
    return hub.atone_shop(atone_emulator)


def open_checkout(page: Page, live_server: Any, payment: Payment) -> None:
    page.goto(live_server.url + checkout_path(payment))
    expect(page.get_by_test_id("order-total")).to_have_text("¥13,824")
    expect(page.get_by_test_id("pay-button")).to_be_enabled()  # the widget is configured


def test_success_records_a_provisional_sale(page, live_server, atone):
    payment = atone.start(customer=hub.customer(email="browser@example.jp"))
    open_checkout(page, live_server, payment)

    page.get_by_test_id("pay-button").click()
    modal = page.frame_locator('[data-testid="atone-frame"]')
    expect(modal.get_by_test_id("atone-amount")).to_have_text("¥13,824")
    modal.get_by_test_id("atone-confirm").click()

    result = page.get_by_test_id("checkout-result")
    expect(result).to_contain_text("ご注文ありがとうございます")
    expect(page.get_by_test_id("checkout-capture")).to_have_text("OK(仮売上)")
    payment.refresh_from_db()
    assert payment.state == "authorized"
    assert payment.provider_ref.startswith("tr_")
    assert atone.emulator.entry(payment.provider_ref)["channel"] == "widget"
    assert list(Operation.objects.filter(payment=payment).values_list("kind", "result", "actor")) == [
        ("authorize", "succeeded", "checkout")
    ]
    token = BuyerToken.objects.get(account=atone.account, customer_key="browser@example.jp")
    assert token.token == payment.buyer_token


def test_np_test_customer_sees_the_ng_reason_in_japanese(page, live_server, atone):
    payment = atone.start(customer=hub.customer("NPテスト"))
    open_checkout(page, live_server, payment)

    page.get_by_test_id("pay-button").click()
    modal = page.frame_locator('[data-testid="atone-frame"]')
    modal.get_by_test_id("atone-confirm").click()
    expect(modal.get_by_test_id("atone-result-ng")).to_be_visible()
    modal.get_by_test_id("atone-result-close").click()  # failed(response) fires when the buyer closes

    result = page.get_by_test_id("checkout-result")
    expect(result).to_contain_text("与信NG")
    expect(page.get_by_test_id("checkout-result-detail")).to_contain_text("審査の結果、atoneをご利用いただけません")
    payment.refresh_from_db()
    assert (payment.state, payment.decline_code) == ("declined", "9")


def test_closing_the_modal_records_nothing_and_the_buyer_can_choose_again(page, live_server, atone):
    payment = atone.start()
    open_checkout(page, live_server, payment)

    page.get_by_test_id("pay-button").click()
    modal = page.frame_locator('[data-testid="atone-frame"]')
    expect(modal.get_by_test_id("atone-confirm")).to_be_visible()
    modal.get_by_test_id("atone-close").click()

    expect(page.get_by_test_id("checkout-message")).to_contain_text("お支払いは完了していません")
    expect(page.get_by_test_id("pay-button")).to_be_enabled()
    expect(page.get_by_test_id("atone-overlay")).to_be_hidden()
    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref) == ("created", "")
    assert not Operation.objects.filter(payment=payment).exists()
    assert atone.emulator.app.ledger()["transactions"] == []

    page.get_by_test_id("pay-button").click()  # choosing again works
    modal.get_by_test_id("atone-confirm").click()
    expect(page.get_by_test_id("checkout-capture")).to_have_text("OK(仮売上)")
