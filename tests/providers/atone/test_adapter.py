"""AtoneProvider against httpx.MockTransport: mapping, operations, statuses, webhooks, checkout."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from kessai.providers import registry
from kessai.providers.atone import AtoneProvider, compute_checksum
from kessai.providers.atone.adapter import (
    api_base_url,
    payment_from_order,
    split_phone,
    to_full_width,
    widget_script_url,
)
from kessai.providers.base import (
    Destination,
    LineItem,
    Provider,
    ProviderAuthError,
    ProviderDeclined,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    UnsupportedOperation,
)

from .helpers import (
    PUBLIC_KEY,
    SECRET_KEY,
    TOKEN,
    FakeApi,
    answer,
    error_body,
    make_order,
    make_settings,
    provider_with,
    sequence,
    transaction,
)

TX = "tr_AAAAAAAAAAAAAAAA"

# --------------------------------------------------------------------------- construction / URLs


def test_registry_builds_the_adapter_and_it_satisfies_the_protocol() -> None:
    provider = registry.build("atone", make_settings())
    assert isinstance(provider, AtoneProvider)
    assert isinstance(provider, Provider)


def test_capabilities_are_honest() -> None:
    caps = AtoneProvider.capabilities
    assert (caps.browser_checkout, caps.tokens, caps.webhooks, caps.capture) == (True, True, True, True)
    assert (caps.partial_capture, caps.held_state, caps.shipment_report, caps.enclosed_invoice) == (
        False,
        False,
        False,
        False,
    )
    assert (caps.refund, caps.partial_refund, caps.cancel_after_capture) == (True, True, True)
    assert (caps.change_amount, caps.change_amount_rescreens) == (True, True)
    assert caps.capture_requires_shipment is False
    assert caps.server_authorize is False
    assert (caps.min_amount, caps.max_amount) == (1, 9_999_999)


@pytest.mark.parametrize(
    ("environment", "api", "script"),
    [
        ("test", "https://ct-api.a-to-ne.jp/v1/", "https://ct-auth.a-to-ne.jp/v1/atone.js"),
        ("production", "https://api.atone.be/v1/", "https://auth.atone.be/v1/atone.js"),
    ],
)
def test_official_hosts_follow_the_environment(environment: str, api: str, script: str) -> None:
    provider = AtoneProvider(make_settings(base_url=None, environment=environment))
    assert provider.client.base_url == api
    assert provider.script_url == script


@pytest.mark.parametrize(
    ("base_url", "script"),
    [
        ("http://127.0.0.1:8101/v1/", "http://127.0.0.1:8101/v1/atone.js"),
        ("http://127.0.0.1:8101/v1", "http://127.0.0.1:8101/v1/atone.js"),
    ],
)
def test_sandbox_script_url_is_derived_from_the_base_url(base_url: str, script: str) -> None:
    assert widget_script_url("test", base_url) == script
    assert api_base_url("test", base_url) == "http://127.0.0.1:8101/v1/"


def test_production_refuses_a_foreign_base_url() -> None:
    with pytest.raises(ValueError, match="production"):
        AtoneProvider(make_settings(environment="production", base_url="http://127.0.0.1:8101/v1/"))


def test_missing_secret_key_is_an_auth_error() -> None:
    with pytest.raises(ProviderAuthError):
        AtoneProvider(make_settings(secret_key=""))


def test_repr_hides_keys() -> None:
    provider = AtoneProvider(make_settings())
    assert SECRET_KEY not in repr(provider)


# --------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("090-1234-5678", ("09012345678", "")),
        ("０８０１２３４５６７８", ("08012345678", "")),
        ("070 1234 5678", ("07012345678", "")),
        ("03-1234-5678", ("", "0312345678")),
        ("0120-123-456", ("", "0120123456")),
        ("", ("", "")),
        ("内線なし", ("", "内線なし")),
    ],
)
def test_split_phone_puts_mobiles_in_phone_number_and_the_rest_in_tel(phone: str, expected: tuple[str, str]) -> None:
    assert split_phone(phone) == expected


def test_names_are_widened_for_kana_and_space_only() -> None:
    assert to_full_width("山田 太郎") == "山田\u3000太郎"
    assert to_full_width("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ\u3000タロウ"
    assert to_full_width("NPテスト") == "NPテスト"


def test_order_maps_to_the_atone_payment() -> None:
    order = make_order(description="備考")
    payment = payment_from_order(order, capture=False)
    assert payment == {
        "amount": 13824,
        "shop_transaction_no": "A-1001",
        "sales_settled": False,
        "description_trans": "備考",
        "customer": {
            "customer_name": "山田\u3000太郎",
            "customer_name_kana": "ヤマダ\u3000タロウ",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
            "phone_number": "09012345678",
            "email": "taro@example.jp",
        },
        "dest_customers": [
            {
                "dest_customer_name": "山田\u3000花子",
                "dest_zip_code": "107-0052",
                "dest_address": "東京都港区赤坂1-2-3",
                "dest_tel": "0312345678",
            }
        ],
        "items": [
            {"shop_item_id": "P-1", "item_name": "1人掛けソファ", "item_price": 12800, "item_count": 1},
            {"shop_item_id": "ship", "item_name": "送料", "item_price": 1024, "item_count": 1},
        ],
    }


def test_landline_customer_goes_to_tel_and_no_destinations_are_omitted() -> None:
    payment = payment_from_order(make_order(phone="03-1234-5678", destinations=()), capture=True)
    assert payment["customer"]["tel"] == "0312345678"
    assert "phone_number" not in payment["customer"]
    assert "dest_customers" not in payment
    assert payment["sales_settled"] is True


# --------------------------------------------------------------------------- checkout


def test_checkout_config_carries_pub_key_pre_token_payment_and_checksum() -> None:
    provider = AtoneProvider(make_settings(terminal_id="4000000400"))
    config = provider.checkout_config(make_order(), capture=False, pre_token=TOKEN)

    assert config.script_url == "http://atone.test/v1/atone.js"
    widget = dict(config.widget)
    assert widget["pub_key"] == PUBLIC_KEY
    assert widget["pre_token"] == TOKEN
    assert widget["terminal_id"] == "4000000400"
    payment = dict(widget["payment"])
    assert payment["shop_transaction_no"] == "A-1001"
    hashed = {k: v for k, v in payment.items() if k not in ("checksum", "shop_transaction_no")}
    assert payment["checksum"] == compute_checksum(hashed, SECRET_KEY)
    assert SECRET_KEY not in json.dumps(widget, ensure_ascii=False)


def test_checkout_config_without_terminal_id_omits_it() -> None:
    config = AtoneProvider(make_settings()).checkout_config(make_order(), capture=True)
    assert "terminal_id" not in config.widget
    assert config.widget["pre_token"] == ""
    assert config.widget["payment"]["sales_settled"] is True


# --------------------------------------------------------------------------- charge_token


def test_charge_token_posts_the_order_with_the_token() -> None:
    api = FakeApi(answer(200, transaction()))
    snapshot = provider_with(api).charge_token(TOKEN, make_order(), capture=False)

    body = api.body()
    assert (api.requests[0].method, api.requests[0].url.path) == ("POST", "/v1/transactions")
    assert body["authentication_token"] == TOKEN
    assert body["shop_transaction_no"] == "A-1001"
    assert "transaction_options" not in body
    assert "checksum" not in body
    assert snapshot.status is ProviderStatus.AUTHORIZED
    assert snapshot.provider_ref == TX
    assert snapshot.buyer_token == TOKEN
    assert len(snapshot.request_id) == 32


def test_recurring_option_sends_transaction_options_1() -> None:
    api = FakeApi(answer(200, transaction()))
    provider_with(api, options={"recurring_option": True}).charge_token(TOKEN, make_order(), capture=True)
    assert api.body()["transaction_options"] == [1]
    assert api.body()["sales_settled"] is True


def test_charge_token_ng_raises_declined_with_the_snapshot() -> None:
    api = FakeApi(answer(200, transaction(authorization_result=2, authorization_result_ng_reason=1)))
    with pytest.raises(ProviderDeclined) as caught:
        provider_with(api).charge_token(TOKEN, make_order(), capture=False)
    error = caught.value
    assert error.code == "charge:NG1"
    assert "ご利用可能額" in error.message
    assert error.snapshot is not None
    assert error.snapshot.status is ProviderStatus.DECLINED
    assert error.snapshot.decline_code == "1"


def test_charge_token_without_token_is_refused_without_a_call() -> None:
    api = FakeApi(answer(200, transaction()))
    with pytest.raises(ProviderRequestInvalid):
        provider_with(api).charge_token("  ", make_order(), capture=False)
    assert api.requests == []


def test_single_line_item_errors_point_at_line_zero() -> None:
    api = FakeApi(answer(400, error_body("EATN0339", "item_price")))
    order = make_order(items=(LineItem(sku="P-1", name="x", unit_price=1000, quantity=1),), destinations=())
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).charge_token(TOKEN, order, capture=False)
    assert [f.field for f in caught.value.fields] == ["items[0].unit_price"]


def test_unknown_authorization_result_is_not_success() -> None:
    api = FakeApi(answer(200, transaction(authorization_result=3)))
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(api).charge_token(TOKEN, make_order(), capture=False)
    assert caught.value.code == "charge:unparseable"


# --------------------------------------------------------------------------- authorize / shipment


def test_authorize_without_token_is_unsupported() -> None:
    api = FakeApi(answer(200, transaction()))
    with pytest.raises(UnsupportedOperation) as caught:
        provider_with(api).authorize(make_order(), capture=False)
    assert "決済画面" in caught.value.message
    assert api.requests == []


def test_report_shipment_is_unsupported() -> None:
    with pytest.raises(UnsupportedOperation):
        AtoneProvider(make_settings()).report_shipment(TX, Shipment(carrier="yamato", tracking_no="1"))


# --------------------------------------------------------------------------- capture


SETTLED = transaction(sales_settled_datetime="2025-01-02T10:00:00+09:00")


def test_capture_settles_and_returns_captured() -> None:
    api = FakeApi(answer(200, SETTLED))
    snapshot = provider_with(api).capture(TX)
    assert (api.requests[0].method, api.requests[0].url.path) == ("PATCH", f"/v1/transactions/{TX}/settle")
    assert snapshot.status is ProviderStatus.CAPTURED
    assert snapshot.captured_amount == 13824


def test_capture_with_the_authorized_amount_is_allowed() -> None:
    api = FakeApi(sequence(answer(200, transaction()), answer(200, SETTLED)))
    assert provider_with(api).capture(TX, amount=13824).status is ProviderStatus.CAPTURED


def test_partial_capture_is_unsupported_and_does_not_settle() -> None:
    api = FakeApi(answer(200, transaction()))
    with pytest.raises(UnsupportedOperation):
        provider_with(api).capture(TX, amount=1000)
    assert [r.method for r in api.requests] == ["GET"]


def test_already_settled_is_confirmed_by_fetch_and_answered_as_captured() -> None:
    api = FakeApi(sequence(answer(400, error_body("EATN1201")), answer(200, SETTLED)))
    snapshot = provider_with(api).capture(TX)
    assert snapshot.status is ProviderStatus.CAPTURED
    assert [r.method for r in api.requests] == ["PATCH", "GET"]


def test_eatn1201_on_an_unsettled_transaction_stays_an_error() -> None:
    api = FakeApi(sequence(answer(400, error_body("EATN1201")), answer(200, transaction())))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).capture(TX)
    assert caught.value.code == "settle:EATN1201"


def test_settle_answer_that_is_not_settled_is_not_success() -> None:
    with pytest.raises(ProviderUnavailable):
        provider_with(FakeApi(answer(200, transaction()))).capture(TX)


# --------------------------------------------------------------------------- cancel / refund


def test_cancel_is_a_refund_without_amount() -> None:
    cancelled = transaction(amount_refund_total=13824, refunds=[{"amount_refund": 13824}])
    api = FakeApi(answer(200, cancelled))
    snapshot = provider_with(api).cancel(TX)
    assert (api.requests[0].method, api.requests[0].url.path) == ("PATCH", f"/v1/transactions/{TX}/refund")
    assert "amount_refund" not in api.body()
    assert snapshot.status is ProviderStatus.CANCELLED
    assert snapshot.refunded_amount == 0  # cancelled before settle: nothing was collected


def test_partial_refund_sends_amount_refund_and_stays_captured() -> None:
    refunded = {**SETTLED, "amount_refund_total": 1000, "refunds": [{"amount_refund": 1000}]}
    api = FakeApi(answer(200, refunded))
    snapshot = provider_with(api).refund(TX, amount=1000, reason="返品")
    assert api.body() == {"amount_refund": 1000, "refund_reason": "返品"}
    assert snapshot.status is ProviderStatus.CAPTURED
    assert (snapshot.captured_amount, snapshot.refunded_amount) == (13824, 1000)


def test_refund_of_zero_is_refused_locally() -> None:
    api = FakeApi(answer(200, transaction()))
    with pytest.raises(ProviderRequestInvalid):
        provider_with(api).refund(TX, amount=0)
    assert api.requests == []


# --------------------------------------------------------------------------- change_amount


def test_change_amount_reposts_with_updated_transactions_and_the_old_token() -> None:
    new = transaction(id="tr_BBBBBBBBBBBBBBBB", amount=12800, updated_transactions=[TX])
    api = FakeApi(sequence(answer(200, transaction(transaction_options=[1])), answer(200, new)))
    order = make_order(items=(LineItem(sku="P-1", name="1人掛けソファ", unit_price=12800, quantity=1),))

    snapshot = provider_with(api).change_amount(TX, order)

    assert [r.method for r in api.requests] == ["GET", "POST"]
    body = api.body()
    assert body["updated_transactions"] == [TX]
    assert body["authentication_token"] == TOKEN
    assert body["shop_transaction_no"] == "A-1001"
    assert body["amount"] == 12800
    assert body["transaction_options"] == [1]
    assert snapshot.provider_ref == "tr_BBBBBBBBBBBBBBBB"
    assert snapshot.superseded_refs == (TX,)


def test_change_amount_ng_raises_declined_with_the_superseding_snapshot() -> None:
    ng = transaction(id="tr_BBBBBBBBBBBBBBBB", authorization_result=2, authorization_result_ng_reason=9)
    api = FakeApi(sequence(answer(200, transaction()), answer(200, ng)))
    with pytest.raises(ProviderDeclined) as caught:
        provider_with(api).change_amount(TX, make_order())
    assert caught.value.snapshot is not None
    assert caught.value.snapshot.superseded_refs == (TX,)
    assert caught.value.code == "update:NG9"


def test_change_amount_after_settlement_is_unsupported() -> None:
    api = FakeApi(answer(200, SETTLED))
    with pytest.raises(UnsupportedOperation):
        provider_with(api).change_amount(TX, make_order())
    assert [r.method for r in api.requests] == ["GET"]


def test_change_amount_without_a_stored_token_is_refused() -> None:
    api = FakeApi(answer(200, transaction(authentication_token=None)))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).change_amount(TX, make_order())
    assert caught.value.code == "update:no_token"


# --------------------------------------------------------------------------- fetch / statuses


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({}, ProviderStatus.AUTHORIZED),
        ({"authorization_result": 2, "authorization_result_ng_reason": 9}, ProviderStatus.DECLINED),
        ({"sales_settled_datetime": "2025-01-02T00:00:00+09:00"}, ProviderStatus.CAPTURED),
        ({"amount_refund_total": 13824}, ProviderStatus.CANCELLED),
        (
            {"sales_settled_datetime": "2025-01-02T00:00:00+09:00", "refunds": [{"amount_refund": 13824}]},
            ProviderStatus.CANCELLED,
        ),
        ({"status": "expired"}, ProviderStatus.EXPIRED),
        ({"cancelled": True}, ProviderStatus.CANCELLED),
        ({"authorization_result": "1", "amount": "13824"}, ProviderStatus.AUTHORIZED),
    ],
)
def test_fetch_maps_statuses(overrides: dict[str, object], status: ProviderStatus) -> None:
    body = transaction(**overrides)
    if "refunds" in overrides:
        body.pop("amount_refund_total")
    snapshot = provider_with(FakeApi(answer(200, body))).fetch(TX)
    assert snapshot.status is status


def test_fetch_rejects_a_transaction_without_amount() -> None:
    body = transaction()
    del body["amount"]
    with pytest.raises(ProviderUnavailable):
        provider_with(FakeApi(answer(200, body))).fetch(TX)


# --------------------------------------------------------------------------- webhooks


def test_payment_webhook_is_parsed_with_a_stable_dedup_key() -> None:
    provider = AtoneProvider(make_settings())
    body = json.dumps(transaction()).encode()
    event = provider.parse_webhook("payment", {}, body)
    again = provider.parse_webhook("payment", {}, body)
    assert event.kind == "payment"
    assert event.provider_ref == TX
    assert event.buyer_token == TOKEN
    assert event.buyer_id == "1000000001"
    assert event.dedup_key == again.dedup_key == hashlib.sha256(b"payment\n" + body).hexdigest()


def test_authentication_webhook_carries_token_and_user_no() -> None:
    body = json.dumps({"authentication_token": TOKEN, "user_no": "1000000002"}).encode()
    event = AtoneProvider(make_settings()).parse_webhook("authentication", {}, body)
    assert (event.kind, event.buyer_token, event.buyer_id, event.provider_ref) == (
        "authentication",
        TOKEN,
        "1000000002",
        "",
    )


def test_same_body_of_different_kinds_do_not_share_a_dedup_key() -> None:
    provider = AtoneProvider(make_settings())
    body = json.dumps({"id": TX, "authentication_token": TOKEN}).encode()
    assert (
        provider.parse_webhook("payment", {}, body).dedup_key
        != provider.parse_webhook("authentication", {}, body).dedup_key
    )


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("refund", b"{}"),
        ("payment", b"not json"),
        ("payment", b"[]"),
        ("payment", b'{"amount": 1}'),
        ("authentication", b'{"user_no": "1"}'),
    ],
)
def test_bad_webhooks_are_refused(kind: str, body: bytes) -> None:
    with pytest.raises(ProviderRequestInvalid):
        AtoneProvider(make_settings()).parse_webhook(kind, {}, body)


# --------------------------------------------------------------------------- test_connection


def test_connection_ok_when_not_found() -> None:
    api = FakeApi(answer(404, error_body("EATN0398", "id", "NotFound")))
    check = provider_with(api).test_connection()
    assert check.ok is True
    assert api.requests[0].url.path == "/v1/transactions/tr_0000000000000000"


def test_connection_fails_on_auth_error() -> None:
    check = provider_with(FakeApi(answer(401, error_body("EATN0306", status_name="Unauthorized")))).test_connection()
    assert check.ok is False
    assert "認証に失敗" in check.message


def test_connection_fails_when_unavailable() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    check = provider_with(FakeApi(respond)).test_connection()
    assert check.ok is False
    assert "接続できません" in check.message


def test_connection_fails_on_unreadable_404() -> None:
    check = provider_with(FakeApi(answer(404, text="<html>nginx</html>"))).test_connection()
    assert check.ok is False


def test_destination_phone_always_goes_to_dest_tel() -> None:
    order = make_order(destinations=(Destination(name="a", zip_code="1000001", address="b", phone="090-1111-2222"),))
    assert payment_from_order(order, capture=False)["dest_customers"][0]["dest_tel"] == "09011112222"
