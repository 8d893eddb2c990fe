"""schemathesis against the running app (WSGI, in process): generated requests — valid and invalid —
for every operation, with random ids and with real ids of the shop. No 5xx, every response conforms to
the OpenAPI document (status, content type, headers, body schema), invalid input is refused.

CI runs ≥1,000 cases derandomised (reproducible); ``make fuzz`` runs many more with fresh randomness:
KESSAI_FUZZ_CASES (default 1100) and KESSAI_FUZZ_RANDOM=1."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from kessai.shops import services as shop_services
from kessai.webhooks.models import WebhookDelivery
from kessai.webhooks.outbound import delivery, dispatch
from tests import factories
from tests.api.client import ApiClient
from tests.api.helpers import authorized_payment, subscription_body

pytestmark = pytest.mark.django_db

TOTAL_CASES = int(os.environ.get("KESSAI_FUZZ_CASES", "1100"))
MINIMUM_CASES = 1000
RANDOM = os.environ.get("KESSAI_FUZZ_RANDOM") == "1"

# Schema-valid but refused: rules JSON Schema cannot express (amount = Σ lines, zip code after NFKC,
# an id in the body that does not exist) are 422, and a decline (402) is a valid answer.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "402", "404", "409", "422"]
"""


def _real_ids(client: ApiClient) -> dict[str, str]:
    endpoint = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/hook"}).body
    payment = authorized_payment(client)
    job = client.post("/bulk-jobs", {"action": "refresh", "payment_ids": [payment["id"]]}).body
    dispatch.fan_out()
    delivery.claim_due(timezone.now(), 10)
    error_order = client.post("/orders", factories.order_body()).body
    subscription = client.post("/subscriptions", subscription_body()).body
    return {
        "subscription_id": subscription["id"],
        "order_id": payment["order"],
        "payment_id": payment["id"],
        "job_id": job["id"],
        "endpoint_id": endpoint["id"],
        "delivery_id": f"dlv_{WebhookDelivery.objects.values_list('pk', flat=True).first()}",
        "account_id": client.get("/provider-accounts").body["data"][0]["id"],
        "method_id": client.get("/payment-methods").body["data"][0]["id"],
        "provider": "fake",
        "error_id": error_order["id"],  # not an error id: a wrong-type id must be a clean 404
    }


@contextmanager
def _keep_test_connection() -> Iterator[None]:
    """The raw WSGI handler closes "obsolete" connections after each request — on PostgreSQL that is the
    test's own connection (inside its transaction). Django's test client unhooks the same receivers (and
    hooks them back after each of its requests, so this wraps only the schemathesis part)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _fuzz(real: dict[str, str], key: str) -> tuple[int, int]:
    """Run every operation's strategies; returns (requests sent, operations)."""
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", get_wsgi_application(), config=schemathesis.Config.from_str(CONFIG)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    per_operation = max(10, TOTAL_CASES // len(operations))
    sent = 0

    for operation in operations:
        names = re.findall(r"\{([^}]+)\}", operation.path)
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        if names:
            fixed = {name: real[name] for name in names}
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed))
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed))

        @settings(
            max_examples=per_operation,
            deadline=None,
            database=None,
            derandomize=not RANDOM,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def run(case: Any) -> None:
            nonlocal sent
            sent += 1
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"})

        run()
    return sent, len(operations)


def test_generated_requests_conform_to_the_schema(fake_ledger):
    shop = factories.shop("ファズ")
    factories.fake_method(shop)
    key = shop_services.create_api_key(shop, environment="test")[1]
    real = _real_ids(ApiClient(key))

    with _keep_test_connection():
        sent, operations = _fuzz(real, key)

    print(f"schemathesis: {sent} generated requests over {operations} operations")
    assert sent >= min(MINIMUM_CASES, TOTAL_CASES)
