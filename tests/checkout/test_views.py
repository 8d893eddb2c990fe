"""The hosted checkout page and its callback endpoints (Django test client; confirmations go to the
atone emulator over HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from kessai.checkout.links import checkout_path, checkout_url
from kessai.payments import services
from kessai.payments.models import BuyerToken, Payment
from kessai.providers.base import ProviderAuthError
from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db


@pytest.fixture
def atone(atone_emulator: hub.Emulator) -> hub.AtoneShop:
    return hub.atone_shop(atone_emulator)


def config_of(html: str) -> dict[str, Any]:
    start = html.index('<script id="checkout-config" type="application/json">') + len(
        '<script id="checkout-config" type="application/json">'
    )
    return dict(json.loads(html[start : html.index("</script>", start)]))


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --------------------------------------------------------------------------- the page


def test_the_page_shows_the_order_and_runs_the_widget_from_the_accounts_environment(client, atone):
    payment = atone.start()

    response = client.get(checkout_path(payment))

    assert response.status_code == 200
    html = response.content.decode()
    assert payment.order.shop_order_no in html
    assert "1人掛けソファ" in html
    assert "¥12,800" in html
    assert "¥1,024" in html
    assert 'data-testid="order-total">¥13,824<' in html
    assert hub.ATONE_METHOD_NAME in html
    assert '<a class="banner" href="https://atone.be/"' in html
    assert "atone (アトネ) は誰でもすぐに使える翌月払いです。" in html
    assert "<script>alert" not in html
    assert "onclick" not in html
    assert f'<script src="{atone.emulator.base_url}atone.js"></script>' in html
    config = config_of(html)
    assert config["provider"] == "atone"
    assert config["widget"]["pub_key"] == DEFAULT_PUBLIC_KEY
    assert config["widget"]["payment"]["amount"] == 13824
    assert config["widget"]["payment"]["checksum"]
    assert config["urls"]["result"] == checkout_path(payment) + "/result"
    assert DEFAULT_SECRET_KEY not in html


def test_the_page_csp_allows_the_provider_script_host_only(client, atone):
    payment = atone.start()

    response = client.get(checkout_path(payment))

    csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == f"'self' {atone.emulator.url}"
    assert csp["frame-src"] == atone.emulator.url
    assert "https://atone.be" in csp["img-src"]  # the banner
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp["script-src"]
    assert response["Cache-Control"] == "no-store"


def test_methods_are_the_shops_active_ones_in_sort_order(client, atone):
    stopped = hub.atone_method(atone.shop, atone.account, code="atone-stopped", name="停止中の支払方法", active=False)
    first = hub.atone_method(atone.shop, atone.account, code="atone-first", name="先頭の支払方法", sort=0)
    payment = atone.start()

    html = client.get(checkout_path(payment)).content.decode()

    assert stopped.name not in html
    assert html.index(first.name) < html.index(hub.ATONE_METHOD_NAME)


def test_an_unknown_token_is_404(client, atone):
    assert client.get("/pay/not-a-token").status_code == 404
    assert post_json(client, "/pay/not-a-token/result", {"provider_ref": "tr_x"}).status_code == 404


def test_checkout_url_is_absolute_under_the_public_url(atone, settings):
    settings.KESSAI_PUBLIC_URL = "https://pay.example.jp"
    payment = atone.start()

    assert checkout_url(payment) == f"https://pay.example.jp/pay/{payment.checkout_token}"


# --------------------------------------------------------------------------- callbacks


def test_callbacks_are_csrf_protected(atone):
    payment = atone.start()
    strict = Client(enforce_csrf_checks=True)

    result = post_json(strict, checkout_path(payment) + "/result", {"provider_ref": "tr_AAAAAAAAAAAAAAAA"})
    auth = post_json(strict, checkout_path(payment) + "/authenticated", {"authentication_token": "tk_x"})

    assert (result.status_code, auth.status_code) == (403, 403)
    payment.refresh_from_db()
    assert payment.operations.count() == 0
    assert BuyerToken.objects.count() == 0


def test_callbacks_work_with_the_pages_csrf_token(atone):
    payment = atone.start()
    strict = Client(enforce_csrf_checks=True)
    html = strict.get(checkout_path(payment)).content.decode()
    marker = 'name="csrfmiddlewaretoken" value="'
    token = html[html.index(marker) + len(marker) :].split('"', 1)[0]
    ref = atone.pay(payment)["response"]["id"]

    response = strict.post(
        checkout_path(payment) + "/result",
        data=json.dumps({"provider_ref": ref}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert response.json() == {"state": "authorized", "redirect": checkout_path(payment)}


def test_success_is_confirmed_with_the_provider_and_the_page_thanks_the_buyer(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert response.json()["state"] == "authorized"
    page = client.get(checkout_path(payment))
    html = page.content.decode()
    assert "ご注文ありがとうございます" in html
    assert 'data-testid="checkout-capture">OK(仮売上)<' in html
    assert "checkout-config" not in html  # a payment with a result shows it instead of the widget
    assert "script-src 'self';" in page["Content-Security-Policy"] + ";"


def test_immediate_capture_account_shows_immediate_settlement(client, atone_emulator):
    atone = hub.atone_shop(atone_emulator, capture="immediate")
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]

    post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert "OK(即時売上確定)" in client.get(checkout_path(payment)).content.decode()


def test_ng_shows_the_japanese_reason_and_lets_the_buyer_choose_again(client, atone):
    payment = atone.start(customer=hub.customer("NPテスト"))
    ref = atone.pay(payment)["response"]["id"]

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert response.json()["state"] == "declined"
    html = client.get(checkout_path(payment)).content.decode()
    assert "与信NG" in html
    assert "審査の結果、atoneをご利用いただけません" in html
    assert "他のお支払い方法を選ぶ" in html
    assert "checkout-config" not in html


def test_a_reported_result_that_cannot_be_confirmed_records_nothing(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    atone.emulator.faults(http_5xx=1)

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert response.status_code == 503
    assert response.json()["retry"] is True
    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref) == ("created", "")


@pytest.mark.parametrize("ref", ["", "tr_<script>", "x" * 101, 123])
def test_a_malformed_transaction_id_is_refused(client, atone, ref):
    payment = atone.start()

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert response.status_code == 400
    assert payment.operations.count() == 0


def test_a_foreign_transaction_id_is_refused(client, atone):
    other = atone.authorized()
    payment = atone.start()

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": other.provider_ref})

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.state == "created"


def test_authenticated_keeps_the_buyer_token_and_it_becomes_the_pre_token(client, atone):
    payment = atone.start(customer=hub.customer(email="ken@example.jp"))
    token = atone.emulator.token()

    response = post_json(
        client, checkout_path(payment) + "/authenticated", {"authentication_token": token, "user_no": "1000000007"}
    )

    assert response.json() == {"ok": True}
    stored = BuyerToken.objects.get()
    assert (stored.customer_key, stored.token, stored.buyer_id) == ("ken@example.jp", token, "1000000007")
    again = atone.start(customer=hub.customer(email="ken@example.jp"))
    assert config_of(client.get(checkout_path(again)).content.decode())["widget"]["pre_token"] == token


def test_a_late_result_after_the_webhook_confirmed_it_just_shows_the_result(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    services.confirm_checkout(payment, provider_ref=ref, actor="webhook")

    response = post_json(client, checkout_path(payment) + "/result", {"provider_ref": ref})

    assert response.json() == {"state": "authorized", "redirect": checkout_path(payment)}
    assert payment.operations.count() == 1


# --------------------------------------------------------------------------- choosing again


def test_choosing_another_method_starts_a_new_payment_for_the_order(client, atone):
    other = hub.atone_method(atone.shop, atone.account, code="atone-2", name="atone(別枠)")
    payment = atone.start()

    response = client.post(checkout_path(payment) + "/method", {"payment_method": other.id})

    new = Payment.objects.exclude(pk=payment.pk).get(order=payment.order)
    assert response.status_code == 302
    assert response["Location"] == checkout_path(new)
    assert (new.payment_method, new.state) == (other, "created")
    assert new.shop_transaction_no == f"{payment.order.shop_order_no}-2"


def test_after_ng_the_buyer_may_try_again_but_not_once_paid(client, atone):
    declined = atone.start(customer=hub.customer("NPテスト"))
    post_json(client, checkout_path(declined) + "/result", {"provider_ref": atone.pay(declined)["response"]["id"]})

    retry = client.post(checkout_path(declined) + "/method", {"payment_method": atone.method.id})
    new = Payment.objects.exclude(pk=declined.pk).get(order=declined.order)
    assert retry["Location"] == checkout_path(new)

    post_json(client, checkout_path(new) + "/result", {"provider_ref": _pay_as(atone, new)})
    refused = client.post(checkout_path(declined) + "/method", {"payment_method": atone.method.id})
    assert refused.status_code == 400
    assert "有効な決済が既にあります" in refused.content.decode()
    assert Payment.objects.filter(order=declined.order).count() == 2


def _pay_as(atone: hub.AtoneShop, payment: Payment) -> str:
    widget = services.checkout_widget(payment)
    payment_data = dict(widget["payment"])
    payment_data["customer"] = {**payment_data["customer"], "customer_name": "山田　太郎"}
    payment_data.pop("checksum")
    from kessai.providers.atone.checksum import widget_checksum

    payment_data["checksum"] = widget_checksum(payment_data, DEFAULT_SECRET_KEY)
    return str(atone.emulator.pay_in_widget({**widget, "payment": payment_data})["response"]["id"])


def test_an_order_paid_by_another_payment_shows_a_notice_instead_of_the_widget(client, atone):
    paid = atone.authorized()
    waiting = Payment.objects.create(
        shop=paid.shop,
        order=paid.order,
        payment_method=paid.payment_method,
        account=paid.account,
        provider="atone",
        shop_transaction_no=paid.shop_transaction_no + "-2",
        amount=paid.amount,
        checkout_token="stale-token-0001",
    )

    html = client.get(checkout_path(waiting)).content.decode()

    assert "別の決済で手続き済み" in html
    assert "checkout-config" not in html


def test_a_method_whose_account_cannot_build_the_widget_is_reported_not_crashed(client, atone, monkeypatch):
    payment = atone.start()

    def broken(payment: Payment) -> dict[str, Any]:
        raise ProviderAuthError("店舗公開可能鍵が設定されていません。", code="checkout:public_key")

    monkeypatch.setattr(services, "checkout_widget", broken)

    response = client.get(checkout_path(payment))

    assert response.status_code == 200
    assert "現在このお支払い方法はご利用いただけません" in response.content.decode()
