"""Invariant 7 for every endpoint: shop B's key on shop A's ids → 404 (or a field error for ids in a
body), and nothing of shop A changes. The route table is checked against the OpenAPI document so a
new endpoint cannot be added without an isolation case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from kessai.api.api import api
from kessai.api.models import IdempotencyKey
from kessai.billing.models import Subscription, SubscriptionCycle
from kessai.payments.models import BulkJob, Operation, Order, Payment, PaymentError
from kessai.shops import services as shop_services
from kessai.shops.models import FeeRule, PaymentMethod, ProviderAccount
from kessai.webhooks.models import WebhookDelivery, WebhookEndpoint
from kessai.webhooks.outbound import delivery, dispatch
from tests import factories
from tests.api.client import ApiClient, openapi
from tests.api.helpers import authorized_payment, create_order, subscription_body

pytestmark = pytest.mark.django_db

ITEMS = [{"sku": "P-1", "name": "1人掛けソファ", "unit_price": 10000, "quantity": 1}]


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    path: str  # with {placeholders} filled from shop A's ids
    body: Any = None
    status: int = 404


CASES = [
    Case("GET", "/orders/{order_id}", "/orders/{order}"),
    Case("POST", "/orders/{order_id}/payments", "/orders/{order}/payments", {"payment_method": "fake"}),
    Case("GET", "/payments/{payment_id}", "/payments/{payment}"),
    Case("POST", "/payments/{payment_id}/capture", "/payments/{payment}/capture", {}),
    Case("POST", "/payments/{payment_id}/cancel", "/payments/{payment}/cancel"),
    Case(
        "POST",
        "/payments/{payment_id}/change-amount",
        "/payments/{payment}/change-amount",
        {"amount": 10000, "items": ITEMS},
    ),
    Case(
        "POST",
        "/payments/{payment_id}/shipments",
        "/payments/{payment}/shipments",
        {"carrier": "yamato", "tracking_no": "1"},
    ),
    Case("POST", "/payments/{payment_id}/refund", "/payments/{payment}/refund", {"amount": 1}),
    Case("POST", "/payments/{payment_id}/refresh", "/payments/{payment}/refresh"),
    Case("POST", "/payments/{payment_id}/close-unregistered", "/payments/{payment}/close-unregistered"),
    Case("GET", "/bulk-jobs/{job_id}", "/bulk-jobs/{job}"),
    Case("GET", "/payment-errors/{error_id}", "/payment-errors/{error}"),
    Case("DELETE", "/payment-errors/{error_id}", "/payment-errors/{error}"),
    Case("GET", "/webhook-endpoints/{endpoint_id}", "/webhook-endpoints/{endpoint}"),
    Case("DELETE", "/webhook-endpoints/{endpoint_id}", "/webhook-endpoints/{endpoint}"),
    Case("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret", "/webhook-endpoints/{endpoint}/rotate-secret"),
    Case("GET", "/webhook-endpoints/{endpoint_id}/deliveries", "/webhook-endpoints/{endpoint}/deliveries"),
    Case(
        "POST",
        "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend",
        "/webhook-endpoints/{endpoint}/deliveries/{delivery}/resend",
    ),
    Case("GET", "/provider-accounts/{account_id}", "/provider-accounts/{account}"),
    Case(
        "PATCH",
        "/provider-accounts/{account_id}",
        "/provider-accounts/{account}",
        {"active": False, "credentials": {"api_secret": "stolen"}},
    ),
    Case("POST", "/provider-accounts/{account_id}/test", "/provider-accounts/{account}/test"),
    Case("GET", "/payment-methods/{method_id}", "/payment-methods/{method}"),
    Case("PATCH", "/payment-methods/{method_id}", "/payment-methods/{method}", {"active": False}),
    Case("DELETE", "/payment-methods/{method_id}", "/payment-methods/{method}"),
    Case("GET", "/payment-methods/{method_id}/display", "/payment-methods/{method}/display"),
    Case("GET", "/provider-accounts/{account_id}/readiness", "/provider-accounts/{account}/readiness"),
    Case("GET", "/subscriptions/{subscription_id}", "/subscriptions/{subscription}"),
    Case("PATCH", "/subscriptions/{subscription_id}", "/subscriptions/{subscription}", {"amount": 1, "items": ITEMS}),
    Case("POST", "/subscriptions/{subscription_id}/stop", "/subscriptions/{subscription}/stop"),
    Case("POST", "/subscriptions/{subscription_id}/resume", "/subscriptions/{subscription}/resume"),
    Case("POST", "/subscriptions/{subscription_id}/charge", "/subscriptions/{subscription}/charge"),
    # Routes without an id in the path: A's ids in the body are unknown to B, and B's own writes stay B's.
    Case("POST", "/bulk-jobs", "/bulk-jobs", {"action": "cancel", "payment_ids": ["{payment}"]}, 422),
    Case(
        "POST",
        "/payment-methods",
        "/payment-methods",
        {"provider_account": "{account}", "code": "stolen", "name": "x"},
        422,
    ),
    Case("POST", "/orders", "/orders", "ORDER", 201),
    Case("POST", "/subscriptions", "/subscriptions", "SUBSCRIPTION", 201),
    Case("DELETE", "/payment-errors", "/payment-errors", None, 200),
    Case("POST", "/webhook-endpoints", "/webhook-endpoints", {"url": "https://b.example.jp/"}, 201),
    Case(
        "POST",
        "/provider-accounts",
        "/provider-accounts",
        {"provider": "fake", "credentials": {"merchant_id": "B", "api_secret": "b"}, "active": False},
        201,
    ),
    Case(
        "PUT",
        "/fee-rules/{provider}",
        "/fee-rules/fake",
        {"tiers": [{"min_amount": 1, "max_amount": 9, "fee": 1}]},
        200,
    ),
]
LISTS = [
    ("/orders", "order"),
    ("/payment-errors", "error"),
    ("/webhook-endpoints", "endpoint"),
    ("/provider-accounts", "account"),
    ("/payment-methods", "method"),
    ("/subscriptions", "subscription"),
]
LIST_TEMPLATES = {("GET", path) for path, _ in LISTS} | {("GET", "/fee-rules/{provider}")}


@pytest.fixture
def shop_a(fake_ledger) -> dict[str, Any]:
    shop = factories.shop("ショップA")
    factories.fake_method(shop)
    client = ApiClient(shop_services.create_api_key(shop, environment="test")[1])
    endpoint = client.post("/webhook-endpoints", {"url": "https://a.example.jp/hook"}).body
    payment = authorized_payment(client)
    order = create_order(client)
    fake_ledger.script.append("decline")
    client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    dispatch.fan_out()
    delivery.claim_due(timezone.now(), 100)
    job = client.post(
        "/bulk-jobs", {"action": "refresh", "payment_ids": [payment["id"]]}, headers={"Idempotency-Key": "a"}
    )
    client.put("/fee-rules/fake", {"tiers": [{"min_amount": 1, "max_amount": 9_999_999, "fee": 330}]})
    subscription = client.post("/subscriptions", subscription_body()).body
    return {
        "subscription": subscription["id"],
        "shop": shop,
        "order": payment["order"],
        "payment": payment["id"],
        "job": job.body["id"],
        "error": client.get("/payment-errors").body["data"][0]["id"],
        "endpoint": endpoint["id"],
        "delivery": f"dlv_{WebhookDelivery.objects.filter(endpoint_id=endpoint['id']).order_by('pk').first().pk}",
        "account": ProviderAccount.objects.get(shop=shop).id,
        "method": PaymentMethod.objects.get(shop=shop).id,
    }


@pytest.fixture
def client_b(fake_ledger) -> ApiClient:
    shop = factories.shop("ショップB")
    factories.fake_method(shop)
    return ApiClient(shop_services.create_api_key(shop, environment="test")[1])


def snapshot(shop) -> dict[str, list[tuple[Any, ...]]]:
    """Everything of shop A that an API call could change."""
    return {
        "orders": list(Order.objects.filter(shop=shop).values_list("id", "amount", "items", "needs_review")),
        "payments": list(
            Payment.objects.filter(shop=shop).values_list("id", "state", "amount", "captured_amount", "refunded_amount")
        ),
        "operations": list(Operation.objects.filter(payment__shop=shop).values_list("id", "result")),
        "errors": list(PaymentError.objects.filter(shop=shop).values_list("id")),
        "jobs": list(BulkJob.objects.filter(shop=shop).values_list("id", "state", "done")),
        "endpoints": list(
            WebhookEndpoint.objects.filter(shop=shop).values_list("id", "url", "secret", "previous_secret")
        ),
        "deliveries": list(
            WebhookDelivery.objects.filter(endpoint__shop=shop).values_list(
                "id", "status", "attempts", "next_attempt_at"
            )
        ),
        "accounts": list(
            ProviderAccount.objects.filter(shop=shop).values_list(
                "id", "credentials_encrypted", "options", "active", "last_test_ok_at"
            )
        ),
        "methods": list(PaymentMethod.objects.filter(shop=shop).values_list("id", "code", "name", "active", "sort")),
        "fees": list(FeeRule.objects.filter(shop=shop).values_list("provider", "tiers")),
        "idempotency": list(IdempotencyKey.objects.filter(shop=shop).values_list("key", "response_body")),
        "subscriptions": list(
            Subscription.objects.filter(shop=shop).values_list("id", "status", "amount", "next_billing_on")
        ),
        "cycles": list(SubscriptionCycle.objects.filter(shop=shop).values_list("id", "status")),
    }


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**{k: v for k, v in ids.items() if isinstance(v, str)})
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def test_every_route_has_an_isolation_case():
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in openapi()["paths"].items()
        for method in operations
    }
    covered = {(case.method, case.template) for case in CASES} | LIST_TEMPLATES

    assert documented == covered


def test_the_document_lists_every_routed_operation():
    """What makes the check above complete: no method of any route is left out of the OpenAPI document."""
    routed = {
        (method, prefix + path)
        for prefix, router in api._routers
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in openapi()["paths"].items()
        for method in operations
    }

    assert routed == documented


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.template}")
def test_shop_b_cannot_reach_shop_a(case, shop_a, client_b, fake_ledger):
    before = snapshot(shop_a["shop"])
    calls = dict(fake_ledger.calls)
    if case.body == "ORDER":
        body = factories.order_body()
    elif case.body == "SUBSCRIPTION":
        body = subscription_body()
    else:
        body = _fill(case.body, shop_a)

    response = client_b.request(case.method, _fill(case.path, shop_a), body, headers={"Idempotency-Key": "a"})

    assert response.status == case.status, response
    if case.status == 404:
        assert response.body["code"] == "not_found"
    assert snapshot(shop_a["shop"]) == before
    assert dict(fake_ledger.calls) == calls


@pytest.mark.parametrize(("path", "kind"), LISTS)
def test_shop_b_lists_none_of_shop_a(path, kind, shop_a, client_b):
    response = client_b.get(path)

    assert shop_a[kind] not in {row["id"] for row in response.body["data"]}


def test_shop_b_reads_its_own_fee_rule(shop_a, client_b):
    response = client_b.get("/fee-rules/fake")

    assert response.body["tiers"] == []
