"""AtoneProvider ↔ the atone emulator (kessai/sandbox/atone) over real HTTP on localhost.

Every endpoint and every error class: auth (wrong key), request invalid (bad field), unavailable (5xx,
EATN0399, latency beyond the timeout, connection dropped after the store), declined (「NPテスト」, over the
buyer limit), the method-override path, settle twice, partial refund, change_amount superseding.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import httpx
import pytest

from kessai.providers.atone import AtoneProvider
from kessai.providers.atone.errors import TransactionNotFound
from kessai.providers.base import (
    Customer,
    LineItem,
    OrderData,
    ProviderAuthError,
    ProviderDeclined,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    UnsupportedOperation,
)
from kessai.sandbox.atone import DEFAULT_BUYER_LIMIT
from kessai.sandbox.server import RunningServer

from .emulator import (
    Emulator,
    RecordingTransport,
    WebhookReceiver,
    eventually,
    running_emulator,
    running_receiver,
)
from .helpers import make_order


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def provider(emulator: Emulator) -> AtoneProvider:
    return emulator.provider()


@pytest.fixture
def token(emulator: Emulator) -> str:
    return emulator.token()


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, RunningServer]]:
    yield from running_receiver()


def one_line_order(amount: int, shop_transaction_no: str = "A-1001", name: str = "山田 太郎") -> OrderData:
    return make_order(
        shop_transaction_no=shop_transaction_no,
        name=name,
        items=(LineItem(sku="P-1", name="商品", unit_price=amount, quantity=1),),
    )


# --------------------------------------------------------------------------- 接続テスト


def test_connection_ok_with_the_emulator_keys(provider: AtoneProvider) -> None:
    check = provider.test_connection()
    assert check.ok is True


def test_connection_fails_with_a_wrong_secret(emulator: Emulator) -> None:
    check = emulator.provider(secret_key="wrong-secret-key-00000").test_connection()
    assert check.ok is False
    assert "認証に失敗" in check.message


def test_connection_fails_when_nothing_listens(emulator: Emulator) -> None:
    check = emulator.provider(base_url="http://127.0.0.1:9/v1/", timeout=1.0).test_connection()
    assert check.ok is False


# --------------------------------------------------------------------------- create (charge_token)


def test_charge_token_authorizes_and_the_emulator_stores_it(
    emulator: Emulator, provider: AtoneProvider, token: str
) -> None:
    snapshot = provider.charge_token(token, make_order(), capture=False)

    assert snapshot.status is ProviderStatus.AUTHORIZED
    assert snapshot.provider_ref.startswith("tr_")
    assert (snapshot.amount, snapshot.shop_transaction_no, snapshot.buyer_token) == (13824, "A-1001", token)
    entry = emulator.entry(snapshot.provider_ref)
    assert entry["state"] == "authorized"
    assert entry["channel"] == "api"
    assert entry["transaction"]["customer"]["phone_number"] == "09012345678"
    assert entry["transaction"]["transaction_options"] == []


def test_charge_token_with_capture_is_captured_at_once(provider: AtoneProvider, token: str) -> None:
    snapshot = provider.charge_token(token, make_order(), capture=True)
    assert snapshot.status is ProviderStatus.CAPTURED
    assert snapshot.captured_amount == 13824


def test_recurring_option_and_terminal_id_reach_the_emulator(emulator: Emulator, token: str) -> None:
    provider = emulator.provider(options={"recurring_option": True}, terminal_id="4000000400")
    snapshot = provider.charge_token(token, make_order(), capture=False)
    entry = emulator.entry(snapshot.provider_ref)
    assert entry["transaction"]["transaction_options"] == [1]
    assert entry["terminal_id"] == "4000000400"


def test_np_test_name_is_declined_with_reason_9(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider.charge_token(token, make_order(name="NPテスト"), capture=False)
    error = caught.value
    assert error.code == "charge:NG9"
    assert error.message.startswith("審査の結果、atoneをご利用いただけません。")
    assert error.snapshot is not None
    assert (error.snapshot.status, error.snapshot.decline_code) == (ProviderStatus.DECLINED, "9")
    assert emulator.entry(error.snapshot.provider_ref)["state"] == "declined"


def test_amount_over_the_buyer_limit_is_declined_with_reason_1(provider: AtoneProvider, token: str) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider.charge_token(token, one_line_order(DEFAULT_BUYER_LIMIT + 1), capture=False)
    assert caught.value.code == "charge:NG1"
    assert "ご利用可能額を超えている" in caught.value.message


def test_bad_zip_code_is_request_invalid_on_our_field(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    order = dataclasses.replace(make_order(), customer=Customer(name="山田", zip_code="12-34"))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, order, capture=False)
    assert caught.value.code == "charge:EATN0346"
    assert [(f.field, f.code) for f in caught.value.fields] == [("customer.zip_code", "EATN0346")]
    assert emulator.ledger()["transactions"] == []


def test_item_error_on_a_single_line_points_at_line_zero(provider: AtoneProvider, token: str) -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, one_line_order(1_000_000), capture=False)
    assert [f.field for f in caught.value.fields] == ["items[0].unit_price"]


def test_duplicate_shop_transaction_no_shows_the_providers_message(provider: AtoneProvider, token: str) -> None:
    provider.charge_token(token, make_order(), capture=False)
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:EATN0398"
    assert "重複" in caught.value.message
    assert [f.field for f in caught.value.fields] == ["shop_transaction_no"]


def test_revoked_token_is_request_invalid_on_the_token(emulator: Emulator, provider: AtoneProvider) -> None:
    token = emulator.token()
    emulator.control("POST", "/tokens/revoke", {"authentication_token": token})
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:EATN0303"
    assert [f.field for f in caught.value.fields] == ["authentication_token"]


def test_wrong_secret_key_is_an_auth_error(emulator: Emulator, token: str) -> None:
    provider = emulator.provider(secret_key="wrong-secret-key-00000")
    with pytest.raises(ProviderAuthError) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:EATN0306"
    assert caught.value.message.startswith("認証に失敗しました。")
    assert emulator.ledger()["transactions"] == []


# --------------------------------------------------------------------------- unavailable


def test_http_5xx_fault_is_unavailable_and_stores_nothing(
    emulator: Emulator, provider: AtoneProvider, token: str
) -> None:
    emulator.faults(http_5xx={"count": 1, "status": 502})
    with pytest.raises(ProviderUnavailable) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:HTTP502"
    assert caught.value.request_id
    assert emulator.ledger()["transactions"] == []


def test_eatn0399_is_unavailable(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    emulator.faults(eatn0399=1)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:EATN0399"
    assert "時間を空けて" in caught.value.message


def test_latency_beyond_the_timeout_is_unavailable_and_fetch_settles_it(emulator: Emulator, token: str) -> None:
    emulator.faults(latency_ms=800)
    with pytest.raises(ProviderUnavailable) as caught:
        emulator.provider(timeout=0.2).charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:timeout"
    emulator.faults(latency_ms=0)

    stored = emulator.wait_for_transactions(1)
    assert len(stored) == 1  # the call timed out, the emulator still stored it: outcome was unknown
    snapshot = emulator.provider().fetch(stored[0]["transaction"]["id"])
    assert snapshot.status is ProviderStatus.AUTHORIZED


def test_drop_after_store_is_unavailable_and_fetch_finds_the_transaction(
    emulator: Emulator, provider: AtoneProvider, token: str
) -> None:
    emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:connection"

    stored = emulator.ledger()["transactions"]
    assert len(stored) == 1
    assert provider.fetch(stored[0]["transaction"]["id"]).status is ProviderStatus.AUTHORIZED


def test_dropped_settle_is_unavailable_but_was_settled(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable):
        provider.capture(ref)
    assert provider.fetch(ref).status is ProviderStatus.CAPTURED
    assert emulator.entry(ref)["movements"]["settle"] == 1


# --------------------------------------------------------------------------- fetch / settle / refund


def test_fetch_returns_the_transaction(provider: AtoneProvider, token: str) -> None:
    created = provider.charge_token(token, make_order(), capture=False)
    fetched = provider.fetch(created.provider_ref)
    assert (fetched.provider_ref, fetched.status, fetched.amount, fetched.buyer_token) == (
        created.provider_ref,
        ProviderStatus.AUTHORIZED,
        13824,
        token,
    )


def test_fetch_of_an_unknown_id_is_not_found(provider: AtoneProvider) -> None:
    with pytest.raises(TransactionNotFound) as caught:
        provider.fetch("tr_ZZZZZZZZZZZZZZZZ")
    assert caught.value.code == "fetch:EATN0398"


def test_settle_twice_is_idempotent_and_moves_money_once(
    emulator: Emulator, provider: AtoneProvider, token: str
) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref

    first = provider.capture(ref)
    second = provider.capture(ref)

    assert first.status is second.status is ProviderStatus.CAPTURED
    assert emulator.entry(ref)["movements"]["settle"] == 1
    codes = [r["codes"] for r in emulator.control("GET", "/requests")["requests"]]
    assert ["EATN1201"] in codes


def test_capture_of_another_amount_is_unsupported_and_not_sent(
    emulator: Emulator, provider: AtoneProvider, token: str
) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    with pytest.raises(UnsupportedOperation):
        provider.capture(ref, amount=1000)
    assert emulator.entry(ref)["movements"]["settle"] == 0
    assert provider.capture(ref, amount=13824).status is ProviderStatus.CAPTURED


def test_capture_of_a_declined_transaction_is_request_invalid(provider: AtoneProvider, token: str) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider.charge_token(token, make_order(name="NPテスト"), capture=False)
    assert caught.value.snapshot is not None
    with pytest.raises(ProviderRequestInvalid) as invalid:
        provider.capture(caught.value.snapshot.provider_ref)
    assert invalid.value.code == "settle:EATN0398"
    assert "与信NG" in invalid.value.message


def test_cancel_before_capture(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    snapshot = provider.cancel(ref)
    assert snapshot.status is ProviderStatus.CANCELLED
    assert (snapshot.captured_amount, snapshot.refunded_amount) == (0, 0)
    assert emulator.entry(ref)["state"] == "cancelled"


def test_cancel_after_capture_refunds_in_full(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=True).provider_ref
    snapshot = provider.cancel(ref)
    assert snapshot.status is ProviderStatus.CANCELLED
    assert (snapshot.captured_amount, snapshot.refunded_amount) == (13824, 13824)


def test_partial_refunds_after_capture_then_the_rest(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=True).provider_ref

    first = provider.refund(ref, amount=1000, reason="返品")
    assert (first.status, first.refunded_amount) == (ProviderStatus.CAPTURED, 1000)
    with pytest.raises(ProviderRequestInvalid) as too_much:
        provider.refund(ref, amount=13824)
    assert too_much.value.fields[0].field == "amount"
    rest = provider.refund(ref, amount=12824)
    assert (rest.status, rest.refunded_amount) == (ProviderStatus.CANCELLED, 13824)
    assert emulator.entry(ref)["movements"]["refund"] == 2


def test_partial_refund_before_capture_is_refused(provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.refund(ref, amount=1000)
    assert caught.value.code == "refund:EATN0398"
    assert "売上確定前" in caught.value.message
    assert provider.fetch(ref).status is ProviderStatus.AUTHORIZED


def test_expired_authorization_cannot_be_captured(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    emulator.control("POST", "/settings", {"clock_offset_days": 91})
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.capture(ref)
    assert "有効期限" in caught.value.message
    assert emulator.entry(ref)["state"] == "expired"
    # The transaction object carries no expiry marker, so a fetch still reads AUTHORIZED (documented).
    assert provider.fetch(ref).status is ProviderStatus.AUTHORIZED


# --------------------------------------------------------------------------- change_amount


def test_change_amount_supersedes_the_old_transaction(emulator: Emulator, provider: AtoneProvider, token: str) -> None:
    old = provider.charge_token(token, make_order(), capture=False)
    smaller = make_order(items=(LineItem(sku="P-1", name="1人掛けソファ", unit_price=12800, quantity=1),))

    new = provider.change_amount(old.provider_ref, smaller)

    assert new.provider_ref != old.provider_ref
    assert new.superseded_refs == (old.provider_ref,)
    assert (new.status, new.amount, new.shop_transaction_no, new.buyer_token) == (
        ProviderStatus.AUTHORIZED,
        12800,
        "A-1001",
        token,
    )
    assert provider.fetch(old.provider_ref).status is ProviderStatus.CANCELLED
    assert emulator.entry(old.provider_ref)["superseded_by"] == new.provider_ref
    assert emulator.entry(new.provider_ref)["transaction"]["updated_transactions"] == [old.provider_ref]


def test_change_amount_over_the_limit_is_declined_with_the_new_snapshot(provider: AtoneProvider, token: str) -> None:
    old = provider.charge_token(token, one_line_order(10_000), capture=False)
    with pytest.raises(ProviderDeclined) as caught:
        provider.change_amount(old.provider_ref, one_line_order(DEFAULT_BUYER_LIMIT + 1))
    snapshot = caught.value.snapshot
    assert snapshot is not None
    assert (snapshot.status, snapshot.decline_code, snapshot.superseded_refs) == (
        ProviderStatus.DECLINED,
        "1",
        (old.provider_ref,),
    )
    assert provider.fetch(old.provider_ref).status is ProviderStatus.CANCELLED


def test_change_amount_after_capture_is_unsupported(provider: AtoneProvider, token: str) -> None:
    ref = provider.charge_token(token, make_order(), capture=True).provider_ref
    with pytest.raises(UnsupportedOperation):
        provider.change_amount(ref, make_order())


# --------------------------------------------------------------------------- method override


def test_method_override_path_end_to_end(emulator: Emulator, token: str) -> None:
    transport = RecordingTransport()
    provider = emulator.provider(options={"method_override": True}, transport=transport)

    ref = provider.charge_token(token, make_order(), capture=False).provider_ref
    assert provider.fetch(ref).status is ProviderStatus.AUTHORIZED
    assert provider.capture(ref).status is ProviderStatus.CAPTURED
    assert provider.refund(ref, amount=100).refunded_amount == 100
    assert provider.test_connection().ok is True

    assert transport.seen == [
        ("POST", "POST"),
        ("POST", "GET"),
        ("POST", "PATCH"),
        ("POST", "PATCH"),
        ("POST", "GET"),
    ]
    effective = [(r["method"], r["status"]) for r in emulator.control("GET", "/requests")["requests"]]
    assert effective == [("POST", 200), ("GET", 200), ("PATCH", 200), ("PATCH", 200), ("GET", 404)]


# --------------------------------------------------------------------------- widget / checkout


def test_checkout_config_is_accepted_by_the_emulators_widget(emulator: Emulator, provider: AtoneProvider) -> None:
    config = provider.checkout_config(make_order(shop_transaction_no="W-1"), capture=False)

    script = httpx.get(config.script_url, timeout=5.0)
    assert script.status_code == 200
    assert config.script_url == emulator.base_url + "atone.js"

    confirm = httpx.post(
        emulator.base_url + "modal/api/confirm",
        json={
            "pub_key": config.widget["pub_key"],
            "pre_token": config.widget["pre_token"],
            "phone_number": "080-1111-2222",
            "payment": config.widget["payment"],
        },
        timeout=5.0,
    )
    assert confirm.status_code == 200, confirm.text
    answer = confirm.json()
    snapshot = provider.fetch(answer["response"]["id"])
    assert (snapshot.status, snapshot.shop_transaction_no, snapshot.buyer_token) == (
        ProviderStatus.AUTHORIZED,
        "W-1",
        answer["authentication_token"],
    )


def test_tampered_widget_payment_is_refused_by_checksum(emulator: Emulator, provider: AtoneProvider) -> None:
    config = provider.checkout_config(make_order(shop_transaction_no="W-2"), capture=False)
    payment = dict(config.widget["payment"])
    payment["amount"] = 1
    payment["items"] = [{"shop_item_id": "x", "item_name": "x", "item_price": 1, "item_count": 1}]
    confirm = httpx.post(
        emulator.base_url + "modal/api/confirm",
        json={"pub_key": config.widget["pub_key"], "pre_token": "", "phone_number": "08011112222", "payment": payment},
        timeout=5.0,
    )
    assert confirm.status_code == 400
    assert [e["code"] for e in confirm.json()["errors"]] == ["EATN0351"]


# --------------------------------------------------------------------------- webhooks


def test_emulator_webhooks_parse_into_events(
    emulator: Emulator,
    provider: AtoneProvider,
    receiver: tuple[WebhookReceiver, RunningServer],
) -> None:
    sink, sink_server = receiver
    merchant = emulator.control("GET", "/merchants")["merchants"][0]
    emulator.control(
        "POST",
        "/merchants",
        {
            "public_key": merchant["public_key"],
            "payment_webhook_url": sink_server.url + "/hooks/payment",
            "authentication_webhook_url": sink_server.url + "/hooks/authentication",
        },
    )
    token = emulator.token("070-5555-6666")
    ref = provider.charge_token(token, make_order(), capture=False).provider_ref

    assert eventually(lambda: bool(sink.bodies("/hooks/payment")) and bool(sink.bodies("/hooks/authentication")))
    auth_body = sink.bodies("/hooks/authentication")[0]
    pay_body = sink.bodies("/hooks/payment")[0]

    auth = provider.parse_webhook("authentication", {}, auth_body)
    assert (auth.kind, auth.buyer_token) == ("authentication", token)
    assert auth.buyer_id == json.loads(auth_body)["user_no"]
    payment = provider.parse_webhook("payment", {}, pay_body)
    assert (payment.kind, payment.provider_ref, payment.buyer_token) == ("payment", ref, token)
    assert payment.dedup_key == provider.parse_webhook("payment", {}, pay_body).dedup_key
    assert payment.dedup_key != auth.dedup_key
    # The event is a hint: confirmed with fetch.
    assert provider.fetch(payment.provider_ref).status is ProviderStatus.AUTHORIZED


def test_contract_without_the_recurring_option_is_request_invalid(emulator: Emulator, token: str) -> None:
    merchant = emulator.control("GET", "/merchants")["merchants"][0]
    emulator.control("POST", "/merchants", {"public_key": merchant["public_key"], "transaction_options": []})
    provider = emulator.provider(options={"recurring_option": True})
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.charge_token(token, make_order(), capture=False)
    assert caught.value.code == "charge:EATN0360"
    assert "契約" in caught.value.message
