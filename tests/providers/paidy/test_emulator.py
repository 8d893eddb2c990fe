"""PaidyProvider ↔ the Paidy emulator (kessai/sandbox/paidy) over real HTTP on localhost.

Every operation and every error family: auth (wrong key), request invalid (bad field, wrong state, inactive
token), not found, declined (the documented rejection e-mail), unavailable (5xx, latency beyond the
timeout, connection dropped after the store, nothing listening), plus the Checkout → fetch confirmation,
webhooks re-fetched, tokens and the capture/refund/close state machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kessai.providers.base import (
    Destination,
    LineItem,
    ProviderAuthError,
    ProviderDeclined,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    UnsupportedOperation,
)
from kessai.providers.paidy import PaidyProvider
from kessai.providers.paidy.errors import PaymentNotFound
from kessai.sandbox.server import RunningServer

from .emulator import Emulator, WebhookReceiver, eventually, running_emulator, running_receiver
from .helpers import make_order

REJECTED = "rejected.payment@paidy.com"


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def provider(emulator: Emulator) -> PaidyProvider:
    return emulator.provider()


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, RunningServer]]:
    yield from running_receiver()


# --------------------------------------------------------------------------- 接続テスト


def test_connection_ok_with_the_emulator_keys(provider: PaidyProvider) -> None:
    assert provider.test_connection().ok is True


def test_connection_fails_with_a_wrong_secret(emulator: Emulator) -> None:
    check = emulator.provider(secret_key="sk_test_wrong").test_connection()
    assert (check.ok, "認証に失敗" in check.message) == (False, True)


def test_connection_fails_when_nothing_listens(emulator: Emulator) -> None:
    assert emulator.provider(base_url="http://127.0.0.1:9/", timeout=1.0).test_connection().ok is False


# --------------------------------------------------------------------------- Checkout → fetch


def test_checkout_then_fetch_confirms_the_authorized_payment(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())

    snapshot = provider.fetch(payment_id)

    assert (snapshot.status, snapshot.amount, snapshot.shop_transaction_no) == (
        ProviderStatus.AUTHORIZED,
        13824,
        "A-1001",
    )
    entry = emulator.entry(payment_id)
    assert (entry["state"], entry["channel"], entry["movements"]["authorize"]) == ("authorized", "checkout", 1)
    assert entry["payment"]["shipping_address"] == {
        "line1": "赤坂1-2-3",
        "line2": None,
        "city": "港区",
        "state": "東京都",
        "zip": "107-0052",
    }


def test_checkout_with_the_rejection_email_is_declined_on_fetch(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order(email=REJECTED))
    snapshot = provider.fetch(payment_id)
    assert (snapshot.status, snapshot.decline_code) == (ProviderStatus.DECLINED, "rejected")
    assert emulator.entry(payment_id)["movements"]["reject"] == 1


def test_fetch_of_an_unknown_payment_is_not_found(provider: PaidyProvider) -> None:
    with pytest.raises(PaymentNotFound) as caught:
        provider.fetch("pay_doesnotexist000000000")
    assert caught.value.code == "fetch:resource.not_found"


def test_another_merchants_payment_is_not_found(emulator: Emulator, provider: PaidyProvider) -> None:
    emulator.control("POST", "/merchants", {"public_key": "pk_test_other", "secret_key": "sk_test_other"})
    payment_id = emulator.checkout(provider, make_order())
    with pytest.raises(PaymentNotFound):
        emulator.provider(secret_key="sk_test_other").fetch(payment_id)


# --------------------------------------------------------------------------- capture / refund / close


def test_capture_refund_and_cancel_move_money_once_each(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())

    captured = provider.capture(payment_id)
    again = provider.capture(payment_id)  # idempotent: confirmed with GET
    refunded = provider.refund(payment_id, amount=1824, reason="一部返品")
    cancelled = provider.cancel(payment_id)

    assert (captured.status, captured.captured_amount) == (ProviderStatus.CAPTURED, 13824)
    assert again.status is ProviderStatus.CAPTURED
    assert (refunded.status, refunded.refunded_amount) == (ProviderStatus.CAPTURED, 1824)
    assert (cancelled.status, cancelled.captured_amount, cancelled.refunded_amount) == (
        ProviderStatus.CANCELLED,
        13824,
        13824,
    )
    movements = emulator.entry(payment_id)["movements"]
    assert (movements["capture"], movements["refund"], movements["close"]) == (1, 2, 0)
    refunds = emulator.entry(payment_id)["payment"]["refunds"]
    assert [(r["amount"], r["reason"]) for r in refunds] == [(1824, "一部返品"), (12000, None)]


def test_partial_capture_is_unsupported_and_not_sent(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    with pytest.raises(UnsupportedOperation):
        provider.capture(payment_id, amount=100)
    assert emulator.entry(payment_id)["movements"]["capture"] == 0


def test_cancel_before_capture_closes(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    snapshot = provider.cancel(payment_id)
    assert (snapshot.status, snapshot.refunded_amount) == (ProviderStatus.CANCELLED, 0)
    assert emulator.entry(payment_id)["movements"]["close"] == 1
    assert provider.cancel(payment_id).status is ProviderStatus.CANCELLED  # twice: no second close
    assert emulator.entry(payment_id)["movements"]["close"] == 1


def test_capture_after_close_is_refused_by_paidy(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    provider.cancel(payment_id)
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.capture(payment_id)
    assert caught.value.code == "capture:payment.invalid_status"


def test_capture_after_expires_at_is_refused(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    emulator.control("POST", "/settings", {"clock_offset_days": 31})
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.capture(payment_id)
    assert caught.value.code == "capture:payment.expired"
    assert provider.cancel(payment_id).status is ProviderStatus.CANCELLED  # closing is still allowed


def test_refund_more_than_captured_is_refused_before_calling(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    provider.capture(payment_id)
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.refund(payment_id, amount=20000)
    assert caught.value.code == "refund:amount_exceeded"
    assert emulator.entry(payment_id)["movements"]["refund"] == 0


def test_refund_before_capture_is_refused(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.refund(payment_id, amount=100)
    assert caught.value.code == "refund:not_captured"


def test_update_changes_order_ref_only(emulator: Emulator, provider: PaidyProvider) -> None:
    payment_id = emulator.checkout(provider, make_order())
    snapshot = provider.update(payment_id, order_ref="A-1001-2", description="メモ")
    assert (snapshot.shop_transaction_no, snapshot.amount) == ("A-1001-2", 13824)


# --------------------------------------------------------------------------- tokens (継続課金)


def test_charge_token_authorizes_and_captures(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token()
    snapshot = provider.charge_token(token, make_order(), capture=True)
    assert (snapshot.status, snapshot.captured_amount, snapshot.buyer_token) == (ProviderStatus.CAPTURED, 13824, token)
    entry = emulator.entry(snapshot.provider_ref)
    assert (entry["channel"], entry["token_id"]) == ("api", token)
    assert [r["paidy_version"] for r in emulator.control("GET", "/requests")["requests"]] == ["2018-04-10"] * 2


def test_charge_token_of_the_rejection_buyer_is_declined(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token(email=REJECTED)
    with pytest.raises(ProviderDeclined) as caught:
        provider.charge_token(token, make_order(), capture=True)
    assert caught.value.snapshot is not None
    assert caught.value.snapshot.status is ProviderStatus.DECLINED
    assert emulator.entry(caught.value.snapshot.provider_ref)["movements"]["capture"] == 0


def test_a_suspended_token_cannot_be_charged_until_resumed(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token()
    suspended = provider.suspend_token(token, reason="merchant.requested", description="一時停止")
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, make_order(), capture=False)
    resumed = provider.resume_token(token, reason="merchant.requested", description="再開")

    assert suspended.status.value == "suspended"
    assert caught.value.fields[0].field == "authentication_token"
    assert resumed.status.value == "active"
    assert provider.charge_token(token, make_order(), capture=False).status is ProviderStatus.AUTHORIZED


def test_a_token_suspended_by_the_consumer_cannot_be_resumed_by_the_merchant(
    emulator: Emulator, provider: PaidyProvider
) -> None:
    token = emulator.token()
    emulator.control("POST", f"/tokens/{token}/suspend", {})
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.resume_token(token, reason="merchant.requested", description="再開")
    assert caught.value.code == "token_resume:token.invalid_status"


def test_deleted_tokens_are_listed_as_deleted(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token()
    provider.delete_token(token, reason="subscription.expired", description="満了")
    assert [(t.id, t.status.value) for t in provider.list_tokens()] == [(token, "deleted")]
    assert provider.get_token(token).version_nr == 2


def test_an_unknown_token_is_an_invalid_request_on_our_field(provider: PaidyProvider) -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token("tok_unknown00000000000000", make_order(), capture=False)
    assert [f.field for f in caught.value.fields] == ["authentication_token"]


def test_field_errors_come_back_under_our_paths(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token()
    order = make_order(
        items=(
            LineItem(sku="P-1", name="商品", unit_price=1000, quantity=1),
            LineItem(sku="P-2", name="おまけ", unit_price=0, quantity=0),
        ),
        destinations=(Destination(name="花子", zip_code="12", address="東京都港区赤坂1"),),
    )
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, order, capture=False)
    assert {f.field for f in caught.value.fields} == {"items[1].quantity", "destinations[0].zip_code"}
    assert emulator.payments() == []


# --------------------------------------------------------------------------- auth / outages


def test_a_wrong_secret_is_an_auth_error(emulator: Emulator) -> None:
    with pytest.raises(ProviderAuthError) as caught:
        emulator.provider(secret_key="sk_test_wrong").fetch("pay_x")
    assert caught.value.code == "fetch:authentication.failed"


def test_5xx_is_unavailable_and_nothing_is_stored(emulator: Emulator, provider: PaidyProvider) -> None:
    token = emulator.token()
    emulator.faults(http_5xx=1)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:HTTP503"
    assert emulator.payments() == []


def test_latency_beyond_the_timeout_is_unavailable_but_the_payment_exists(emulator: Emulator) -> None:
    token = emulator.token()
    emulator.faults(latency_ms=1500)
    with pytest.raises(ProviderUnavailable) as caught:
        emulator.provider(timeout=0.5).charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:timeout"
    assert eventually(lambda: len(emulator.payments()) == 1)


def test_a_dropped_capture_is_settled_by_fetch_never_by_a_blind_retry(
    emulator: Emulator, provider: PaidyProvider
) -> None:
    payment_id = emulator.checkout(provider, make_order())
    emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.capture(payment_id)
    assert caught.value.code == "capture:connection"
    assert provider.fetch(payment_id).status is ProviderStatus.CAPTURED
    assert emulator.entry(payment_id)["movements"]["capture"] == 1


# --------------------------------------------------------------------------- webhooks


def test_webhooks_reach_the_hub_and_are_parsed_as_hints(
    emulator: Emulator, provider: PaidyProvider, receiver: tuple[WebhookReceiver, RunningServer]
) -> None:
    sink, server = receiver
    emulator.control("POST", "/merchants", {"public_key": "pk_test_kessai_demo_paidy01", "webhook_url": server.url})
    payment_id = emulator.checkout(provider, make_order())
    provider.capture(payment_id)
    token = emulator.token()

    assert eventually(lambda: len(sink.bodies()) == 3)
    events = [provider.parse_webhook("payment", {}, body) for body in sink.bodies()]
    assert [(e.kind, e.provider_ref, e.buyer_token) for e in events] == [
        ("payment", payment_id, ""),
        ("payment", payment_id, ""),
        ("authentication", "", token),
    ]
    assert [json.loads(b)["status"] for b in sink.bodies()] == [
        "authorize_success",
        "capture_success",
        "activate_success",
    ]
    assert provider.fetch(events[1].provider_ref).status is ProviderStatus.CAPTURED  # the hub's re-fetch
