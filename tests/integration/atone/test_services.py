"""Payment services with the real atone adapter against the atone emulator over localhost HTTP."""

from __future__ import annotations

import pytest

from kessai.payments import selectors, services
from kessai.payments.ledger import Balances, replay
from kessai.payments.models import BuyerToken, Operation, Order, Payment, PaymentError, ProviderReference
from kessai.payments.state import InvalidTransition
from kessai.providers.atone.checksum import widget_checksum
from kessai.providers.base import ProviderDeclined, ProviderRequestInvalid
from kessai.sandbox.atone import DEFAULT_SECRET_KEY
from tests import factories
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db


@pytest.fixture
def atone(atone_emulator: hub.Emulator) -> hub.AtoneShop:
    return hub.atone_shop(atone_emulator)


def ops(payment: Payment) -> list[tuple[str, str]]:
    return list(payment.operations.order_by("created_at", "id").values_list("kind", "result"))


def assert_ledger_agrees(payment: Payment) -> None:
    payment.refresh_from_db()
    assert replay(payment.operations.order_by("created_at", "id")) == Balances(
        payment.amount, payment.captured_amount, payment.refunded_amount
    )
    assert not payment.needs_review, payment.review_reason


# --------------------------------------------------------------------------- authorization


def test_widget_result_confirmed_by_fetch_is_authorized_and_keeps_the_buyer_token(atone):
    payment = atone.start()
    paid = atone.pay(payment)

    confirmed = services.confirm_checkout(payment, provider_ref=paid["response"]["id"], actor="checkout")

    assert confirmed.state == "authorized"
    assert confirmed.provider_ref == paid["response"]["id"]
    assert (confirmed.amount, confirmed.captured_amount) == (13824, 0)
    assert confirmed.buyer_token == paid["authentication_token"]
    token = BuyerToken.objects.get(account=atone.account)
    assert token.token == paid["authentication_token"]
    assert ops(confirmed) == [("authorize", "succeeded")]
    assert atone.emulator.entry(confirmed.provider_ref)["state"] == "authorized"
    assert_ledger_agrees(confirmed)


def test_the_stored_buyer_token_is_sent_as_pre_token_for_the_same_customer(atone):
    first = atone.authorized(customer=hub.customer(email="hanako@example.jp"))

    second = atone.start(customer=hub.customer(email="HANAKO@example.jp"))
    widget = services.checkout_widget(second)

    assert widget["pre_token"] == first.buyer_token
    assert widget["script_url"] == atone.emulator.base_url + "atone.js"
    assert "secret" not in str(widget).lower()


def test_confirming_twice_records_one_authorization(atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]

    services.confirm_checkout(payment, provider_ref=ref, actor="checkout")
    again = services.confirm_checkout(payment, provider_ref=ref, actor="webhook")

    assert again.state == "authorized"
    assert ops(again) == [("authorize", "succeeded")]


def test_a_transaction_of_another_order_is_refused_and_not_recorded(atone):
    other = atone.authorized()
    payment = atone.start()

    with pytest.raises(ProviderRequestInvalid) as refused:
        services.confirm_checkout(payment, provider_ref=other.provider_ref, actor="checkout")

    payment.refresh_from_db()
    assert refused.value.code == "checkout:shop_transaction_no_mismatch"
    assert (payment.state, payment.provider_ref) == ("created", "")
    assert ops(payment) == [("authorize", "failed")]
    assert atone.emulator.entry(other.provider_ref)["state"] == "authorized"  # untouched
    assert PaymentError.objects.filter(payment=payment, code="checkout:shop_transaction_no_mismatch").count() == 1


def test_immediate_capture_account_option_settles_at_authorization(atone_emulator):
    atone = hub.atone_shop(atone_emulator, capture="immediate")

    payment = atone.authorized()

    assert (payment.state, payment.capture_mode, payment.captured_amount) == ("captured", "immediate", 13824)
    assert atone_emulator.entry(payment.provider_ref)["movements"]["settle"] == 1
    assert_ledger_agrees(payment)


def test_np_test_customer_is_declined_with_the_japanese_reason_and_logged(atone):
    payment = atone.start(customer=hub.customer("NPテスト 太郎"))
    paid = atone.pay(payment)
    assert paid["response"]["authorization_result"] == 2

    declined = services.confirm_checkout(payment, provider_ref=paid["response"]["id"], actor="checkout")

    assert declined.state == "declined"
    assert declined.decline_code == "9"
    assert "atoneをご利用いただけません" in declined.decline_message
    error = PaymentError.objects.get(payment=declined)
    assert (error.status, error.code, error.provider) == ("ProviderDeclined", "checkout:NG9", "atone")
    assert len(error.request_id) == 32


def test_amount_over_the_buyer_limit_is_declined_with_reason_1(atone):
    payment = atone.start(**hub.one_line_order(60_000))
    paid = atone.pay(payment)

    declined = services.confirm_checkout(payment, provider_ref=paid["response"]["id"], actor="checkout")

    assert (declined.state, declined.decline_code) == ("declined", "1")
    assert "ご利用可能額を超えている" in declined.decline_message
    assert PaymentError.objects.get(payment=declined).code == "checkout:NG1"


def test_server_side_charge_with_a_stored_token(atone):
    token = atone.emulator.token()
    order = factories.order(atone.shop)

    started = services.start_payment(order, method_ref="atone", actor="api", authentication_token=token)

    payment = started.payment
    assert not started.requires_action
    assert payment.state == "authorized"
    assert ops(payment) == [("charge", "succeeded")]
    entry = atone.emulator.entry(payment.provider_ref)
    assert (entry["channel"], entry["transaction"]["authentication_token"]) == ("api", token)
    assert_ledger_agrees(payment)


# --------------------------------------------------------------------------- operations


def test_capture_settles_once(atone):
    payment = atone.authorized()

    captured = services.capture(payment, actor="user:staff")

    assert (captured.state, captured.captured_amount) == ("captured", 13824)
    assert atone.emulator.entry(captured.provider_ref)["movements"]["settle"] == 1
    assert ops(captured)[-1] == ("capture", "succeeded")
    assert_ledger_agrees(captured)


def test_cancel_is_a_full_refund_at_atone(atone):
    payment = atone.authorized()

    cancelled = services.cancel(payment, actor="user:staff")

    assert cancelled.state == "cancelled"
    entry = atone.emulator.entry(cancelled.provider_ref)
    assert entry["movements"]["cancel"] == 1
    assert entry["transaction"]["amount_refund_total"] == 13824
    assert_ledger_agrees(cancelled)


def test_cancel_after_capture_refunds_everything(atone):
    payment = services.capture(atone.authorized(), actor="user:staff")

    cancelled = services.cancel(payment, actor="user:staff")

    assert (cancelled.state, cancelled.captured_amount, cancelled.refunded_amount) == ("cancelled", 13824, 13824)
    assert_ledger_agrees(cancelled)


def test_partial_refund_only_after_capture(atone):
    payment = atone.authorized()

    with pytest.raises(InvalidTransition):
        services.refund(payment, amount=1000, actor="user:staff")
    assert atone.emulator.movements("refund") == []

    captured = services.capture(payment, actor="user:staff")
    refunded = services.refund(captured, amount=1024, actor="user:staff", reason="返品")

    assert (refunded.state, refunded.captured_amount, refunded.refunded_amount) == ("captured", 13824, 1024)
    entry = atone.emulator.entry(refunded.provider_ref)
    assert entry["transaction"]["refunds"][0]["amount_refund"] == 1024
    assert entry["transaction"]["refunds"][0]["refund_reason"] == "返品"
    assert_ledger_agrees(refunded)


def test_change_amount_creates_a_new_transaction_and_keeps_both_ids(atone):
    payment = atone.authorized()
    old_ref = payment.provider_ref
    items = [
        {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1},
        {"sku": "ship", "name": "送料", "unit_price": 1500, "quantity": 1},
    ]

    changed = services.change_amount(payment, amount=14300, items=items, actor="user:staff")

    assert changed.state == "authorized"
    assert changed.amount == 14300
    assert changed.provider_ref != old_ref
    assert changed.superseded_refs == [old_ref]
    refs = set(ProviderReference.objects.filter(payment=changed).values_list("ref", flat=True))
    assert refs == {old_ref, changed.provider_ref}
    assert selectors.find_payment_by_ref(atone.shop, atone.account, old_ref) == changed
    assert atone.emulator.entry(old_ref)["superseded_by"] == changed.provider_ref
    new_entry = atone.emulator.entry(changed.provider_ref)
    assert new_entry["transaction"]["updated_transactions"] == [old_ref]
    assert new_entry["transaction"]["shop_transaction_no"] == changed.shop_transaction_no
    assert_ledger_agrees(changed)

    captured = services.capture(changed, actor="user:staff")  # the new transaction is the one settled
    assert atone.emulator.entry(captured.provider_ref)["movements"]["settle"] == 1
    assert atone.emulator.entry(old_ref)["movements"]["settle"] == 0


def test_change_amount_over_the_limit_is_declined_and_keeps_the_superseded_id(atone):
    payment = atone.authorized()
    old_ref = payment.provider_ref
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 60_000, "quantity": 1}]

    with pytest.raises(ProviderDeclined):
        services.change_amount(payment, amount=60_000, items=items, actor="user:staff")

    payment.refresh_from_db()
    assert payment.state == "declined"
    assert payment.provider_ref != old_ref
    assert payment.superseded_refs == [old_ref]
    assert PaymentError.objects.get(payment=payment).code == "update:NG1"


def test_refresh_reconciles_a_settlement_made_outside_the_hub(atone):
    payment = atone.authorized()
    atone.emulator.app.operations.settle(atone.emulator.app.default_merchant, payment.provider_ref)  # e.g. console

    refreshed = services.refresh(payment, actor="user:staff")

    assert (refreshed.state, refreshed.captured_amount) == ("captured", 13824)
    assert ops(refreshed)[-1] == ("refresh", "succeeded")
    assert_ledger_agrees(refreshed)


# --------------------------------------------------------------------------- faults


def test_drop_after_store_capture_is_unknown_until_refresh_settles_it_with_one_settle(atone):
    payment = atone.authorized()
    atone.emulator.faults(drop_after_store=1)

    with pytest.raises(Exception) as lost:
        services.capture(payment, actor="user:staff")

    assert type(lost.value).__name__ == "ProviderUnavailable"
    payment.refresh_from_db()
    assert payment.state == "authorized"
    capture_op = payment.operations.get(kind="capture")
    assert capture_op.result == "unknown"
    with pytest.raises(InvalidTransition):  # no blind retry while the outcome is unknown
        services.capture(payment, actor="user:staff")

    refreshed = services.refresh(payment, actor="janitor")

    assert (refreshed.state, refreshed.captured_amount) == ("captured", 13824)
    capture_op.refresh_from_db()
    assert capture_op.result == "succeeded"
    assert len(atone.emulator.movements("settle")) == 1
    assert atone.emulator.entry(payment.provider_ref)["movements"]["settle"] == 1
    assert_ledger_agrees(refreshed)


def test_mismatched_amount_is_flagged_and_refund_mismatch_cancels_it_in_full(atone):
    payment = atone.start()
    widget = services.checkout_widget(payment)
    tampered = dict(widget["payment"])
    tampered.update(
        amount=9000, items=[{"shop_item_id": "P-1", "item_name": "ソファ", "item_price": 9000, "item_count": 1}]
    )
    tampered.pop("checksum")
    tampered["checksum"] = widget_checksum(tampered, DEFAULT_SECRET_KEY)
    ref = atone.emulator.pay_in_widget({**widget, "payment": tampered})["response"]["id"]

    flagged = services.confirm_checkout(payment, provider_ref=ref, actor="checkout")

    assert flagged.state == "authorized"
    assert flagged.needs_review
    assert "金額" in flagged.review_reason
    assert "課金払戻" in flagged.review_reason
    assert Order.objects.get(pk=flagged.order_id).needs_review
    assert services.can_refund_mismatch(flagged)

    repaired = services.refund_mismatch(flagged, actor="user:staff")

    assert repaired.state == "cancelled"
    assert not repaired.needs_review
    assert not services.can_refund_mismatch(repaired)
    assert atone.emulator.entry(ref)["transaction"]["amount_refund_total"] == 9000
    cancel_op = repaired.operations.get(kind="cancel")
    assert cancel_op.data["remedy"] == "refund_mismatch"


def test_refund_mismatch_is_refused_for_a_payment_not_flagged(atone):
    payment = atone.authorized()

    with pytest.raises(InvalidTransition):
        services.refund_mismatch(payment, actor="user:staff")

    assert atone.emulator.movements("cancel") == []
    assert Operation.objects.filter(payment=payment, kind="cancel").count() == 0
