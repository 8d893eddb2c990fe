"""PaidyProvider against httpx.MockTransport: wire shapes, statuses, operations, errors, webhooks, checkout."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from kessai.providers import registry
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
from kessai.providers.paidy import PaidyProvider
from kessai.providers.paidy.adapter import (
    api_base_url,
    checkout_payload,
    checkout_script_url,
    normalize_phone,
    snapshot_from_payment,
    split_address,
    status_of,
)
from kessai.providers.paidy.api_types import Payment
from kessai.providers.paidy.errors import PaymentNotFound

from .helpers import (
    CAP,
    PAY,
    PUBLIC_KEY,
    SECRET_KEY,
    TOKEN,
    FakeApi,
    answer,
    captured,
    error_body,
    make_order,
    make_settings,
    payment,
    provider_with,
    raising,
    sequence,
)

# --------------------------------------------------------------------------- construction


def test_registry_builds_the_adapter_and_it_satisfies_the_protocol() -> None:
    provider = registry.build("paidy", make_settings())
    assert isinstance(provider, PaidyProvider)
    assert isinstance(provider, Provider)


def test_capabilities_are_honest() -> None:
    caps = PaidyProvider.capabilities
    assert (caps.browser_checkout, caps.server_authorize, caps.tokens, caps.webhooks) == (True, False, True, True)
    assert (caps.capture, caps.partial_capture, caps.refund, caps.partial_refund) == (True, False, True, True)
    assert (caps.held_state, caps.shipment_report, caps.change_amount, caps.enclosed_invoice) == (
        False,
        False,
        False,
        False,
    )
    assert (caps.capture_requires_shipment, caps.cancel_after_capture) == (False, True)


@pytest.mark.parametrize(
    ("environment", "base_url", "api", "script"),
    [
        ("test", None, "https://api.paidy.com/", "https://apps.paidy.com/"),
        ("production", None, "https://api.paidy.com/", "https://apps.paidy.com/"),
        ("test", "http://127.0.0.1:8103", "http://127.0.0.1:8103/", "http://127.0.0.1:8103/apps/"),
    ],
)
def test_urls(environment: str, base_url: str | None, api: str, script: str) -> None:
    assert api_base_url(environment, base_url) == api
    assert checkout_script_url(environment, base_url) == script


def test_production_refuses_a_base_url_override() -> None:
    with pytest.raises(ValueError, match="not allowed for production"):
        api_base_url("production", "http://127.0.0.1:8103/")


def test_a_missing_secret_key_is_an_auth_error() -> None:
    with pytest.raises(ProviderAuthError) as caught:
        PaidyProvider(make_settings(secret_key=""))
    assert caught.value.code == "config:secret_key"


def test_repr_never_shows_the_keys() -> None:
    provider = PaidyProvider(make_settings())
    assert SECRET_KEY not in repr(provider)
    assert SECRET_KEY not in repr(provider.client)


# --------------------------------------------------------------------------- OrderData → wire


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("東京都港区赤坂1-2-3", ("東京都", "港区", "赤坂1-2-3")),
        ("北海道札幌市中央区北1条西2丁目", ("北海道", "札幌市", "中央区北1条西2丁目")),
        ("神奈川県　横浜市西区 みなとみらい2-2-1", ("神奈川県", "横浜市", "西区 みなとみらい2-2-1")),
        ("港区赤坂1-2-3", ("", "", "港区赤坂1-2-3")),
        ("", ("", "", "")),
    ],
)
def test_split_address(address: str, expected: tuple[str, str, str]) -> None:
    assert split_address(address) == expected


@pytest.mark.parametrize(
    ("phone", "digits"), [("080-0000-0001", "08000000001"), ("０９０－１２３４－５６７８", "09012345678"), ("", "")]
)
def test_phone_is_half_width_digits(phone: str, digits: str) -> None:
    assert normalize_phone(phone) == digits


def test_checkout_payload_maps_the_order() -> None:
    order = make_order(
        items=(
            LineItem(sku="P-1", name="ソファ", unit_price=12800, quantity=2),
            LineItem(sku="off", name="値引き", unit_price=-1000, quantity=1),
        ),
        destinations=(Destination(name="山田 花子", zip_code="1000001", address="東京都千代田区千代田1-1"),),
        description="ギフト",
    )
    payload = checkout_payload(order, store_name="テスト店")
    assert payload == {
        "amount": 24600,
        "currency": "JPY",
        "store_name": "テスト店",
        "description": "ギフト",
        "buyer": {
            "name1": "山田 太郎",
            "name2": "ヤマダ タロウ",
            "email": "successful.payment@paidy.com",
            "phone": "08000000001",
        },
        "order": {
            "items": [
                {"id": "P-1", "title": "ソファ", "quantity": 2, "unit_price": 12800},
                {"id": "off", "title": "値引き", "quantity": 1, "unit_price": -1000},
            ],
            "order_ref": "A-1001",
        },
        "shipping_address": {"line1": "千代田1-1", "city": "千代田区", "state": "東京都", "zip": "100-0001"},
    }


def test_checkout_config_has_the_public_key_never_the_secret() -> None:
    provider = PaidyProvider(
        make_settings(
            extra={"logo_url": "https://shop.example/logo.png", "modal_display": "confirm"},
            options={"store_name": "Kessai店", "token_checkout": True},
        )
    )
    config = provider.checkout_config(make_order(), capture=True)
    assert config.script_url == "http://paidy.test/apps/"
    assert config.widget["api_key"] == PUBLIC_KEY
    assert config.widget["logo_url"] == "https://shop.example/logo.png"
    assert config.widget["modal_display"] == "confirm"
    assert config.widget["capture"] is True
    assert config.widget["token"] == {"wallet_id": "default", "type": "recurring", "description": "定期購入"}
    assert config.widget["payload"]["store_name"] == "Kessai店"
    assert SECRET_KEY not in json.dumps(dict(config.widget), ensure_ascii=False)


def test_checkout_config_without_a_public_key_is_an_auth_error() -> None:
    with pytest.raises(ProviderAuthError):
        PaidyProvider(make_settings(public_key="")).checkout_config(make_order(), capture=False)


# --------------------------------------------------------------------------- statuses


NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (payment("AUTHORIZED"), ProviderStatus.AUTHORIZED),
        (payment("authorized"), ProviderStatus.AUTHORIZED),
        (payment("AUTHORIZED", expires_at="2025-05-31T23:59:59.000Z"), ProviderStatus.EXPIRED),
        (payment("REJECTED"), ProviderStatus.DECLINED),
        (payment("CLOSED"), ProviderStatus.CANCELLED),
        (captured(), ProviderStatus.CAPTURED),
        (captured(refunds=(1000,)), ProviderStatus.CAPTURED),
        (captured(refunds=(13824,)), ProviderStatus.CANCELLED),
        (captured(refunds=(10000, 3824)), ProviderStatus.CANCELLED),
    ],
)
def test_status_mapping(body: dict[str, object], status: ProviderStatus) -> None:
    assert status_of(Payment.parse(body), now=NOW) is status


def test_snapshot_balances_count_only_captured_money() -> None:
    closed = snapshot_from_payment(Payment.parse(payment("CLOSED")), request_id="r1")
    assert (closed.status, closed.captured_amount, closed.refunded_amount) == (ProviderStatus.CANCELLED, 0, 0)
    refunded = snapshot_from_payment(Payment.parse(captured(refunds=(1000, 500))), request_id="r2")
    assert (refunded.captured_amount, refunded.refunded_amount, refunded.shop_transaction_no) == (13824, 1500, "A-1001")
    assert refunded.request_id == "r2"


def test_rejected_snapshot_carries_the_japanese_reason() -> None:
    snapshot = snapshot_from_payment(Payment.parse(payment("REJECTED")))
    assert snapshot.decline_code == "rejected"
    assert snapshot.decline_message.startswith("Paidyの審査の結果")


@pytest.mark.parametrize(
    "body",
    [
        payment("PENDING"),
        payment(id="tr_not_paidy"),
        payment(amount="13824"),
        payment(currency="USD"),
        {"status": "AUTHORIZED"},
        [],
    ],
)
def test_an_unreadable_payment_is_unavailable_never_success(body: object) -> None:
    api = FakeApi(answer(200, body))
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(api).fetch(PAY)
    assert caught.value.code == "fetch:unparseable"


# --------------------------------------------------------------------------- requests on the wire


def test_every_call_sends_bearer_and_paidy_version() -> None:
    api = FakeApi(answer(200, payment()))
    provider_with(api).fetch(PAY)
    request = api.requests[0]
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["Paidy-Version"] == "2018-04-10"
    assert request.headers["Content-Type"] == "application/json"
    assert api.calls() == [("GET", f"/payments/{PAY}")]


def test_charge_token_posts_token_id_instead_of_buyer() -> None:
    api = FakeApi(answer(200, payment()))
    snapshot = provider_with(api, options={"store_name": "Kessai店"}).charge_token(TOKEN, make_order(), capture=False)
    assert api.calls() == [("POST", "/payments")]
    body = api.body()
    assert body["token_id"] == TOKEN
    assert "buyer" not in body
    assert (body["amount"], body["currency"], body["store_name"]) == (13824, "JPY", "Kessai店")
    assert body["order"]["order_ref"] == "A-1001"
    assert (snapshot.status, snapshot.buyer_token) == (ProviderStatus.AUTHORIZED, TOKEN)


def test_charge_token_with_capture_captures_at_once() -> None:
    api = FakeApi(sequence(answer(200, payment()), answer(200, captured())))
    snapshot = provider_with(api).charge_token(TOKEN, make_order(), capture=True)
    assert api.calls() == [("POST", "/payments"), ("POST", f"/payments/{PAY}/captures")]
    assert (snapshot.status, snapshot.captured_amount, snapshot.buyer_token) == (ProviderStatus.CAPTURED, 13824, TOKEN)


def test_charge_token_left_authorized_when_the_capture_fails() -> None:
    api = FakeApi(sequence(answer(200, payment()), answer(503, text="busy")))
    snapshot = provider_with(api).charge_token(TOKEN, make_order(), capture=True)
    assert snapshot.status is ProviderStatus.AUTHORIZED
    assert snapshot.raw["_kessai_capture_error"] == "capture:HTTP503"


def test_charge_token_rejected_raises_declined_with_the_snapshot() -> None:
    api = FakeApi(answer(200, payment("REJECTED")))
    with pytest.raises(ProviderDeclined) as caught:
        provider_with(api).charge_token(TOKEN, make_order(), capture=True)
    assert caught.value.code == "charge:rejected"
    assert caught.value.snapshot is not None
    assert caught.value.snapshot.status is ProviderStatus.DECLINED
    assert len(api.requests) == 1  # no capture of a rejected payment


def test_charge_token_without_token_is_refused_locally() -> None:
    api = FakeApi(answer(200, payment()))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).charge_token("  ", make_order(), capture=False)
    assert caught.value.fields[0].field == "authentication_token"
    assert api.requests == []


def test_charge_token_with_an_inactive_token_points_at_the_token() -> None:
    api = FakeApi(answer(400, error_body("token.not_active", description="token_id: the token is SUSPENDED")))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).charge_token(TOKEN, make_order(), capture=False)
    assert caught.value.code == "charge:token.not_active"
    assert [f.field for f in caught.value.fields] == ["authentication_token"]
    assert caught.value.message.startswith("Paidyの継続課金トークンが利用できません")


def test_capture_posts_no_amount() -> None:
    api = FakeApi(answer(200, captured()))
    snapshot = provider_with(api).capture(PAY)
    assert api.calls() == [("POST", f"/payments/{PAY}/captures")]
    assert api.body() == {}
    assert snapshot.status is ProviderStatus.CAPTURED


def test_partial_capture_is_unsupported_and_nothing_is_captured() -> None:
    api = FakeApi(answer(200, payment()))
    with pytest.raises(UnsupportedOperation) as caught:
        provider_with(api).capture(PAY, amount=1000)
    assert "一部の売上確定に対応していません" in caught.value.message
    assert api.calls() == [("GET", f"/payments/{PAY}")]


def test_capture_with_the_full_amount_is_fine() -> None:
    api = FakeApi(sequence(answer(200, payment()), answer(200, captured())))
    assert provider_with(api).capture(PAY, amount=13824).status is ProviderStatus.CAPTURED


def test_a_refused_capture_of_an_already_captured_payment_is_answered_as_captured() -> None:
    api = FakeApi(sequence(answer(400, error_body("payment.invalid_status")), answer(200, captured())))
    snapshot = provider_with(api).capture(PAY)
    assert snapshot.status is ProviderStatus.CAPTURED
    assert api.calls() == [("POST", f"/payments/{PAY}/captures"), ("GET", f"/payments/{PAY}")]


def test_a_refused_capture_of_an_uncaptured_payment_is_raised() -> None:
    api = FakeApi(sequence(answer(400, error_body("payment.expired")), answer(200, payment())))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).capture(PAY)
    assert caught.value.code == "capture:payment.expired"


def test_a_capture_answer_that_is_not_captured_is_unavailable() -> None:
    api = FakeApi(answer(200, payment()))
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(api).capture(PAY)
    assert caught.value.code == "capture:unexpected_state"


def test_cancel_before_capture_closes() -> None:
    api = FakeApi(sequence(answer(200, payment()), answer(200, payment("CLOSED"))))
    snapshot = provider_with(api).cancel(PAY)
    assert api.calls() == [("GET", f"/payments/{PAY}"), ("POST", f"/payments/{PAY}/close")]
    assert snapshot.status is ProviderStatus.CANCELLED


def test_cancel_after_capture_refunds_what_is_left() -> None:
    api = FakeApi(sequence(answer(200, captured(refunds=(1000,))), answer(200, captured(refunds=(1000, 12824)))))
    snapshot = provider_with(api).cancel(PAY)
    assert api.calls() == [("GET", f"/payments/{PAY}"), ("POST", f"/payments/{PAY}/refunds")]
    assert api.body() == {"capture_id": CAP, "amount": 12824}
    assert (snapshot.status, snapshot.refunded_amount) == (ProviderStatus.CANCELLED, 13824)


def test_cancel_of_a_closed_payment_is_answered_without_a_call() -> None:
    api = FakeApi(answer(200, payment("CLOSED")))
    assert provider_with(api).cancel(PAY).status is ProviderStatus.CANCELLED
    assert len(api.requests) == 1


def test_cancel_of_a_rejected_payment_is_refused() -> None:
    api = FakeApi(answer(200, payment("REJECTED")))
    with pytest.raises(ProviderRequestInvalid):
        provider_with(api).cancel(PAY)
    assert len(api.requests) == 1


def test_refund_sends_capture_id_amount_and_reason() -> None:
    api = FakeApi(sequence(answer(200, captured()), answer(200, captured(refunds=(3000,)))))
    snapshot = provider_with(api).refund(PAY, amount=3000, reason="返品")
    assert api.body() == {"capture_id": CAP, "amount": 3000, "reason": "返品"}
    assert (snapshot.status, snapshot.refunded_amount) == (ProviderStatus.CAPTURED, 3000)


def test_refund_without_reason_sends_none() -> None:
    api = FakeApi(sequence(answer(200, captured()), answer(200, captured(refunds=(3000,)))))
    provider_with(api).refund(PAY, amount=3000)
    assert "reason" not in api.body()


@pytest.mark.parametrize(
    ("body", "code"), [(payment(), "refund:not_captured"), (captured((13000,)), "refund:amount_exceeded")]
)
def test_refund_checks_before_calling(body: dict[str, object], code: str) -> None:
    api = FakeApi(answer(200, body))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).refund(PAY, amount=1000)
    assert caught.value.code == code
    assert len(api.requests) == 1


def test_refund_of_zero_is_refused_without_a_call() -> None:
    api = FakeApi(answer(200, captured()))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).refund(PAY, amount=0)
    assert caught.value.fields[0].field == "amount"
    assert api.requests == []


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda p: p.change_amount(PAY, make_order()), "update:unsupported"),
        (lambda p: p.report_shipment(PAY, Shipment("yamato", "123456789012")), "shipment:unsupported"),
        (lambda p: p.authorize(make_order(), capture=False), "authorize:unsupported"),
    ],
)
def test_unsupported_operations_say_so_in_japanese(call: object, code: str) -> None:
    api = FakeApi(answer(200, payment()))
    with pytest.raises(UnsupportedOperation) as caught:
        call(provider_with(api))  # type: ignore[operator]
    assert caught.value.code == code
    assert "Paidy" in caught.value.message
    assert api.requests == []


def test_update_sends_only_the_updatable_fields() -> None:
    api = FakeApi(answer(200, payment(order={"items": [], "order_ref": "A-2"})))
    snapshot = provider_with(api).update(PAY, order_ref="A-2", metadata={"k": "v"})
    assert api.calls() == [("PUT", f"/payments/{PAY}")]
    assert api.body() == {"order_ref": "A-2", "metadata": {"k": "v"}}
    assert snapshot.shop_transaction_no == "A-2"


# --------------------------------------------------------------------------- error classification


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, error_body("authentication.failed", 401), ProviderAuthError, "fetch:authentication.failed"),
        (403, None, ProviderAuthError, "fetch:HTTP403"),
        (404, error_body("resource.not_found", 404), PaymentNotFound, "fetch:resource.not_found"),
        (400, error_body("request_content.malformed"), ProviderRequestInvalid, "fetch:request_content.malformed"),
        (409, error_body("something.new"), ProviderRequestInvalid, "fetch:something.new"),
        (500, error_body("internal", 500), ProviderUnavailable, "fetch:internal"),
        (503, None, ProviderUnavailable, "fetch:HTTP503"),
        (429, None, ProviderUnavailable, "fetch:HTTP429"),
        (400, None, ProviderUnavailable, "fetch:HTTP400"),
        (302, None, ProviderUnavailable, "fetch:HTTP302"),
    ],
)
def test_errors_are_classified_closed_by_default(status: int, body: object, error: type[Exception], code: str) -> None:
    responder = answer(status, body) if body is not None else answer(status, text="<html>oops</html>")
    with pytest.raises(error) as caught:
        provider_with(FakeApi(responder)).fetch(PAY)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.request_id  # type: ignore[attr-defined]


def test_field_errors_use_our_field_paths() -> None:
    description = 'order.items[1].quantity: must be a positive integer; shipping_address.zip: must be "NNN-NNNN"'
    api = FakeApi(answer(400, error_body("request_content.malformed", description=description)))
    order = make_order(destinations=(Destination(name="花子", zip_code="1", address="東京都港区"),))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).charge_token(TOKEN, order, capture=False)
    assert [f.field for f in caught.value.fields] == ["items[1].quantity", "destinations[0].zip_code"]
    assert caught.value.message.startswith("Paidyへのリクエストの内容が不正です。")


def test_a_zip_error_without_destinations_points_at_the_customer() -> None:
    api = FakeApi(answer(400, error_body("request_content.malformed", description="shipping_address.zip: bad")))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).charge_token(TOKEN, make_order(), capture=False)
    assert [f.field for f in caught.value.fields] == ["customer.zip_code"]


@pytest.mark.parametrize(
    ("exc", "code"),
    [(httpx.ReadTimeout("slow"), "fetch:timeout"), (httpx.ConnectError("refused"), "fetch:connection")],
)
def test_transport_failures_are_unavailable(exc: Exception, code: str) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(FakeApi(raising(exc))).fetch(PAY)
    assert caught.value.code == code


def test_errors_never_carry_the_secret_key() -> None:
    api = FakeApi(answer(401, error_body("authentication.failed", 401)))
    with pytest.raises(ProviderAuthError) as caught:
        provider_with(api).fetch(PAY)
    assert SECRET_KEY not in repr(caught.value.payload) + caught.value.message


# --------------------------------------------------------------------------- 接続テスト


def test_connection_ok_on_404_for_the_made_up_id() -> None:
    api = FakeApi(answer(404, error_body("resource.not_found", 404)))
    check = provider_with(api).test_connection()
    assert check.ok is True
    assert api.calls() == [("GET", "/payments/pay_0000000000000000")]


@pytest.mark.parametrize(("status", "text"), [(401, "認証に失敗しました"), (503, "Paidyに接続できませんでした")])
def test_connection_fails(status: int, text: str) -> None:
    check = provider_with(FakeApi(answer(status, error_body("x", status)))).test_connection()
    assert check.ok is False
    assert text in check.message


@pytest.mark.parametrize(
    ("environment", "secret", "text"),
    [("production", "sk_test_abc", "テスト用のキー"), ("test", "sk_live_abc", "本番用のキー")],
)
def test_connection_refuses_keys_of_the_other_environment(environment: str, secret: str, text: str) -> None:
    api = FakeApi(answer(404, error_body("resource.not_found", 404)))
    base = None if environment == "production" else "http://paidy.test/"
    provider = PaidyProvider(
        make_settings(environment=environment, secret_key=secret, public_key="pk_x", base_url=base),
        transport=api.transport,
    )
    check = provider.test_connection()
    assert (check.ok, text in check.message) == (False, True)
    assert api.requests == []


# --------------------------------------------------------------------------- webhooks


def _payment_event(**overrides: object) -> bytes:
    event: dict[str, object] = {
        "payment_id": PAY,
        "event_type": "payment",
        "status": "capture_success",
        "capture_id": CAP,
        "order_ref": "A-1001",
        "timestamp": "2025-01-02T00:00:00.000Z",
    }
    event.update(overrides)
    return json.dumps(event).encode()


def test_a_payment_event_is_a_hint_with_the_payment_id() -> None:
    event = PaidyProvider(make_settings()).parse_webhook("payment", {}, _payment_event())
    assert (event.kind, event.provider_ref, event.buyer_token) == ("payment", PAY, "")
    assert event.payload["status"] == "capture_success"
    assert len(event.dedup_key) == 64


def test_the_same_event_dedups_and_another_status_does_not() -> None:
    provider = PaidyProvider(make_settings())
    first = provider.parse_webhook("payment", {}, _payment_event())
    again = provider.parse_webhook("authentication", {}, _payment_event())  # whatever URL it came to
    other = provider.parse_webhook("payment", {}, _payment_event(status="refund_success"))
    assert first.dedup_key == again.dedup_key != other.dedup_key


@pytest.mark.parametrize(
    ("status", "token"),
    [("activate_success", TOKEN), ("resume_success", TOKEN), ("suspend_success", ""), ("delete_success", "")],
)
def test_token_events_carry_the_token_only_when_it_can_be_charged(status: str, token: str) -> None:
    body = json.dumps({"token_id": TOKEN, "status": status, "timestamp": "2025-01-01T00:00:00.000Z"}).encode()
    event = PaidyProvider(make_settings()).parse_webhook("payment", {}, body)
    assert (event.kind, event.buyer_token, event.payload["status"]) == ("authentication", token, status)


def test_paidys_test_notification_is_recognised() -> None:
    body = _payment_event(payment_id="pay_0000000000000001", status="authorize_success")
    with pytest.raises(ProviderRequestInvalid) as caught:
        PaidyProvider(make_settings()).parse_webhook("payment", {}, body)
    assert caught.value.code == "webhook:test_notification"
    assert "テスト通知" in caught.value.message


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("refund", _payment_event(), "webhook:kind"),
        ("payment", b"not json", "webhook:json"),
        ("payment", b"[1]", "webhook:json"),
        ("payment", _payment_event(status="weird"), "webhook:payment"),
        ("payment", json.dumps({"token_id": TOKEN, "status": "x"}).encode(), "webhook:token"),
    ],
)
def test_unreadable_webhooks_are_refused(kind: str, body: bytes, code: str) -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        PaidyProvider(make_settings()).parse_webhook(kind, {}, body)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, True),
        ({"x-real-ip": "203.0.113.200"}, True),
        ({"X-Forwarded-For": "198.51.100.1"}, False),
        ({}, False),
        ({"X-Forwarded-For": "not-an-ip"}, False),
    ],
)
def test_optional_source_ip_allowlist(headers: dict[str, str], allowed: bool) -> None:
    provider = PaidyProvider(make_settings(options={"webhook_allowed_ips": "203.0.113.0/24, 192.0.2.1"}))
    if allowed:
        assert provider.parse_webhook("payment", headers, _payment_event()).provider_ref == PAY
    else:
        with pytest.raises(ProviderAuthError) as caught:
            provider.parse_webhook("payment", headers, _payment_event())
        assert caught.value.code == "webhook:source_ip"


def test_an_invalid_allowlist_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="allowlist"):
        PaidyProvider(make_settings(options={"webhook_allowed_ips": ["10.0.0.300"]}))


# --------------------------------------------------------------------------- tokens


def _token(status: str = "ACTIVE") -> dict[str, object]:
    return {
        "id": TOKEN,
        "merchant_id": "mer_x",
        "wallet_id": "default",
        "consumer_id": "con_x",
        "status": status,
        "suspensions": [{"timestamp": "2025-01-01T00:00:00.000Z", "authority": "merchant"}]
        if status == "SUSPENDED"
        else [],
        "kind": "recurring",
        "version_nr": 2,
    }


def test_token_suspend_sends_the_reason() -> None:
    api = FakeApi(answer(200, _token("SUSPENDED")))
    token = provider_with(api).suspend_token(TOKEN, reason="merchant.requested", description="解約")
    assert api.calls() == [("POST", f"/tokens/{TOKEN}/suspend")]
    assert api.body() == {"reason": {"code": "merchant.requested", "description": "解約"}}
    assert (token.status.value, token.suspended_by, token.version_nr) == ("suspended", "merchant", 2)


def test_token_reasons_are_checked_locally() -> None:
    api = FakeApi(answer(200, _token()))
    provider = provider_with(api)
    with pytest.raises(ProviderRequestInvalid):
        provider.suspend_token(TOKEN, reason="subscription.expired", description="x")
    with pytest.raises(ProviderRequestInvalid):
        provider.delete_token(TOKEN, reason="general", description=" ")
    assert api.requests == []
    provider.delete_token(TOKEN, reason="subscription.expired", description="満了", wallet_id="w1")
    assert api.body() == {"reason": {"code": "subscription.expired", "description": "満了"}, "wallet_id": "w1"}


@pytest.mark.parametrize("body", [[_token()], {"data": [_token()]}])
def test_list_tokens_reads_an_array(body: object) -> None:
    tokens = provider_with(FakeApi(answer(200, body))).list_tokens()
    assert [t.id for t in tokens] == [TOKEN]
