"""GmoAtobaraiProvider ↔ the GMO後払い emulator (kessai/sandbox/gmo_atobarai) over real HTTP on localhost.

Every operation and every error family: auth (wrong password), request invalid (field errors under our
paths, wrong state), not found, declined (「NG」, the cumulative limit), pending (「審査」 → 審査中, resolved by a
later getauthor), unavailable (5xx, SY system error, latency beyond the timeout, connection dropped after
the store, nothing listening), 同梱, and the idempotent "already done" answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kessai.providers.base import (
    Destination,
    LineItem,
    ProviderAuthError,
    ProviderDeclined,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
)
from kessai.providers.gmo_atobarai import GmoAtobaraiProvider
from kessai.providers.gmo_atobarai.errors import TransactionNotFound

from .emulator import Emulator, running_emulator
from .helpers import make_order

YAMATO = Shipment(carrier="yamato", tracking_no="1234-5678-9012")


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    yield from running_emulator()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def provider(emulator: Emulator) -> GmoAtobaraiProvider:
    return emulator.provider()


# --------------------------------------------------------------------------- 接続テスト


def test_connection_ok(provider: GmoAtobaraiProvider) -> None:
    assert provider.test_connection().ok is True


def test_connection_fails_with_a_wrong_password(emulator: Emulator) -> None:
    check = emulator.provider(password="wrong").test_connection()
    assert (check.ok, "認証に失敗しました" in check.message) == (False, True)


def test_connection_fails_when_nothing_listens(emulator: Emulator) -> None:
    assert emulator.provider(base_url="http://127.0.0.1:9/auto/", timeout=1.0).test_connection().ok is False


# --------------------------------------------------------------------------- 与信 (OK / NG / 審査中)


def test_authorize_ok_and_the_emulator_stores_what_we_sent(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    snapshot = provider.authorize(make_order(), capture=False)

    assert (snapshot.status, snapshot.amount) == (ProviderStatus.AUTHORIZED, 13824)
    entry = emulator.entry(snapshot.provider_ref)
    tx = entry["transaction"]
    assert (tx["state"], tx["billedAmount"], tx["paymentType"], tx["shopTransactionId"]) == (
        "authorized",
        13824,
        "2",
        "A-1001",
    )
    assert tx["buyer"]["fullKanaName"] == "ヤマダ\u3000タロウ"
    assert entry["movements"]["register"] == 1
    [request] = emulator.control("GET", "/requests")["requests"]
    assert (request["path"], request["content_type"]) == ("/auto/transaction.do", "application/xml; charset=UTF-8")


def test_an_ng_address_is_declined(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider.authorize(make_order(address="東京都港区ＮＧ町1"), capture=False)
    snapshot = caught.value.snapshot
    assert snapshot is not None
    assert emulator.entry(snapshot.provider_ref)["transaction"]["state"] == "declined"


def test_the_cumulative_limit_declines(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    big = (LineItem(sku="P", name="商品", unit_price=30000, quantity=1),)
    provider.authorize(make_order(shop_transaction_no="A-1", items=big), capture=False)
    with pytest.raises(ProviderDeclined):
        provider.authorize(make_order(shop_transaction_no="A-2", items=big), capture=False)


def test_in_review_is_pending_and_resolved_by_a_later_getauthor(
    emulator: Emulator, provider: GmoAtobaraiProvider
) -> None:
    with pytest.raises(ProviderPending) as caught:
        provider.authorize(make_order(address="東京都港区審査町1"), capture=False)
    assert caught.value.snapshot is not None
    ref = caught.value.snapshot.provider_ref

    first = provider.fetch(ref)
    second = provider.fetch(ref)

    assert first.status is ProviderStatus.PENDING_REVIEW
    assert second.status is ProviderStatus.AUTHORIZED
    assert emulator.entry(ref)["movements"]["resolve"] == 1


def test_in_review_may_end_in_ng(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    with pytest.raises(ProviderPending) as caught:
        provider.authorize(make_order(address="東京都港区審査NG町1"), capture=False)
    assert caught.value.snapshot is not None
    ref = caught.value.snapshot.provider_ref
    emulator.control("POST", "/settings", {"review_resolve_lookups": 1})
    assert provider.fetch(ref).status is ProviderStatus.DECLINED


def test_a_held_order_is_corrected_and_rescreened(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider.authorize(make_order(address="東京都港区NG町1"), capture=False)
    assert caught.value.snapshot is not None
    ref = caught.value.snapshot.provider_ref

    corrected = provider.change_amount(ref, make_order(address="東京都港区赤坂1-2-3"))

    assert (corrected.provider_ref, corrected.status) == (ref, ProviderStatus.AUTHORIZED)
    assert emulator.entry(ref)["movements"]["modify"] == 1


def test_field_errors_come_back_under_our_paths(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    order = make_order(
        items=(
            LineItem(sku="P", name="商品", unit_price=1000, quantity=1),
            LineItem(sku="Q", name="", unit_price=0, quantity=1),
        ),
        destinations=(Destination(name="山田 花子", zip_code="12", address="東京都港区赤坂1"),),
    )
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.authorize(order, capture=False)
    assert [(f.field, f.code) for f in caught.value.fields] == [
        ("destinations[0].zip_code", "CT0012"),
        ("items[1].name", "CT0016"),
    ]
    assert emulator.transactions() == []


def test_a_duplicate_shop_transaction_no_is_refused(provider: GmoAtobaraiProvider) -> None:
    provider.authorize(make_order(), capture=False)
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.authorize(make_order(), capture=False)
    assert (caught.value.code, caught.value.fields[0].field) == ("register:CT0020", "shop_transaction_no")


# --------------------------------------------------------------------------- 出荷報告 / 金額変更 / キャンセル


def test_shipment_report_is_the_capture_and_is_idempotent(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    ref = provider.authorize(make_order(), capture=False).provider_ref

    first = provider.report_shipment(ref, YAMATO)
    again = provider.report_shipment(ref, YAMATO)

    assert (first.status, first.shipment_reported, again.status) == (
        ProviderStatus.CAPTURED,
        True,
        ProviderStatus.CAPTURED,
    )
    entry = emulator.entry(ref)
    assert entry["transaction"]["shipment"]["pdcompanycode"] == "12"
    assert entry["transaction"]["shipment"]["slipno"] == "123456789012"
    assert entry["movements"]["ship"] == 1


def test_a_held_transaction_cannot_be_shipped(provider: GmoAtobaraiProvider) -> None:
    with pytest.raises(ProviderPending) as caught:
        provider.authorize(make_order(address="東京都審査区1"), capture=False)
    assert caught.value.snapshot is not None
    with pytest.raises(ProviderRequestInvalid) as refused:
        provider.report_shipment(caught.value.snapshot.provider_ref, YAMATO)
    assert refused.value.code == "shipment:TR0004"


def test_enclosed_invoice_needs_the_buyer_as_recipient(emulator: Emulator) -> None:
    provider = emulator.provider(options={"enclosed_invoice": True})
    own = provider.authorize(make_order(shop_transaction_no="A-1", destinations=()), capture=False)
    gift = provider.authorize(make_order(shop_transaction_no="A-2"), capture=False)
    provider.report_shipment(own.provider_ref, Shipment("sagawa", "123456789012", shipped_on="2025-02-01"))

    own_tx = emulator.entry(own.provider_ref)["transaction"]
    assert (own_tx["paymentType"], own_tx["shipment"]["invoiceIssueDate"]) == ("3", "2025/02/01")
    assert emulator.entry(gift.provider_ref)["transaction"]["paymentType"] == "2"


def test_change_amount_before_shipment_rescreens_and_keeps_the_id(
    emulator: Emulator, provider: GmoAtobaraiProvider
) -> None:
    ref = provider.authorize(make_order(), capture=False).provider_ref
    smaller = make_order(items=(LineItem(sku="P-1", name="1人掛けソファ", unit_price=9800, quantity=1),))

    snapshot = provider.change_amount(ref, smaller)

    assert (snapshot.provider_ref, snapshot.amount, snapshot.status) == (ref, 9800, ProviderStatus.AUTHORIZED)
    assert emulator.entry(ref)["transaction"]["billedAmount"] == 9800


def test_change_amount_after_shipment_is_refused(provider: GmoAtobaraiProvider) -> None:
    ref = provider.authorize(make_order(), capture=False).provider_ref
    provider.report_shipment(ref, YAMATO)
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider.change_amount(ref, make_order())
    assert caught.value.code == "update:TR0004"
    assert "出荷報告を取り消してから" in caught.value.message


def test_shipment_modify_and_withdraw(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    ref = provider.authorize(make_order(), capture=False).provider_ref
    provider.report_shipment(ref, YAMATO)
    provider.modify_shipment(ref, Shipment("japanpost", "123456789012"))
    assert emulator.entry(ref)["transaction"]["shipment"]["pdcompanycode"] == "16"
    assert provider.cancel_shipment(ref).status is ProviderStatus.AUTHORIZED
    assert provider.change_amount(ref, make_order()).status is ProviderStatus.AUTHORIZED


def test_cancel_before_and_after_shipment_and_twice(emulator: Emulator, provider: GmoAtobaraiProvider) -> None:
    before = provider.authorize(make_order(shop_transaction_no="A-1"), capture=False).provider_ref
    after = provider.authorize(make_order(shop_transaction_no="A-2"), capture=False).provider_ref
    provider.report_shipment(after, YAMATO)

    assert provider.cancel(before).status is ProviderStatus.CANCELLED
    assert provider.cancel(after).status is ProviderStatus.CANCELLED
    assert provider.cancel(after).status is ProviderStatus.CANCELLED  # already cancelled: done
    assert [emulator.entry(r)["movements"]["cancel"] for r in (before, after)] == [1, 1]


def test_an_unknown_transaction_is_not_found(provider: GmoAtobaraiProvider) -> None:
    with pytest.raises(TransactionNotFound) as caught:
        provider.fetch("999999999999")
    assert caught.value.code == "fetch:TR0001"


# --------------------------------------------------------------------------- auth / outages


def test_a_wrong_password_is_an_auth_error(emulator: Emulator) -> None:
    with pytest.raises(ProviderAuthError) as caught:
        emulator.provider(password="wrong").authorize(make_order(), capture=False)
    assert caught.value.code == "register:AU0001"
    assert emulator.transactions() == []


@pytest.mark.parametrize(
    ("fault", "code"), [({"http_5xx": 1}, "register:HTTP503"), ({"system_error": 1}, "register:SY0001")]
)
def test_outages_are_unavailable_and_store_nothing(
    emulator: Emulator, provider: GmoAtobaraiProvider, fault: dict[str, int], code: str
) -> None:
    emulator.faults(**fault)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.authorize(make_order(), capture=False)
    assert caught.value.code == code
    assert emulator.transactions() == []


def test_latency_beyond_the_timeout_is_unavailable_but_the_transaction_exists(emulator: Emulator) -> None:
    emulator.faults(latency_ms=1500)
    with pytest.raises(ProviderUnavailable) as caught:
        emulator.provider(timeout=0.5).authorize(make_order(), capture=False)
    assert caught.value.code == "register:timeout"
    deadline = time.monotonic() + 3
    while not emulator.app.ledger()["transactions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emulator.app.ledger()["transactions"]) == 1


def test_a_dropped_shipment_report_is_settled_by_the_already_reported_answer(
    emulator: Emulator, provider: GmoAtobaraiProvider
) -> None:
    ref = provider.authorize(make_order(), capture=False).provider_ref
    emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.report_shipment(ref, YAMATO)
    assert caught.value.code == "shipment:connection"
    assert provider.report_shipment(ref, YAMATO).shipment_reported is True  # TR0003 → done, not a 2nd report
    assert emulator.entry(ref)["movements"]["ship"] == 1
