"""Small API-level builders used by several test modules."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.api.client import ApiClient


def create_order(client: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/orders", factories.order_body(**overrides))
    assert response.status == 201, response
    body: dict[str, Any] = response.body
    return body


def start_payment(client: ApiClient, order_id: str, method: str = "fake", **extra: Any) -> dict[str, Any]:
    response = client.post(f"/orders/{order_id}/payments", {"payment_method": method, **extra})
    assert response.status == 201, response
    body: dict[str, Any] = response.body
    return body


def authorized_payment(client: ApiClient, **overrides: Any) -> dict[str, Any]:
    return start_payment(client, create_order(client, **overrides)["id"])


def subscription_body(**overrides: Any) -> dict[str, Any]:
    """A 継続課金 registration with a stored buyer token (the fake provider accepts any token)."""
    body: dict[str, Any] = {
        "payment_method": "fake",
        "authentication_token": "tk_fake_buyer_token_0001",
        "customer": {
            "name": "山田 太郎",
            "email": "taro@example.jp",
            "phone": "090-1234-5678",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        "items": [{"sku": "SUB-1", "name": "定期便 コーヒー豆", "unit_price": 3240, "quantity": 1}],
        "amount": 3240,
        "first_billing_on": "2030-01-10",
        "member_no": "M0001",
    }
    body.update(overrides)
    return body
