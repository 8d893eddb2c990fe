"""Every failed provider call lands in the 決済エラーログ with the EATN code (action-prefixed), the
Japanese message and the call's request id — real adapter errors from the emulator over HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from kessai.payments import services
from kessai.payments.models import Payment, PaymentError
from kessai.providers.base import (
    ProviderAuthError,
    ProviderDeclined,
    ProviderError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)
from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY
from tests import factories
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db

REQUEST_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Case:
    error: type[ProviderError]
    code: str
    status: str
    state: str  # the payment's state afterwards
    message: str  # part of the Japanese message


CASES: dict[str, Case] = {
    "wrong secret key": Case(ProviderAuthError, "charge:EATN0306", "ProviderAuthError", "created", "認証に失敗"),
    "malformed token": Case(ProviderRequestInvalid, "charge:EATN0302", "ProviderRequestInvalid", "created", "形式"),
    "revoked token": Case(ProviderRequestInvalid, "charge:EATN0303", "ProviderRequestInvalid", "created", "有効"),
    "no valid contract": Case(ProviderRequestInvalid, "charge:EATN0360", "ProviderRequestInvalid", "created", ""),
    "EATN0399": Case(ProviderUnavailable, "charge:EATN0399", "unknown", "unknown", ""),
    "HTTP 503": Case(ProviderUnavailable, "charge:HTTP503", "unknown", "unknown", ""),
    "timeout": Case(ProviderUnavailable, "charge:timeout", "unknown", "unknown", "タイムアウト"),
    "dropped connection": Case(ProviderUnavailable, "charge:connection", "unknown", "unknown", "通信に失敗"),
    "与信NG": Case(ProviderDeclined, "charge:NG9", "ProviderDeclined", "declined", "atoneをご利用いただけません"),
}


def arrange(name: str, atone: hub.AtoneShop, settings: Any) -> tuple[str, dict[str, Any]]:
    """Set the scene for one case; returns the token to charge with and order overrides."""
    emulator = atone.emulator
    token = emulator.token()
    overrides: dict[str, Any] = {}
    if name == "wrong secret key":
        wrong = hub.atone_account(atone.shop, emulator, secret_key="wrong-secret-key-0001x")
        hub.atone_method(atone.shop, wrong, code="atone-wrong")
    elif name == "malformed token":
        token = "not-a-token"
    elif name == "revoked token":
        emulator.control("POST", "/tokens/revoke", {"authentication_token": token})
    elif name == "no valid contract":
        emulator.control("POST", "/merchants", {"public_key": DEFAULT_PUBLIC_KEY, "contract_valid": False})
    elif name == "EATN0399":
        emulator.faults(eatn0399=1)
    elif name == "HTTP 503":
        emulator.faults(http_5xx=1)
    elif name == "timeout":
        settings.KESSAI_PROVIDER_TIMEOUT = 0.3
        emulator.faults(latency_ms=1200)
    elif name == "dropped connection":
        emulator.faults(drop_after_store=1)
    elif name == "与信NG":
        overrides["customer"] = hub.customer("NPテスト")
    return token, overrides


@pytest.mark.parametrize("name", list(CASES))
def test_failed_charge_lands_in_the_error_log(name, atone_emulator, settings):
    atone = hub.atone_shop(atone_emulator)
    case = CASES[name]
    token, overrides = arrange(name, atone, settings)
    method = "atone-wrong" if name == "wrong secret key" else "atone"
    order = factories.order(atone.shop, **overrides)

    with pytest.raises(case.error) as raised:
        services.start_payment(order, method_ref=method, actor="api", authentication_token=token)

    payment = Payment.objects.get(order=order)
    error = PaymentError.objects.get(payment=payment)
    assert error.code == case.code == raised.value.code
    assert error.status == case.status
    assert case.message in error.message
    assert error.message  # Japanese text, never empty
    assert REQUEST_ID.fullmatch(error.request_id), error.request_id
    assert (error.provider, error.link_key, error.operation) == ("atone", order.shop_order_no, "charge")
    op = payment.operations.get(kind="charge")
    assert (op.provider_code, op.request_id) == (error.code, error.request_id)
    assert payment.state == case.state
    assert "secret" not in str(error.payload).lower()


def test_failed_capture_lands_in_the_error_log(atone_emulator):
    atone = hub.atone_shop(atone_emulator)
    payment = atone.authorized()
    atone_emulator.control("POST", "/settings", {"clock_offset_days": 91})  # the 仮売上 has expired

    with pytest.raises(ProviderRequestInvalid) as raised:
        services.capture(payment, actor="user:staff")

    error = PaymentError.objects.get(payment=payment)
    assert error.code == raised.value.code
    assert error.code.startswith("settle:EATN")
    assert "90日" in error.message
    assert REQUEST_ID.fullmatch(error.request_id)
    assert error.operation == "capture"
    payment.refresh_from_db()
    assert payment.state == "authorized"
    assert atone_emulator.movements("settle") == []


def test_failed_confirmation_fetch_lands_in_the_error_log_and_changes_nothing(atone_emulator):
    atone = hub.atone_shop(atone_emulator)
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    atone_emulator.faults(http_5xx=1)

    with pytest.raises(ProviderUnavailable):
        services.confirm_checkout(payment, provider_ref=ref, actor="checkout")

    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref) == ("created", "")  # a query: nothing happened at atone
    error = PaymentError.objects.get(payment=payment)
    assert (error.code, error.status) == ("fetch:HTTP503", "unknown")
    assert REQUEST_ID.fullmatch(error.request_id)

    confirmed = services.confirm_checkout(payment, provider_ref=ref, actor="checkout")  # safe to ask again
    assert confirmed.state == "authorized"
