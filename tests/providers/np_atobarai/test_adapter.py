"""NpAtobaraiProvider against httpx.MockTransport: the wire each operation sends, and how answers are read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kessai.providers.base import (
    Destination,
    Provider,
    ProviderAuthError,
    ProviderDeclined,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    UnsupportedOperation,
)
from kessai.providers.np_atobarai import const
from kessai.providers.np_atobarai.adapter import NpAtobaraiProvider, api_base_url, normalize_phone, to_full_width
from kessai.providers.np_atobarai.errors import TransactionNotFound
from tests.providers.np_atobarai.helpers import (
    NP_ID,
    FakeApi,
    answer,
    errors,
    make_order,
    make_settings,
    provider_with,
    results,
    screening,
    sequence,
)

NEW_ID = "25011000009"


def test_it_is_a_provider_with_honest_capabilities() -> None:
    provider = provider_with(FakeApi(answer(200, {})))
    assert isinstance(provider, Provider)
    caps = NpAtobaraiProvider.capabilities
    assert (caps.server_authorize, caps.browser_checkout, caps.held_state) == (True, False, True)
    assert (caps.capture_requires_shipment, caps.shipment_report, caps.partial_capture) == (True, True, False)
    assert (caps.change_amount, caps.change_amount_rescreens, caps.enclosed_invoice) == (True, True, True)
    assert (caps.tokens, caps.webhooks, caps.refund, caps.partial_refund) == (False, False, False, False)
    assert (caps.min_amount, caps.max_amount) == (1, 55_000)
    assert NpAtobaraiProvider.code == "np_atobarai"


def test_hosts_and_the_production_override_guard() -> None:
    assert api_base_url("test", None) == "https://ctcp.np-payment-gateway.com/v1/"
    assert api_base_url("production", None) == "https://cp.np-payment-gateway.com/v1/"
    assert api_base_url("test", "http://127.0.0.1:8102/v1") == "http://127.0.0.1:8102/v1/"
    with pytest.raises(ValueError, match="production"):
        api_base_url("production", "http://127.0.0.1:8102/v1/")


@pytest.mark.parametrize("missing", ["merchant_code", "sp_code", "terminal_id"])
def test_missing_credentials_are_an_auth_error(missing: str) -> None:
    settings = make_settings()
    credentials = {**settings.credentials, missing: " "}
    with pytest.raises(ProviderAuthError) as exc:
        NpAtobaraiProvider(replace(settings, credentials=credentials))
    assert exc.value.code == f"config:{missing}"


def test_names_are_full_width_and_phones_half_width_digits() -> None:
    assert to_full_width("山田 太郎") == "山田\u3000太郎"
    assert to_full_width("ﾔﾏﾀﾞ  ﾀﾛｳ") == "ヤマダ\u3000タロウ"
    assert normalize_phone("090-1234-5678") == "09012345678"
    assert normalize_phone("+81 90 1234 5678") == "09012345678"
    assert normalize_phone("０３（１２３４）５６７８") == "0312345678"
    assert normalize_phone("電話なし") == "電話なし"


# --------------------------------------------------------------------------- authorize (取引登録)


def test_authorize_registers_the_order_and_answers_authorized() -> None:
    api = FakeApi(answer(200, results(screening("00"))))
    snapshot = provider_with(api).authorize(make_order(), capture=True)

    assert api.paths == [("POST", "/v1/transactions")]
    assert api.body() == {
        "transactions": [
            {
                "shop_transaction_id": "A-1001",
                "shop_order_date": "2025-01-09",
                "settlement_type": "02",
                "billed_amount": 13824,
                "customer": {
                    "customer_name": "山田\u3000太郎",
                    "customer_name_kana": "ヤマダ\u3000タロウ",
                    "zip_code": "107-0052",
                    "address": "東京都港区赤坂1-2-3",
                    "tel": "09012345678",
                    "email": "taro@example.jp",
                },
                "dest_customer": {
                    "customer_name": "山田\u3000花子",
                    "zip_code": "107-0052",
                    "address": "東京都港区赤坂1-2-3",
                    "tel": "0312345678",
                },
                "goods": [
                    {"goods_name": "1人掛けソファ", "goods_price": 12800, "quantity": 1},
                    {"goods_name": "送料", "goods_price": 1024, "quantity": 1},
                ],
            }
        ]
    }
    assert (snapshot.provider_ref, snapshot.status, snapshot.amount) == (NP_ID, ProviderStatus.AUTHORIZED, 13824)
    assert (snapshot.captured_amount, snapshot.shipment_reported, snapshot.shop_transaction_no) == (0, False, "A-1001")
    assert snapshot.raw["_kessai_request_id"] == snapshot.request_id
    assert const.AMOUNTS_REPORTED_KEY not in snapshot.raw  # register knows the amount it sent


def test_enclosed_invoice_option_registers_settlement_type_03_and_no_dest_without_destination() -> None:
    api = FakeApi(answer(200, results(screening("00"))))
    provider_with(api, options={"enclosed_invoice": "true"}).authorize(
        make_order(destinations=(), ordered_at=""), capture=False
    )
    item = api.item()
    assert item["settlement_type"] == "03"
    assert "dest_customer" not in item
    assert item["shop_order_date"] == "2025-01-10"  # no order date: today (JST)


def test_a_hold_raises_pending_with_the_japanese_re_reason_and_the_snapshot() -> None:
    api = FakeApi(answer(200, results(screening("10", authori_hold=["RE009", "RE021"]))))
    with pytest.raises(ProviderPending) as exc:
        provider_with(api).authorize(make_order(), capture=False)
    snap = exc.value.snapshot
    assert snap is not None
    assert (snap.status, snap.provider_ref, snap.amount) == (ProviderStatus.PENDING_REVIEW, NP_ID, 13824)
    assert exc.value.code == "register:RE009,RE021"
    assert snap.review_reason.startswith("NP後払い与信保留(RE009、RE021): ご請求先の住所情報が不足")
    assert "電話番号に誤りがある" in snap.review_reason
    assert exc.value.message == snap.review_reason


def test_under_review_raises_pending_too() -> None:
    api = FakeApi(answer(200, results(screening("40", authori_required_date=None))))
    with pytest.raises(ProviderPending) as exc:
        provider_with(api).authorize(make_order(), capture=False)
    assert exc.value.code == "register:40"
    assert exc.value.snapshot is not None
    assert exc.value.snapshot.review_reason.startswith("NP後払いの審査中です。")


def test_ng_raises_declined_with_the_reason_and_the_snapshot() -> None:
    api = FakeApi(answer(200, results(screening("20", authori_ng="NG001"))))
    with pytest.raises(ProviderDeclined) as exc:
        provider_with(api).authorize(make_order(), capture=False)
    snap = exc.value.snapshot
    assert snap is not None
    assert (snap.status, snap.decline_code) == (ProviderStatus.DECLINED, "NG001")
    assert exc.value.code == "register:NG001"
    assert exc.value.message == snap.decline_message
    assert snap.decline_message.startswith("ご利用限度額を超えているため")


def test_an_unknown_result_code_is_never_read_as_ok() -> None:
    api = FakeApi(answer(200, results(screening("99"))))
    with pytest.raises(ProviderUnavailable) as exc:
        provider_with(api).authorize(make_order(), capture=False)
    assert exc.value.code == "register:unparseable"


def test_field_errors_name_our_fields() -> None:
    api = FakeApi(answer(400, errors("E0100057", "E0100087", target="A-1001")))
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(api).authorize(make_order(), capture=False)
    assert [f.field for f in exc.value.fields] == ["customer.zip_code", "destinations[0].phone"]


@pytest.mark.parametrize(
    ("order", "field", "message"),
    [
        (
            make_order(amount=999),
            "amount",
            "請求金額(999円)が明細の合計(13,824円)と一致しません(NP後払いでは一致が必要です)。",
        ),
        (
            make_order(shop_transaction_no="X" * 41),
            "shop_transaction_no",
            "NP後払いの加盟店取引IDは40文字以内で指定してください。",
        ),
        (
            make_order(destinations=(Destination("a", "1000001", "東京都"), Destination("b", "1000001", "東京都"))),
            "destinations",
            "NP後払いでは配送先を1件までしか指定できません。",
        ),
    ],
)
def test_orders_np_cannot_take_are_refused_before_sending(order, field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi(answer(200, results(screening())))
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(api).authorize(order, capture=False)
    assert [(f.field, f.message) for f in exc.value.fields] == [(field, message)]
    assert api.requests == []


# --------------------------------------------------------------------------- change_amount (取引変更 / 再登録)


def test_change_amount_updates_with_the_full_item_and_is_rescreened() -> None:
    api = FakeApi(answer(200, results(screening("00"))))
    order = make_order(items=(make_order().items[0],))
    snapshot = provider_with(api).change_amount(NP_ID, order)

    assert api.paths == [("PATCH", "/v1/transactions/update")]
    item = api.item()
    assert item["np_transaction_id"] == NP_ID
    assert (item["billed_amount"], item["goods"]) == (
        12800,
        [{"goods_name": "1人掛けソファ", "goods_price": 12800, "quantity": 1}],
    )
    assert item["customer"]["address"] == "東京都港区赤坂1-2-3"
    assert (snapshot.provider_ref, snapshot.amount, snapshot.status) == (NP_ID, 12800, ProviderStatus.AUTHORIZED)


def test_change_amount_may_come_back_held_or_ng() -> None:
    held = FakeApi(answer(200, results(screening("10", authori_hold=["RE015"]))))
    with pytest.raises(ProviderPending) as pending:
        provider_with(held).change_amount(NP_ID, make_order())
    assert pending.value.code == "update:RE015"
    ng = FakeApi(answer(200, results(screening("20", authori_ng="NG999"))))
    with pytest.raises(ProviderDeclined) as declined:
        provider_with(ng).change_amount(NP_ID, make_order())
    assert declined.value.code == "update:NG999"


def test_after_the_shipment_report_a_change_is_a_reregistration_with_a_new_id() -> None:
    reregistered = screening("00", np_id=NEW_ID, base_np_transaction_id=NP_ID)
    api = FakeApi(sequence(answer(400, errors("E0100115")), answer(200, results(reregistered))))
    order = make_order(items=(make_order().items[0],))
    snapshot = provider_with(api).change_amount(NP_ID, order)

    assert api.paths == [("PATCH", "/v1/transactions/update"), ("POST", "/v1/transactions/reregister")]
    assert api.item() == {
        "base_np_transaction_id": NP_ID,
        "shop_transaction_id": "A-1001",
        "shop_order_date": "2025-01-09",
        "billed_amount": 12800,
        "goods": [{"goods_name": "1人掛けソファ", "goods_price": 12800, "quantity": 1}],
    }
    assert (snapshot.provider_ref, snapshot.superseded_refs, snapshot.amount) == (NEW_ID, (NP_ID,), 12800)
    assert (snapshot.status, snapshot.shipment_reported) == (ProviderStatus.AUTHORIZED, False)
    assert snapshot.raw["reregistered_from"] == NP_ID


def test_a_reregistration_without_a_new_id_is_not_success() -> None:
    api = FakeApi(sequence(answer(400, errors("E0100115")), answer(200, results(screening("00", np_id=NP_ID)))))
    with pytest.raises(ProviderUnavailable) as exc:
        provider_with(api).change_amount(NP_ID, make_order())
    assert exc.value.code == "reregister:unparseable"


def test_reregistration_limits_surface_as_request_errors() -> None:
    api = FakeApi(sequence(answer(400, errors("E0100115")), answer(400, errors("E0131011"))))
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(api).change_amount(NP_ID, make_order())
    assert exc.value.code == "reregister:E0131011"
    assert exc.value.message == "この取引の再登録の回数が上限を超えています。"


# --------------------------------------------------------------------------- cancel


def test_cancel_patches_transactions_cancel_and_reports_no_amounts() -> None:
    api = FakeApi(answer(200, results({"np_transaction_id": NP_ID})))
    snapshot = provider_with(api).cancel(NP_ID)
    assert api.paths == [("PATCH", "/v1/transactions/cancel")]
    assert api.body() == {"transactions": [{"np_transaction_id": NP_ID}]}
    assert snapshot.status is ProviderStatus.CANCELLED
    assert snapshot.raw[const.AMOUNTS_REPORTED_KEY] is False


def test_a_second_cancel_is_done_but_a_cancel_after_payment_is_refused() -> None:
    again = provider_with(FakeApi(answer(400, errors("E0100118")))).cancel(NP_ID)
    assert (again.status, again.raw["already"]) == (ProviderStatus.CANCELLED, "E0100118")
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(FakeApi(answer(400, errors("E0100114")))).cancel(NP_ID)
    assert exc.value.message == "購入者のお支払い後のため、この操作はできません。"


# --------------------------------------------------------------------------- report_shipment (出荷報告)


def test_report_shipment_maps_the_carrier_and_normalises_the_slip() -> None:
    api = FakeApi(answer(200, results({"np_transaction_id": NP_ID})))
    snapshot = provider_with(api).report_shipment(NP_ID, Shipment(carrier="ヤマト運輸", tracking_no="1234-5678-9012"))
    assert api.paths == [("POST", "/v1/shipments")]
    assert api.item() == {"np_transaction_id": NP_ID, "pd_company_code": "59010", "slip_no": "123456789012"}
    assert (snapshot.status, snapshot.shipment_reported) == (ProviderStatus.CAPTURED, True)
    assert snapshot.raw[const.AMOUNTS_REPORTED_KEY] is False


def test_enclosed_invoices_send_the_invoice_date() -> None:
    api = FakeApi(answer(200, results({"np_transaction_id": NP_ID})))
    provider = provider_with(api, options={"enclosed_invoice": True})
    provider.report_shipment(NP_ID, Shipment(carrier="sagawa", tracking_no="123456789012", shipped_on="2025-01-11"))
    provider.report_shipment(NP_ID, Shipment(carrier="sagawa", tracking_no="123456789012"))
    assert api.item(0)["bill_issued_date"] == "2025-01-11"
    assert api.item(1)["bill_issued_date"] == "2025-01-10"
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider.report_shipment(NP_ID, Shipment(carrier="sagawa", tracking_no="123456789012", shipped_on="1/11"))
    assert exc.value.fields[0].field == "shipped_on"


@pytest.mark.parametrize(
    ("shipment", "field", "message"),
    [
        (Shipment("pigeon", "123"), "carrier", "配送会社を選択してください。"),
        (
            Shipment("other", "123"),
            "carrier",
            "NP後払いでは配送会社「その他」を指定できません。NP後払いが対応する配送会社を選択してください。",
        ),
        (Shipment("yamato", "12345"), "tracking_no", "ヤマト運輸の伝票番号は半角数字12桁で入力してください。"),
        (Shipment("tonami", "A" * 21), "tracking_no", "NP後払いの伝票番号は20文字以内で入力してください。"),
    ],
)
def test_bad_shipments_are_refused_before_sending(shipment: Shipment, field: str, message: str) -> None:
    api = FakeApi(answer(200, results({"np_transaction_id": NP_ID})))
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(api).report_shipment(NP_ID, shipment)
    assert [(f.field, f.message) for f in exc.value.fields] == [(field, message)]
    assert api.requests == []


def test_an_already_reported_shipment_is_done_and_answers_the_current_snapshot() -> None:
    api = FakeApi(
        sequence(
            answer(400, errors("E0100115")),
            answer(200, results(screening("00"))),
            answer(200, results({"np_transaction_id": NP_ID, "payment_status": "10"})),
        )
    )
    snapshot = provider_with(api).report_shipment(NP_ID, Shipment("yamato", "123456789012"))
    assert api.paths == [
        ("POST", "/v1/shipments"),
        ("POST", "/v1/authorizations/find"),
        ("POST", "/v1/transactions/payments/find"),
    ]
    assert (snapshot.status, snapshot.shipment_reported) == (ProviderStatus.CAPTURED, True)
    assert snapshot.raw["already_reported"] == "E0100115"


def test_a_shipment_of_a_cancelled_transaction_is_an_error() -> None:
    with pytest.raises(ProviderRequestInvalid) as exc:
        provider_with(FakeApi(answer(400, errors("E0100118")))).report_shipment(
            NP_ID, Shipment("yamato", "123456789012")
        )
    assert exc.value.code == "shipment:E0100118"


def test_batch_shipments_give_one_outcome_per_input() -> None:
    ids = ["25011000001", "25011000002", "25011000003"]
    body = {
        "results": [{"np_transaction_id": ids[0]}],
        "errors": [{"codes": ["E0100115"], "id": ids[1]}, {"codes": ["E0100113"], "id": ids[2]}],
    }
    api = FakeApi(answer(400, body))
    outcomes = provider_with(api).report_shipments(
        [
            (ids[0], Shipment("yamato", "123456789012")),
            ("x", Shipment("other", "1")),
            (ids[1], Shipment("sagawa", "123456789012")),
            (ids[2], Shipment("seino", "1234567890")),
        ]
    )
    assert len(api.body()["transactions"]) == 3  # the refused one was never sent
    assert [getattr(o, "status", type(o).__name__) for o in outcomes] == [
        ProviderStatus.CAPTURED,
        "ProviderRequestInvalid",
        ProviderStatus.CAPTURED,
        "TransactionNotFound",
    ]


# --------------------------------------------------------------------------- fetch (与信結果確認)


@pytest.mark.parametrize(
    ("find", "payments", "status", "shipped"),
    [
        (screening("00"), {"np_transaction_id": NP_ID, "payment_status": "20"}, ProviderStatus.CAPTURED, True),
        (screening("00"), {"np_transaction_id": NP_ID, "payment_status": "10"}, ProviderStatus.AUTHORIZED, False),
        (screening("10", authori_hold=["RE009"]), None, ProviderStatus.PENDING_REVIEW, False),
        (screening("40"), None, ProviderStatus.PENDING_REVIEW, False),
        (screening("20", authori_ng="NG999"), None, ProviderStatus.DECLINED, False),
    ],
)
def test_fetch_reads_the_screening_and_payment_status(find, payments, status, shipped) -> None:  # type: ignore[no-untyped-def]
    responders = [answer(200, results(find))]
    if payments is not None:
        responders.append(answer(200, results(payments)))
    api = FakeApi(sequence(*responders))
    snapshot = provider_with(api).fetch(NP_ID)
    assert api.body(0) == {"transactions": [{"np_transaction_id": NP_ID}]}
    assert (snapshot.status, snapshot.shipment_reported) == (status, shipped)
    assert snapshot.raw[const.AMOUNTS_REPORTED_KEY] is False
    if status is ProviderStatus.PENDING_REVIEW:
        assert snapshot.review_reason
    if status is ProviderStatus.DECLINED:
        assert snapshot.decline_code == "NG999"


def test_fetch_of_a_cancelled_or_unknown_transaction() -> None:
    cancelled = provider_with(FakeApi(answer(400, errors("E0100118")))).fetch(NP_ID)
    assert cancelled.status is ProviderStatus.CANCELLED
    with pytest.raises(TransactionNotFound):
        provider_with(FakeApi(answer(400, errors("E0100113")))).fetch(NP_ID)


def test_an_unreadable_payment_status_is_never_read_as_paid() -> None:
    api = FakeApi(sequence(answer(200, results(screening("00"))), answer(400, errors("E9999999"))))
    assert provider_with(api).fetch(NP_ID).status is ProviderStatus.AUTHORIZED


# --------------------------------------------------------------------------- the rest


def test_operations_np_does_not_have_are_unsupported_with_guidance() -> None:
    provider = provider_with(FakeApi(answer(200, {})))
    with pytest.raises(UnsupportedOperation, match="出荷報告"):
        provider.capture(NP_ID)
    with pytest.raises(UnsupportedOperation, match="一部返品再登録"):
        provider.refund(NP_ID, amount=100)
    with pytest.raises(UnsupportedOperation):
        provider.charge_token("tk", make_order(), capture=False)
    with pytest.raises(UnsupportedOperation):
        provider.checkout_config(make_order(), capture=False)
    with pytest.raises(UnsupportedOperation):
        provider.parse_webhook("payment", {}, b"{}")


def test_connection_test_posts_an_empty_envelope_and_reads_the_status() -> None:
    ok = FakeApi(answer(400, {"errors": [{"codes": ["EPRO0101"], "id": ""}]}))
    assert provider_with(ok).test_connection().ok
    assert ok.paths == [("POST", "/v1/authorizations/find")]
    assert ok.body() == {"transactions": []}
    refused = provider_with(FakeApi(answer(401, {"message": "Unauthorized"}))).test_connection()
    assert (refused.ok, refused.message) == (
        False,
        "認証に失敗しました。加盟店コード・SPコード・端末IDを確認してください。(test:HTTP401)",
    )
    down = provider_with(FakeApi(answer(503, text="down"))).test_connection()
    assert not down.ok
    assert "接続できませんでした" in down.message
