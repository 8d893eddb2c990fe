"""Payment services against the fake provider: each operation's state move, history and error log."""

from __future__ import annotations

import pytest

from kessai.payments import services
from kessai.payments.ledger import replay
from kessai.payments.models import Operation, Payment, PaymentError
from kessai.payments.state import InvalidTransition
from kessai.providers.base import ProviderDeclined, ProviderUnavailable
from kessai.shops.errors import ValidationFailed
from kessai.webhooks.models import OutboundEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(fake_ledger):
    shop = factories.shop()
    factories.fake_method(shop)
    return shop


def test_server_side_authorize_records_a_succeeded_operation(shop, fake_ledger):
    payment = factories.authorized_payment(shop)

    assert payment.state == "authorized"
    assert payment.provider_ref.startswith("fk_")
    ops = list(payment.operations.values_list("kind", "result", "amount"))
    assert ops == [("authorize", "succeeded", 13824)]
    assert fake_ledger.calls["authorize"] == 1
    assert list(OutboundEvent.objects.values_list("type", flat=True)) == ["payment.authorized"]


def test_capture_moves_to_captured_and_stores_provider_balances(shop):
    payment = factories.authorized_payment(shop)

    payment = services.capture(payment, actor="user:staff")

    assert (payment.state, payment.captured_amount, payment.refunded_amount) == ("captured", 13824, 0)
    assert payment.operations.last().kind == "capture"
    assert not payment.needs_review


def test_decline_moves_to_declined_and_writes_the_error_log(shop, fake_ledger):
    fake_ledger.script.append("decline")
    order = factories.order(shop)

    with pytest.raises(ProviderDeclined):
        services.start_payment(order, method_ref="fake", actor="api")

    payment = Payment.objects.get(order=order)
    assert payment.state == "declined"
    assert payment.decline_code == "authorize:NG"
    assert payment.provider_ref.startswith("fk_")  # the NG transaction keeps its id
    error = PaymentError.objects.get()
    assert (error.provider, error.link_key, error.code) == ("fake", order.shop_order_no, "authorize:NG")


def test_invalid_request_returns_payment_to_created_and_changes_nothing_at_provider(shop, fake_ledger):
    fake_ledger.script.append("invalid")
    order = factories.order(shop)

    with pytest.raises(Exception, match="リクエストが不正です"):
        services.start_payment(order, method_ref="fake", actor="api")

    payment = Payment.objects.get(order=order)
    assert payment.state == "created"
    assert fake_ledger.txs == {}
    assert payment.operations.get().result == "failed"


def test_timeout_leaves_unknown_and_blocks_operations_until_refresh(shop, fake_ledger):
    payment = factories.authorized_payment(shop)
    fake_ledger.script.append("lost")  # the provider settles, the answer is lost

    with pytest.raises(ProviderUnavailable):
        services.capture(payment, actor="user:staff")

    payment.refresh_from_db()
    assert payment.state == "authorized"
    assert payment.operations.last().result == "unknown"
    with pytest.raises(services.OutcomeUnknown):
        services.capture(payment, actor="user:staff")
    assert fake_ledger.calls["capture"] == 1  # never retried blindly

    payment = services.refresh(payment, actor="user:staff")

    assert payment.state == "captured"
    assert payment.captured_amount == 13824
    capture_op = payment.operations.get(kind="capture")
    assert capture_op.result == "succeeded"
    assert "状態確認により確定しました" in capture_op.message
    assert fake_ledger.calls["capture"] == 1


def test_authorize_timeout_makes_payment_unknown_then_refresh_settles(shop, fake_ledger):
    fake_ledger.script.append("lost")
    order = factories.order(shop)
    with pytest.raises(ProviderUnavailable):
        services.start_payment(order, method_ref="fake", actor="api")
    payment = Payment.objects.get(order=order)
    assert payment.state == "unknown"
    # The fake stored the transaction; learn its id as a webhook or a support lookup would.
    (tx,) = fake_ledger.txs.values()
    Payment.objects.filter(pk=payment.pk).update(provider_ref=tx.ref)
    payment.refresh_from_db()

    payment = services.refresh(payment, actor="janitor")

    assert payment.state == "authorized"
    assert payment.operations.get(kind="authorize").result == "succeeded"


def test_illegal_transition_is_refused_and_changes_nothing(shop, fake_ledger):
    payment = factories.authorized_payment(shop)
    services.cancel(payment, actor="user:staff")
    payment.refresh_from_db()
    before = Operation.objects.count()

    with pytest.raises(InvalidTransition, match="取消済み"):
        services.capture(payment, actor="user:staff")

    assert Operation.objects.count() == before
    assert fake_ledger.calls["capture"] == 0


def test_refund_is_bounded_by_captured_minus_refunded(shop):
    payment = services.capture(factories.authorized_payment(shop), actor="t")
    payment = services.refund(payment, amount=1000, actor="t")
    assert payment.refunded_amount == 1000

    with pytest.raises(ValidationFailed) as exc:
        services.refund(payment, amount=13000, actor="t")
    assert exc.value.errors == {"amount": "返金額は1〜12,824円の範囲で入力してください。"}


def test_change_amount_updates_order_lines_and_amount(shop):
    payment = factories.authorized_payment(shop)
    items = [{"sku": "P-1", "name": "1人掛けソファ", "unit_price": 10000, "quantity": 1}]

    payment = services.change_amount(payment, amount=10000, items=items, actor="t")

    assert payment.amount == 10000
    payment.order.refresh_from_db()
    assert payment.order.amount == 10000
    assert payment.operations.last().data["previous_amount"] == 13824


def test_change_amount_refuses_mismatched_lines_before_calling_provider(shop, fake_ledger):
    payment = factories.authorized_payment(shop)
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 10000, "quantity": 1}]

    with pytest.raises(ValidationFailed) as exc:
        services.change_amount(payment, amount=9000, items=items, actor="t")

    assert exc.value.code == "amount_mismatch"
    assert fake_ledger.calls["change_amount"] == 0


def test_change_amount_decline_moves_payment_to_declined(shop, fake_ledger):
    payment = factories.authorized_payment(shop)
    fake_ledger.script.append("decline")
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 20000, "quantity": 1}]

    with pytest.raises(ProviderDeclined):
        services.change_amount(payment, amount=20000, items=items, actor="t")

    payment.refresh_from_db()
    assert payment.state == "declined"


def test_pending_review_then_cancel(shop, fake_ledger):
    fake_ledger.script.append("pending")
    result = services.start_payment(factories.order(shop), method_ref="fake", actor="api")
    assert result.payment.state == "pending_review"

    payment = services.cancel(result.payment, actor="t")

    assert payment.state == "cancelled"


def test_amount_over_provider_limit_is_refused_before_any_payment(shop):
    order = factories.order(
        shop, amount=600000, items=[{"sku": "X", "name": "高額商品", "unit_price": 600000, "quantity": 1}]
    )
    with pytest.raises(ValidationFailed) as exc:
        services.start_payment(order, method_ref="fake", actor="api")

    assert exc.value.code == "amount_over_provider_limit"
    assert not Payment.objects.filter(order=order).exists()


def test_immediate_capture_authorizes_and_captures_in_one_call(shop):
    result = services.start_payment(factories.order(shop), method_ref="fake", actor="api", capture="immediate")

    payment = result.payment
    assert (payment.state, payment.captured_amount) == ("captured", 13824)
    ops = list(payment.operations.all())
    assert replay(ops).captured == 13824


def test_error_payload_never_contains_credentials(shop):
    account = shop.provider_accounts.get()
    from kessai.shops.services import update_provider_account

    update_provider_account(account, credentials={"api_secret": "wrong"})
    with pytest.raises(Exception, match="認証に失敗"):
        services.start_payment(factories.order(shop), method_ref="fake", actor="api")

    error = PaymentError.objects.get()
    assert "wrong" not in str(error.payload)
    assert error.status == "ProviderAuthError"


def test_change_amount_refused_after_capture_keeps_the_capture(shop, fake_ledger):
    payment = services.capture(factories.authorized_payment(shop), actor="t")
    fake_ledger.script.append("decline")
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 20000, "quantity": 1}]

    with pytest.raises(ProviderDeclined):
        services.change_amount(payment, amount=20000, items=items, actor="t")

    payment.refresh_from_db()
    assert (payment.state, payment.amount, payment.captured_amount) == ("captured", 13824, 13824)
    assert payment.operations.last().result == "failed"
    assert PaymentError.objects.get().code == "change_amount:NG"
    assert not payment.operations.filter(result="pending").exists()
