"""The NP後払い adapter against its emulator over real HTTP on localhost: every operation and error family."""

from __future__ import annotations

import time

import pytest

from kessai.providers.base import (
    ProviderAuthError,
    ProviderDeclined,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
)
from kessai.providers.np_atobarai.errors import TransactionNotFound
from tests.providers.np_atobarai.emulator import Emulator
from tests.providers.np_atobarai.helpers import make_order

YAMATO = Shipment(carrier="yamato", tracking_no="1234-5678-9012")


def authorized(emulator: Emulator, **order: object) -> str:
    snapshot = emulator.provider().authorize(make_order(**order), capture=False)  # type: ignore[arg-type]
    assert snapshot.status is ProviderStatus.AUTHORIZED
    return snapshot.provider_ref


# --------------------------------------------------------------------------- screening outcomes


def test_ok_registers_an_11_digit_transaction(emulator: Emulator) -> None:
    snapshot = emulator.provider().authorize(make_order(), capture=False)
    assert snapshot.status is ProviderStatus.AUTHORIZED
    assert len(snapshot.provider_ref) == 11
    assert snapshot.provider_ref.isdigit()
    tx = emulator.tx(snapshot.provider_ref)
    assert (tx["billed_amount"], tx["settlement_type"], tx["life"]) == (13824, "02", "open")
    assert tx["customer"]["customer_name"] == "山田\u3000太郎"
    assert tx["customer"]["tel"] == "09012345678"


def test_hold_address_is_10_with_re009_in_japanese(emulator: Emulator) -> None:
    with pytest.raises(ProviderPending) as exc:
        emulator.provider().authorize(make_order(address="東京都港区赤坂1-2-3 保留"), capture=False)
    snap = exc.value.snapshot
    assert snap is not None
    assert (snap.status, exc.value.code) == (ProviderStatus.PENDING_REVIEW, "register:RE009")
    assert "ご請求先の住所情報が不足" in snap.review_reason
    assert emulator.tx(snap.provider_ref)["authori_hold"] == ["RE009"]


def test_ng_address_is_20_ng999_and_over_the_limit_is_ng001(emulator: Emulator) -> None:
    with pytest.raises(ProviderDeclined) as ng:
        emulator.provider().authorize(make_order(address="東京都港区NG町1"), capture=False)
    assert ng.value.code == "register:NG999"
    emulator.control("POST", "/settings", {"credit_limit": 10_000})
    with pytest.raises(ProviderDeclined) as limit:
        emulator.provider().authorize(make_order(shop_transaction_no="A-2"), capture=False)
    assert limit.value.code == "register:NG001"
    assert limit.value.snapshot is not None
    assert limit.value.snapshot.decline_message.startswith("ご利用限度額を超えているため")


def test_under_review_resolves_on_a_later_lookup(emulator: Emulator) -> None:
    provider = emulator.provider()
    with pytest.raises(ProviderPending) as exc:
        provider.authorize(make_order(address="東京都港区赤坂1-2-3 審査"), capture=False)
    assert exc.value.code == "register:40"
    ref = exc.value.snapshot.provider_ref if exc.value.snapshot else ""

    first = provider.fetch(ref)
    second = provider.fetch(ref)

    assert first.status is ProviderStatus.PENDING_REVIEW
    assert first.review_reason.startswith("NP後払いの審査中です。")
    assert second.status is ProviderStatus.AUTHORIZED


def test_field_errors_come_back_on_our_fields(emulator: Emulator) -> None:
    with pytest.raises(ProviderRequestInvalid) as exc:
        emulator.provider().authorize(make_order(email="", phone="03-1234-567"), capture=False)
    assert {(f.field, f.code) for f in exc.value.fields} == {
        ("customer.phone", "E0100067"),
        ("customer.email", "E0100068"),
    }
    with pytest.raises(ProviderRequestInvalid) as mismatch:
        emulator.provider().authorize(make_order(address="東京都 郵便番号不一致"), capture=False)
    assert mismatch.value.code == "register:E0100059"
    assert mismatch.value.message == "購入者の郵便番号と住所が一致しません。"


def test_the_same_order_number_and_amount_twice_is_refused(emulator: Emulator) -> None:
    authorized(emulator)
    with pytest.raises(ProviderRequestInvalid) as exc:
        emulator.provider().authorize(make_order(), capture=False)
    assert exc.value.code == "register:EKSB0120"


# --------------------------------------------------------------------------- 与信内容変更 and the lifecycle


def test_a_hold_is_resolved_by_correcting_the_data(emulator: Emulator) -> None:
    provider = emulator.provider()
    with pytest.raises(ProviderPending) as exc:
        provider.authorize(make_order(dest_address="大阪府大阪市北区1-1 保留"), capture=False)
    ref = exc.value.snapshot.provider_ref if exc.value.snapshot else ""
    assert exc.value.code == "register:RE015"

    fixed = provider.change_amount(ref, make_order(dest_address="大阪府大阪市北区1-1 梅田ビル101"))

    assert (fixed.provider_ref, fixed.status) == (ref, ProviderStatus.AUTHORIZED)
    assert emulator.movements(ref)["update"] == 1


def test_shipment_captures_once_and_a_repeat_is_done(emulator: Emulator) -> None:
    provider = emulator.provider()
    ref = authorized(emulator)

    first = provider.report_shipment(ref, YAMATO)
    again = provider.report_shipment(ref, YAMATO)

    assert (first.status, first.shipment_reported) == (ProviderStatus.CAPTURED, True)
    assert (again.status, again.raw["already_reported"]) == (ProviderStatus.CAPTURED, "E0100115")
    assert emulator.tx(ref)["shipment"] == {
        "pd_company_code": "59010",
        "slip_no": "123456789012",
        "bill_issued_date": None,
    }
    assert emulator.movements(ref)["shipment"] == 1


def test_enclosed_invoice_shipments_carry_the_invoice_date(emulator: Emulator) -> None:
    provider = emulator.provider(options={"enclosed_invoice": True})
    ref = provider.authorize(make_order(), capture=False).provider_ref
    provider.report_shipment(ref, Shipment("sagawa", "123456789012", shipped_on="2025-02-01"))
    tx = emulator.tx(ref)
    assert (tx["settlement_type"], tx["shipment"]["bill_issued_date"]) == ("03", "2025-02-01")


def test_a_change_after_shipment_reregisters_and_the_new_id_needs_its_own_shipment(emulator: Emulator) -> None:
    provider = emulator.provider()
    ref = authorized(emulator)
    provider.report_shipment(ref, YAMATO)
    smaller = make_order(items=(make_order().items[0],))

    changed = provider.change_amount(ref, smaller)

    assert changed.provider_ref != ref
    assert (changed.superseded_refs, changed.amount, changed.status) == ((ref,), 12800, ProviderStatus.AUTHORIZED)
    assert emulator.tx(ref)["life"] == "reregistered"
    assert emulator.tx(changed.provider_ref)["life"] == "open"
    assert provider.report_shipment(changed.provider_ref, YAMATO).status is ProviderStatus.CAPTURED
    with pytest.raises(ProviderRequestInvalid) as twice:
        provider._reregister(ref, smaller)
    assert twice.value.code == "reregister:E0131006"


def test_cancel_is_final_and_idempotent(emulator: Emulator) -> None:
    provider = emulator.provider()
    ref = authorized(emulator)

    assert provider.cancel(ref).status is ProviderStatus.CANCELLED
    assert provider.cancel(ref).raw["already"] == "E0100118"
    assert provider.fetch(ref).status is ProviderStatus.CANCELLED
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider.report_shipment(ref, YAMATO)
    assert exc.value.code == "shipment:E0100118"
    assert emulator.movements(ref)["cancel"] == 1


def test_after_the_buyer_pays_fetch_says_captured_and_cancel_is_refused(emulator: Emulator) -> None:
    provider = emulator.provider()
    ref = authorized(emulator)
    provider.report_shipment(ref, YAMATO)
    emulator.control("POST", f"/transactions/{ref}/pay")

    assert provider.fetch(ref).status is ProviderStatus.CAPTURED
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider.cancel(ref)
    assert exc.value.code == "cancel:E0100114"


def test_unknown_and_malformed_ids(emulator: Emulator) -> None:
    provider = emulator.provider()
    with pytest.raises(TransactionNotFound):
        provider.fetch("99999999999")
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider.cancel("12345")
    assert exc.value.code == "cancel:E0100003"


def test_batch_shipments_over_one_envelope(emulator: Emulator) -> None:
    provider = emulator.provider()
    refs = [authorized(emulator, shop_transaction_no=f"B-{i}") for i in range(3)]
    provider.report_shipment(refs[1], YAMATO)

    outcomes = provider.report_shipments([(refs[0], YAMATO), (refs[1], YAMATO), ("99999999999", YAMATO)])

    assert [getattr(o, "status", type(o).__name__) for o in outcomes] == [
        ProviderStatus.CAPTURED,
        ProviderStatus.CAPTURED,
        "TransactionNotFound",
    ]
    assert emulator.app.store.requests[-1].items == 3


# --------------------------------------------------------------------------- auth and unavailability


def test_connection_test_and_bad_credentials(emulator: Emulator) -> None:
    assert emulator.provider().test_connection().ok
    assert not emulator.provider(sp_code="wrong").test_connection().ok
    with pytest.raises(ProviderAuthError) as wrong_sp:
        emulator.provider(sp_code="wrong").authorize(make_order(), capture=False)
    assert wrong_sp.value.code == "register:HTTP401"
    with pytest.raises(ProviderAuthError) as wrong_terminal:
        emulator.provider(terminal_id="other-system").fetch("99999999999")
    assert wrong_terminal.value.code == "fetch:HTTP403"


def test_a_5xx_stores_nothing(emulator: Emulator) -> None:
    emulator.faults(http_5xx=1)
    with pytest.raises(ProviderUnavailable) as exc:
        emulator.provider().authorize(make_order(), capture=False)
    assert exc.value.code == "register:HTTP503"
    assert emulator.app.ledger()["transactions"] == []


def test_a_dropped_answer_is_unknown_but_the_change_happened(emulator: Emulator) -> None:
    provider = emulator.provider()
    ref = authorized(emulator)
    emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable) as exc:
        provider.cancel(ref)
    assert exc.value.code == "cancel:connection"
    assert provider.fetch(ref).status is ProviderStatus.CANCELLED  # refresh settles it


def test_a_timeout_is_unknown_but_the_change_happened(emulator: Emulator) -> None:
    ref = authorized(emulator)
    emulator.faults(latency_ms=400)
    with pytest.raises(ProviderUnavailable) as exc:
        emulator.provider(timeout=0.1).report_shipment(ref, YAMATO)
    assert exc.value.code == "shipment:timeout"
    emulator.faults(latency_ms=0)
    deadline = time.monotonic() + 5
    while emulator.tx(ref)["life"] != "shipped" and time.monotonic() < deadline:
        time.sleep(0.05)  # the emulator is still sleeping on the request the client gave up on
    assert emulator.tx(ref)["life"] == "shipped"
    again = emulator.provider().report_shipment(ref, YAMATO)  # repeating it is safe: E0100115 is "done"
    assert again.shipment_reported
