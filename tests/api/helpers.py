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
