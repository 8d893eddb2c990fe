"""Payments over the API: start (server-side and hosted checkout), every operation, refusals that change nothing."""

from __future__ import annotations

import pytest
from django.test import override_settings

from kessai.payments.models import Operation, Payment, PaymentError
from kessai.shops import services as shop_services
from tests import factories
from tests.api.helpers import authorized_payment, create_order, start_payment

pytestmark = pytest.mark.django_db


def _operations(payment_id: str) -> list[tuple[str, str, int]]:
    return list(Operation.objects.filter(payment_id=payment_id).values_list("kind", "result", "amount"))


def test_start_payment_server_side_returns_the_payment_shape(client, method, api_key):
    order = create_order(client)

    response = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})

    assert response.status == 201
    body = response.body
    assert set(body) == {
        "id",
        "order",
        "provider",
        "provider_ref",
        "state",
        "amount",
        "captured_amount",
        "refunded_amount",
        "needs_review",
        "review_reason",
        "operations",
        "next_action",
    }
    assert body["id"].startswith("pay_")
    assert (body["order"], body["provider"], body["state"], body["amount"]) == (
        order["id"],
        "fake",
        "authorized",
        13824,
    )
    assert body["next_action"] is None
    key_id = shop_services.authenticate_api_key(api_key).id
    [op] = body["operations"]
    assert op["id"].startswith("op_")
    assert (op["kind"], op["result"], op["amount"], op["actor"]) == (
        "authorize",
        "succeeded",
        13824,
        f"api_key:{key_id}",
    )


@override_settings(KESSAI_PUBLIC_URL="https://kessai.example.jp")
def test_start_payment_with_a_browser_provider_returns_next_action(client, shop):
    account = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": "pk_test_api", "secret_key": "sk_test_api_secret"},
        base_url="http://127.0.0.1:8101/v1/",
    )
    shop_services.create_payment_method(shop, provider_account=account, code="atone", name="atone 翌月払い")
    order = create_order(client)

    body = start_payment(client, order["id"], "atone")

    payment = Payment.objects.get(pk=body["id"])
    assert body["state"] == "created"
    assert body["next_action"]["type"] == "checkout"
    assert body["next_action"]["url"] == f"https://kessai.example.jp/pay/{payment.checkout_token}"
    widget = body["next_action"]["widget"]
    assert widget["script_url"] == "http://127.0.0.1:8101/v1/atone.js"
    assert "sk_test_api_secret" not in str(widget)


def test_capture_cancel_and_history(client, method, fake_ledger):
    payment = authorized_payment(client)

    captured = client.post(f"/payments/{payment['id']}/capture", {})
    cancelled = client.post(f"/payments/{payment['id']}/cancel")

    assert (captured.status, captured.body["state"], captured.body["captured_amount"]) == (200, "captured", 13824)
    assert (cancelled.status, cancelled.body["state"], cancelled.body["refunded_amount"]) == (200, "cancelled", 13824)
    assert [op["kind"] for op in cancelled.body["operations"]] == ["authorize", "capture", "cancel"]
    assert fake_ledger.calls["capture"] == 1


def test_change_amount_refund_shipment_and_refresh(client, method, fake_ledger):
    payment = authorized_payment(client)
    items = [{"sku": "P-1", "name": "1人掛けソファ", "unit_price": 10000, "quantity": 1}]

    changed = client.post(f"/payments/{payment['id']}/change-amount", {"amount": 10000, "items": items})
    client.post(f"/payments/{payment['id']}/capture")
    refunded = client.post(f"/payments/{payment['id']}/refund", {"amount": 1000, "reason": "返品"})
    shipped = client.post(
        f"/payments/{payment['id']}/shipments", {"carrier": "yamato", "tracking_no": "1234-5678-9012"}
    )
    refreshed = client.post(f"/payments/{payment['id']}/refresh")

    assert (changed.status, changed.body["amount"]) == (200, 10000)
    assert (refunded.status, refunded.body["refunded_amount"]) == (200, 1000)
    assert shipped.status == 200
    assert (refreshed.status, refreshed.body["state"]) == (200, "captured")
    assert [op["kind"] for op in refreshed.body["operations"]] == [
        "authorize",
        "change_amount",
        "capture",
        "refund",
        "report_shipment",
        "refresh",
    ]


def test_illegal_transition_is_409_and_changes_nothing(client, method, fake_ledger):
    payment = authorized_payment(client)

    response = client.post(f"/payments/{payment['id']}/refund", {"amount": 100})

    assert response.status == 409
    assert response.body["code"] == "invalid_transition"
    assert response.body["payment"] == payment["id"]
    assert _operations(payment["id"]) == [("authorize", "succeeded", 13824)]
    assert fake_ledger.calls["refund"] == 0


def test_operation_in_progress_and_outcome_unknown_are_their_own_codes(client, method, fake_ledger):
    payment = authorized_payment(client)
    fake_ledger.script.append("unavailable")

    timeout = client.post(f"/payments/{payment['id']}/capture")
    blocked = client.post(f"/payments/{payment['id']}/cancel")
    Operation.objects.create(payment_id=payment["id"], kind="refresh", amount=0, actor="test")  # a pending one
    Operation.objects.filter(payment_id=payment["id"], result="unknown").update(result="failed")
    busy = client.post(f"/payments/{payment['id']}/cancel")

    assert (timeout.status, timeout.body["code"]) == (504, "provider_unavailable")
    assert "refresh" in timeout.body["detail"]
    assert (blocked.status, blocked.body["code"]) == (409, "outcome_unknown")
    assert (busy.status, busy.body["code"]) == (409, "operation_in_progress")
    assert fake_ledger.calls["cancel"] == 0


def test_decline_is_402_with_the_payment_and_an_error_log_entry(client, method, fake_ledger):
    order = create_order(client)
    fake_ledger.script.append("decline")

    response = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})

    payment = Payment.objects.get(order_id=order["id"])
    assert response.status == 402
    assert (response.body["code"], response.body["payment"], response.body["provider_code"]) == (
        "payment_declined",
        payment.id,
        "authorize:NG",
    )
    assert payment.state == "declined"
    assert PaymentError.objects.filter(payment=payment).count() == 1


def test_provider_rejection_and_auth_errors(client, shop, fake_ledger):
    factories.fake_method(shop, factories.fake_account(shop))
    order = create_order(client)
    fake_ledger.script.append("invalid")

    rejected = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    bad_keys = factories.fake_account(shop, secret="wrong")
    factories.fake_method(shop, bad_keys, code="fake-wrong")
    auth = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake-wrong"})

    assert (rejected.status, rejected.body["code"]) == (422, "provider_rejected")
    assert (auth.status, auth.body["code"]) == (502, "provider_auth_error")


def test_unknown_payment_method_changes_nothing(client, method):
    order = create_order(client)

    response = client.post(f"/orders/{order['id']}/payments", {"payment_method": "nope"})

    assert (response.status, response.body["code"]) == (422, "unknown_payment_method")
    assert response.body["errors"][0]["field"] == "payment_method"
    assert not Payment.objects.exists()


def test_amount_over_the_provider_limit_changes_nothing(client, method, fake_ledger):
    items = [{"sku": "X", "name": "大型家具", "unit_price": 600_000, "quantity": 1}]
    order = create_order(client, amount=600_000, items=items)

    response = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})

    assert (response.status, response.body["code"]) == (422, "amount_over_provider_limit")
    assert response.body["errors"][0] == {
        "field": "amount",
        "code": "amount_over_provider_limit",
        "message": "この支払方法でご利用いただける金額は1〜500,000円です。",
    }
    assert not Payment.objects.exists()
    assert fake_ledger.calls["authorize"] == 0


def test_change_amount_with_lines_that_do_not_add_up_changes_nothing(client, method, fake_ledger):
    payment = authorized_payment(client)
    items = [{"sku": "P-1", "name": "1人掛けソファ", "unit_price": 10000, "quantity": 1}]

    response = client.post(f"/payments/{payment['id']}/change-amount", {"amount": 9000, "items": items})

    assert (response.status, response.body["code"]) == (422, "amount_mismatch")
    assert Payment.objects.get(pk=payment["id"]).amount == 13824
    assert _operations(payment["id"]) == [("authorize", "succeeded", 13824)]
    assert fake_ledger.calls["change_amount"] == 0
