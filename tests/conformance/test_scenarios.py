"""The conformance scenarios (issue 8 item 7): written once, run against atone, NP後払い, Paidy and GMO後払い
through the same payment services, each provider behind its own emulator over localhost HTTP.

A scenario that a provider's declared ``Capabilities`` exclude is skipped with the capability's name; where
providers legitimately differ (capture vs. 出荷報告, a cancel after capture that is a refund, a new transaction
id after an amount change) the scenario asks the capabilities or the harness's ledger vocabulary, never the
provider's name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kessai.payments import services
from kessai.payments.ledger import Balances, replay
from kessai.payments.models import Order, Payment, PaymentError
from kessai.payments.services import OutcomeUnknown
from kessai.payments.state import InvalidTransition
from kessai.providers.base import (
    ProviderDeclined,
    ProviderRequestInvalid,
    ProviderUnavailable,
    UnsupportedOperation,
)
from kessai.shops.errors import ValidationFailed
from tests.conformance.harness import (
    ADDRESS,
    AMOUNT,
    CARRIER,
    ITEMS,
    OVER_LIMIT,
    SLIP,
    Outcome,
    ProviderHarness,
    Shopfront,
    Verdict,
    unsupported,
)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def require(harness: ProviderHarness, front: Shopfront, *capabilities: str) -> None:
    """Skip unless the provider declares every one of ``capabilities``."""
    for name in capabilities:
        if not getattr(front.capabilities, name):
            unsupported(harness, name)


def require_any(harness: ProviderHarness, front: Shopfront, *capabilities: str) -> None:
    if not any(getattr(front.capabilities, name) for name in capabilities):
        unsupported(harness, " / ".join(capabilities))


def ops(payment: Payment) -> list[tuple[str, str]]:
    return list(payment.operations.order_by("created_at", "id").values_list("kind", "result"))


def balances(payment: Payment) -> tuple[str, int, int, int]:
    return (payment.state, payment.amount, payment.captured_amount, payment.refunded_amount)


def assert_consistent(payment: Payment) -> None:
    """The operation history replays to the stored balances and nothing is flagged 要確認."""
    payment.refresh_from_db()
    assert replay(payment.operations.order_by("created_at", "id")) == Balances(
        payment.amount, payment.captured_amount, payment.refunded_amount
    )
    assert not payment.needs_review, payment.review_reason
    assert not Order.objects.get(pk=payment.order_id).needs_review


def assert_unconfirmed_and_flagged(payment: Payment) -> None:
    """A refresh that could not confirm an operation (the provider's lookup cannot show it: NP後払い's and
    GMO後払い's answers carry no amounts or shipments) closes it as failed — and must say so: the payment is
    flagged 要確認 and staff are told to repeat the operation. Never a silent "failed"."""
    assert payment.needs_review, "an operation the provider may have performed was closed as failed silently"
    assert "もう一度実行してください" in payment.review_reason


def assert_settled(payment: Payment) -> None:
    """No operation is left unknown or pending, and the history replays to the stored balances."""
    payment.refresh_from_db()
    assert not payment.operations.filter(result__in=["unknown", "pending"]).exists()
    assert replay(payment.operations.order_by("created_at", "id")) == Balances(
        payment.amount, payment.captured_amount, payment.refunded_amount
    )


def payment_of(order: Order) -> Payment:
    return Payment.objects.get(order=order)


def authorized(harness: ProviderHarness, front: Shopfront, **order: Any) -> Payment:
    """An order screened OK and authorized without a browser (token charge or server-side screening)."""
    require_any(harness, front, "server_authorize", "tokens")
    payment = harness.authorize(front, harness.order(front, Outcome.OK, **order))
    assert payment.state == "authorized", (payment.state, payment.decline_message)
    return payment


def capture_or_ship(harness: ProviderHarness, front: Shopfront, payment: Payment) -> Payment:
    """売上確定: the capture call, or the 出荷報告 where the provider bills on shipment."""
    if front.capabilities.capture_requires_shipment:
        return services.report_shipment(payment, carrier=CARRIER, tracking_no=SLIP, actor="test")
    return services.capture(payment, actor="test")


def authorize_kind(front: Shopfront) -> str:
    """The operation a browserless authorization records: a token charge unless the order is screened server-side."""
    return "authorize" if front.capabilities.server_authorize else "charge"


def capture_kind(front: Shopfront) -> str:
    return "report_shipment" if front.capabilities.capture_requires_shipment else "capture"


# --------------------------------------------------------------------------- authorize: OK / NG


def test_authorize_ok(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)

    assert balances(payment) == ("authorized", AMOUNT, 0, 0)
    assert payment.provider_ref
    assert (payment.decline_code, payment.review_reason) == ("", "")
    assert ops(payment) == [(authorize_kind(front), "succeeded")]
    assert harness.verdict(payment.provider_ref) is Verdict.OK
    assert harness.state_at_provider(payment.provider_ref) == harness.authorized_state
    assert harness.amount_at_provider(payment.provider_ref) == AMOUNT
    assert harness.movements() == [harness.create_kind]
    assert_consistent(payment)


def test_authorize_ng(harness: ProviderHarness, front: Shopfront) -> None:
    require_any(harness, front, "server_authorize", "tokens")
    order = harness.order(front, Outcome.NG)

    with pytest.raises(ProviderDeclined):
        harness.authorize(front, order)

    payment = payment_of(order)
    assert balances(payment) == ("declined", AMOUNT, 0, 0)
    assert payment.decline_message
    assert ops(payment) == [(authorize_kind(front), "failed")]
    assert payment.provider_ref, "the NG transaction's id is kept"
    assert harness.verdict(payment.provider_ref) is Verdict.NG
    error = PaymentError.objects.get(payment=payment)
    assert (error.status, error.provider) == ("ProviderDeclined", harness.code)
    with pytest.raises(InvalidTransition):
        capture_or_ship(harness, front, payment)
    assert_consistent(payment)


def test_browser_checkout_confirmed_by_the_hub(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "browser_checkout")
    started = services.start_payment(harness.order(front, Outcome.OK), method_ref=front.method.id, actor="test")
    assert started.requires_action
    assert started.payment.state == "created"
    ref = harness.pay_in_browser(started.payment)

    confirmed = services.confirm_checkout(started.payment, provider_ref=ref, actor="checkout")
    again = services.confirm_checkout(started.payment, provider_ref=ref, actor="webhook")  # idempotent

    assert (again.pk, again.provider_ref) == (confirmed.pk, ref)
    assert balances(again) == ("authorized", AMOUNT, 0, 0)
    assert ops(again) == [("authorize", "succeeded")]
    assert harness.movements() == [harness.create_kind]
    assert_consistent(again)


def test_browser_checkout_ng(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "browser_checkout")
    started = services.start_payment(harness.order(front, Outcome.NG), method_ref=front.method.id, actor="test")
    ref = harness.pay_in_browser(started.payment)

    declined = services.confirm_checkout(started.payment, provider_ref=ref, actor="checkout")

    assert balances(declined) == ("declined", AMOUNT, 0, 0)
    assert (declined.provider_ref, bool(declined.decline_message)) == (ref, True)
    assert harness.verdict(ref) is Verdict.NG
    assert PaymentError.objects.filter(payment=declined).count() == 1


# --------------------------------------------------------------------------- 保留 / 審査中


def test_hold_then_rescreen_with_corrected_data(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "held_state", "change_amount_rescreens")
    held = harness.authorize(front, harness.order(front, Outcome.HOLD))
    assert balances(held) == ("pending_review", AMOUNT, 0, 0)
    assert held.review_reason, "the provider's reason is shown to staff"
    assert not held.needs_review  # a hold is a state, not an inconsistency
    assert harness.verdict(held.provider_ref) is Verdict.HELD

    corrected = {**held.order.customer, "address": ADDRESS + " 赤坂ビル101"}
    ok = services.rescreen(held, customer=corrected, actor="user:staff")

    assert balances(ok) == ("authorized", AMOUNT, 0, 0)
    assert (ok.provider_ref, ok.review_reason) == (held.provider_ref, "")
    assert ops(ok) == [("authorize", "succeeded"), ("change_amount", "succeeded")]
    assert harness.verdict(ok.provider_ref) is Verdict.OK
    assert Order.objects.get(pk=held.order_id).customer["address"] == corrected["address"]
    assert_consistent(ok)


def test_review_is_settled_by_refresh(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "held_state")
    held = harness.authorize(front, harness.order(front, Outcome.REVIEW))
    assert held.state == "pending_review"
    assert held.review_reason

    still = services.refresh(held, actor="janitor")  # both emulators resolve on the 2nd lookup by default
    assert (still.state, still.review_reason) == ("pending_review", held.review_reason)
    resolved = services.refresh(still, actor="janitor")

    assert balances(resolved) == ("authorized", AMOUNT, 0, 0)
    assert resolved.review_reason == ""
    assert ops(resolved) == [("authorize", "succeeded"), ("refresh", "succeeded"), ("refresh", "succeeded")]
    assert harness.verdict(resolved.provider_ref) is Verdict.OK
    assert_consistent(resolved)


def test_review_ng_is_settled_by_refresh(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "held_state")
    held = harness.authorize(front, harness.order(front, Outcome.REVIEW))
    harness.settle_review(held.provider_ref, Outcome.NG)

    declined = services.refresh(held, actor="user:staff")  # 与信結果確認

    assert balances(declined) == ("declined", AMOUNT, 0, 0)
    assert declined.decline_message
    assert declined.review_reason == ""
    assert_consistent(declined)


def test_held_payment_can_be_cancelled(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "held_state")
    held = harness.authorize(front, harness.order(front, Outcome.HOLD))

    cancelled = services.cancel(held, actor="user:staff")

    assert balances(cancelled) == ("cancelled", AMOUNT, 0, 0)
    assert cancelled.review_reason == ""
    assert harness.state_at_provider(held.provider_ref) == harness.cancelled_state
    assert harness.movements(held.provider_ref).count(harness.cancel_kind) == 1
    assert_consistent(cancelled)


def test_rescreen_is_refused_without_the_capability(harness: ProviderHarness, front: Shopfront) -> None:
    caps = front.capabilities
    if caps.change_amount and caps.change_amount_rescreens:
        pytest.skip(f"{harness.code}: declares change_amount_rescreens (re-screening is offered)")
    payment = authorized(harness, front)

    with pytest.raises(InvalidTransition, match="与信内容変更"):
        services.rescreen(payment, actor="user:staff")

    assert ops(payment) == [(authorize_kind(front), "succeeded")]
    assert harness.movements() == [harness.create_kind]


# --------------------------------------------------------------------------- capture / 出荷報告


def test_capture_or_shipment(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)

    captured = capture_or_ship(harness, front, payment)

    assert balances(captured) == ("captured", AMOUNT, AMOUNT, 0)
    assert ops(captured)[-1] == (capture_kind(front), "succeeded")
    assert harness.state_at_provider(captured.provider_ref) == harness.captured_state
    assert harness.movements(captured.provider_ref) == [harness.create_kind, harness.capture_kind]
    if front.capabilities.capture_requires_shipment:
        assert captured.shipment_reported
        again = services.report_shipment(captured, carrier=CARRIER, tracking_no=SLIP, actor="test")
        assert balances(again) == ("captured", AMOUNT, AMOUNT, 0)  # already reported = done
    else:
        with pytest.raises(InvalidTransition):
            services.capture(captured, actor="test")
    assert harness.movements(captured.provider_ref).count(harness.capture_kind) == 1
    assert_consistent(captured)


def test_shipment_with_a_bad_slip_number_is_refused(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "capture_requires_shipment")
    payment = authorized(harness, front)

    with pytest.raises(ProviderRequestInvalid, match="伝票番号"):
        services.report_shipment(payment, carrier=CARRIER, tracking_no="123", actor="test")

    payment.refresh_from_db()
    assert (payment.state, payment.shipment_reported) == ("authorized", False)
    assert harness.movements(payment.provider_ref) == [harness.create_kind]


# --------------------------------------------------------------------------- cancel


def test_cancel_before_capture(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)

    cancelled = services.cancel(payment, actor="user:staff")

    assert balances(cancelled) == ("cancelled", AMOUNT, 0, 0)
    assert ops(cancelled)[-1] == ("cancel", "succeeded")
    assert harness.state_at_provider(payment.provider_ref) == harness.cancelled_state
    assert harness.movements(payment.provider_ref) == [harness.create_kind, harness.cancel_kind]
    with pytest.raises(InvalidTransition):
        services.cancel(cancelled, actor="user:staff")
    assert_consistent(cancelled)


def test_cancel_after_capture(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "cancel_after_capture")
    captured = capture_or_ship(harness, front, authorized(harness, front))

    cancelled = services.cancel(captured, actor="user:staff")

    assert balances(cancelled) == ("cancelled", AMOUNT, AMOUNT, AMOUNT)
    assert harness.state_at_provider(cancelled.provider_ref) == harness.cancelled_state
    assert harness.movements(cancelled.provider_ref) == [
        harness.create_kind,
        harness.capture_kind,
        harness.cancel_captured_kind,
    ]
    assert_consistent(cancelled)


# --------------------------------------------------------------------------- amount change


def test_change_amount_before_capture(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "change_amount")
    payment = authorized(harness, front)
    old_ref = payment.provider_ref

    changed = services.change_amount(payment, amount=12800, items=ITEMS[:1], actor="user:staff")

    assert balances(changed) == ("authorized", 12800, 0, 0)
    assert ops(changed)[-1] == ("change_amount", "succeeded")
    assert harness.amount_at_provider(changed.provider_ref) == 12800
    assert harness.verdict(changed.provider_ref) is Verdict.OK
    if changed.provider_ref != old_ref:  # the provider replaced the transaction (atone 取引更新)
        assert changed.superseded_refs == [old_ref]
        assert harness.state_at_provider(old_ref) == harness.cancelled_state
    assert Order.objects.get(pk=payment.order_id).amount == 12800

    captured = capture_or_ship(harness, front, changed)

    assert balances(captured) == ("captured", 12800, 12800, 0)
    assert harness.movements(captured.provider_ref).count(harness.capture_kind) == 1
    assert_consistent(captured)


def test_change_amount_over_the_limit_is_declined(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "change_amount", "change_amount_rescreens")
    payment = authorized(harness, front)
    items: list[Mapping[str, Any]] = [{"sku": "P-1", "name": "ソファ", "unit_price": OVER_LIMIT, "quantity": 1}]

    with pytest.raises(ProviderDeclined):
        services.change_amount(payment, amount=OVER_LIMIT, items=items, actor="user:staff")

    payment.refresh_from_db()
    assert payment.state == "declined"
    assert payment.decline_message
    assert ops(payment)[-1] == ("change_amount", "failed")
    assert harness.verdict(payment.provider_ref) is Verdict.NG
    assert PaymentError.objects.filter(payment=payment, operation="change_amount").count() == 1


def test_change_amount_is_refused_without_the_capability(harness: ProviderHarness, front: Shopfront) -> None:
    if front.capabilities.change_amount:
        pytest.skip(f"{harness.code}: declares change_amount (covered by the amount-change scenarios)")
    payment = authorized(harness, front)

    with pytest.raises(UnsupportedOperation):
        services.change_amount(payment, amount=12800, items=ITEMS[:1], actor="user:staff")

    payment.refresh_from_db()
    assert balances(payment) == ("authorized", AMOUNT, 0, 0)
    assert harness.movements() == [harness.create_kind]


# --------------------------------------------------------------------------- refund


def test_partial_refund_after_capture(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "refund", "partial_refund")
    payment = authorized(harness, front)
    with pytest.raises(InvalidTransition):  # nothing captured yet
        services.refund(payment, amount=1024, actor="user:staff")
    captured = capture_or_ship(harness, front, payment)

    refunded = services.refund(captured, amount=1024, actor="user:staff", reason="返品")

    assert balances(refunded) == ("captured", AMOUNT, AMOUNT, 1024)
    assert ops(refunded)[-1] == ("refund", "succeeded")
    with pytest.raises(ValidationFailed):  # more than what is left
        services.refund(refunded, amount=AMOUNT, actor="user:staff")
    assert harness.movements(refunded.provider_ref).count(harness.refund_kind) == 1
    assert_consistent(refunded)

    rest = services.refund(refunded, amount=AMOUNT - 1024, actor="user:staff")

    assert balances(rest) == ("cancelled", AMOUNT, AMOUNT, AMOUNT)  # nothing left: the payment is over
    assert harness.movements(rest.provider_ref).count(harness.refund_kind) == 2
    assert_consistent(rest)


def test_refund_is_refused_without_the_capability(harness: ProviderHarness, front: Shopfront) -> None:
    if front.capabilities.refund:
        pytest.skip(f"{harness.code}: declares refund (covered by the refund scenario)")
    captured = capture_or_ship(harness, front, authorized(harness, front))
    movements = harness.movements()

    with pytest.raises(UnsupportedOperation):
        services.refund(captured, amount=1024, actor="user:staff")

    captured.refresh_from_db()
    assert balances(captured) == ("captured", AMOUNT, AMOUNT, 0)
    assert harness.movements() == movements


# --------------------------------------------------------------------------- refresh / unknown outcomes


def test_refresh_of_a_settled_payment_changes_nothing(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)

    refreshed = services.refresh(payment, actor="user:staff")

    assert balances(refreshed) == ("authorized", AMOUNT, 0, 0)
    assert ops(refreshed) == [(authorize_kind(front), "succeeded"), ("refresh", "succeeded")]
    assert harness.movements() == [harness.create_kind]
    assert_consistent(refreshed)


def test_lost_cancel_is_settled_by_refresh(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)
    harness.faults(drop_after_store=1)

    with pytest.raises(ProviderUnavailable):
        services.cancel(payment, actor="user:staff")

    payment.refresh_from_db()
    assert payment.state == "authorized"  # nothing decided while the outcome is unknown
    op = payment.operations.get(kind="cancel")
    assert op.result == "unknown"
    with pytest.raises(OutcomeUnknown):  # no blind retry
        services.cancel(payment, actor="user:staff")
    assert harness.state_at_provider(payment.provider_ref) == harness.cancelled_state  # stored, then dropped

    settled = services.refresh(payment, actor="janitor")
    op.refresh_from_db()

    if op.result == "failed":
        assert_unconfirmed_and_flagged(settled)
        settled = services.cancel(settled, actor="user:staff")  # the repeat is safe ("already cancelled" = done)
    else:
        assert op.result == "succeeded"
    assert balances(settled) == ("cancelled", AMOUNT, 0, 0)
    assert harness.movements(payment.provider_ref) == [harness.create_kind, harness.cancel_kind]
    assert_settled(settled)


def test_lost_capture_or_shipment_is_settled_by_refresh(harness: ProviderHarness, front: Shopfront) -> None:
    payment = authorized(harness, front)
    harness.faults(drop_after_store=1)

    with pytest.raises(ProviderUnavailable):
        capture_or_ship(harness, front, payment)

    payment.refresh_from_db()
    assert payment.state == "authorized"
    op = payment.operations.get(kind=capture_kind(front))
    assert op.result == "unknown"
    with pytest.raises(OutcomeUnknown):
        capture_or_ship(harness, front, payment)

    settled = services.refresh(payment, actor="janitor")
    op.refresh_from_db()

    if op.result == "failed":
        assert front.capabilities.capture_requires_shipment  # a capture call's outcome is always readable
        assert_unconfirmed_and_flagged(settled)
        settled = capture_or_ship(harness, front, settled)  # the repeat is safe ("already reported" = done)
    else:
        assert op.result == "succeeded"
    assert balances(settled) == ("captured", AMOUNT, AMOUNT, 0)
    assert harness.state_at_provider(payment.provider_ref) == harness.captured_state
    assert harness.movements(payment.provider_ref) == [harness.create_kind, harness.capture_kind]
    assert_settled(settled)


def test_lost_refund_is_settled_by_refresh(harness: ProviderHarness, front: Shopfront) -> None:
    require(harness, front, "refund", "partial_refund")
    captured = capture_or_ship(harness, front, authorized(harness, front))
    harness.faults(drop_after_store=1)

    with pytest.raises(ProviderUnavailable):
        services.refund(captured, amount=1024, actor="user:staff")

    captured.refresh_from_db()
    assert balances(captured) == ("captured", AMOUNT, AMOUNT, 0)
    op = captured.operations.get(kind="refund")
    assert op.result == "unknown"
    with pytest.raises(OutcomeUnknown):
        services.refund(captured, amount=1024, actor="user:staff")

    settled = services.refresh(captured, actor="janitor")

    assert balances(settled) == ("captured", AMOUNT, AMOUNT, 1024)
    op.refresh_from_db()
    assert op.result == "succeeded"
    assert harness.movements(captured.provider_ref).count(harness.refund_kind) == 1
    assert_consistent(settled)
