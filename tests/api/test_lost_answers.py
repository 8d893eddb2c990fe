"""What a dead process or a lost answer leaves behind, over the API (found by the fault suite, docs/reliability.md):

- a retry that takes over the Idempotency-Key of a request whose process died must not run the operation that
  request began a second time (after the janitor settled it, a refund would be paid out twice);
- step 3 (recording the provider's answer) survives a database connection lost mid-way;
- staff settle an authorization whose outcome and provider id are unknown: ``refresh`` with the id found in the
  provider's console, or ``close-unregistered`` when the console shows nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from kessai.api import idempotency
from kessai.payments import services
from kessai.payments.models import Operation, Payment
from kessai.providers.base import ProviderUnavailable
from tests.api.helpers import authorized_payment, create_order

pytestmark = pytest.mark.django_db


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def _dead_first_run(shop, key: str, path: str, body: dict[str, object]) -> services.RequestKey:  # type: ignore[no-untyped-def]
    """The key's record as a process that died 11 minutes ago left it (in progress, past its lease)."""
    fp = idempotency.fingerprint("POST", path, "test", json.dumps(body).encode())
    started = idempotency.begin(shop, key, fp, method="POST", path=path, now=timezone.now() - timedelta(minutes=11))
    return services.RequestKey(f"idem:{started.record.pk}")


def test_a_takeover_does_not_repeat_a_refund_its_dead_first_run_began(client, shop, method, fake_ledger):
    payment = authorized_payment(client)
    client.post(f"/payments/{payment['id']}/capture")
    body = {"amount": 1000, "reason": "返品"}
    path = f"/api/v1/payments/{payment['id']}/refund"
    first_run = _dead_first_run(shop, "refund-1", path, body)
    # the first run began the refund under its key; the provider refunded; the answer never came back
    token = services.REQUEST_KEY.set(first_run)
    try:
        fake_ledger.script.append("lost")
        with pytest.raises(ProviderUnavailable):
            services.refund(Payment.objects.get(pk=payment["id"]), amount=1000, actor="api_key:first")
    finally:
        services.REQUEST_KEY.reset(token)
    services.refresh(Payment.objects.get(pk=payment["id"]), actor="janitor")  # the janitor settles it: refunded

    retried = client.post(f"/payments/{payment['id']}/refund", body, headers=_key("refund-1"))

    assert retried.status == 200
    assert (retried.body["state"], retried.body["refunded_amount"]) == ("captured", 1000)
    assert fake_ledger.calls["refund"] == 1  # not paid out a second time
    assert Operation.objects.filter(payment_id=payment["id"], kind="refund").count() == 1
    again = client.post(f"/payments/{payment['id']}/refund", body, headers=_key("refund-1"))
    assert (again.status, again.headers["Idempotent-Replayed"]) == (200, "true")


def test_a_takeover_runs_an_operation_its_dead_first_run_never_began(client, shop, method, fake_ledger):
    payment = authorized_payment(client)
    path = f"/api/v1/payments/{payment['id']}/capture"
    _dead_first_run(shop, "capture-1", path, {})  # died before it began anything

    retried = client.post(f"/payments/{payment['id']}/capture", {}, headers=_key("capture-1"))

    assert (retried.status, retried.body["state"]) == (200, "captured")
    assert fake_ledger.calls["capture"] == 1


def test_operations_record_the_request_they_run_for(client, method, fake_ledger):
    payment = authorized_payment(client)

    client.post(f"/payments/{payment['id']}/capture", headers=_key("cap-42"))

    capture = Operation.objects.get(payment_id=payment["id"], kind="capture")
    assert capture.data["request_key"].startswith("idem:")


@pytest.mark.django_db(transaction=True)
def test_the_providers_answer_is_recorded_across_a_lost_database_connection(client, method, fake_ledger, monkeypatch):
    payment = authorized_payment(client)
    complete = services._complete
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return complete(*args, **kwargs)

    monkeypatch.setattr(services, "_complete", flaky)
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)

    captured = client.post(f"/payments/{payment['id']}/capture")

    assert (captured.status, captured.body["state"]) == (200, "captured")
    assert len(calls) == 2
    assert fake_ledger.calls["capture"] == 1
    assert Operation.objects.get(payment_id=payment["id"], kind="capture").result == "succeeded"


def _unknown_without_id(client, fake_ledger) -> str:  # type: ignore[no-untyped-def]
    order = create_order(client)
    fake_ledger.script.append("lost")  # registered at the provider, the answer (and its id) lost
    started = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    assert (started.status, started.body["code"]) == (504, "provider_unavailable")
    payment = Payment.objects.get(order_id=order["id"])
    assert (payment.state, payment.provider_ref) == ("unknown", "")
    return payment.pk


def test_staff_link_the_id_found_in_the_providers_console(client, method, fake_ledger):
    payment_id = _unknown_without_id(client, fake_ledger)
    [ref] = fake_ledger.txs

    linked = client.post(f"/payments/{payment_id}/refresh", {"provider_ref": ref})

    assert (linked.status, linked.body["state"], linked.body["provider_ref"]) == (200, "authorized", ref)
    assert [(o["kind"], o["result"]) for o in linked.body["operations"]] == [
        ("authorize", "succeeded"),
        ("refresh", "succeeded"),
    ]


def test_a_console_id_of_another_order_is_refused(client, method, fake_ledger):
    other = authorized_payment(client)
    payment_id = _unknown_without_id(client, fake_ledger)

    refused = client.post(f"/payments/{payment_id}/refresh", {"provider_ref": other["provider_ref"]})

    assert refused.status == 422
    assert Payment.objects.get(pk=payment_id).state == "unknown"


def test_staff_close_an_authorization_the_provider_never_registered(client, method, fake_ledger):
    order = create_order(client)
    fake_ledger.script.append("unavailable")  # nothing stored, but the hub cannot know
    client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    payment = Payment.objects.get(order_id=order["id"])

    closed = client.post(f"/payments/{payment.pk}/close-unregistered")

    assert (closed.status, closed.body["state"]) == (200, "cancelled")
    assert [(o["kind"], o["result"]) for o in closed.body["operations"]] == [("authorize", "failed")]
    again = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    assert (again.status, again.body["state"]) == (201, "authorized")  # the order can be paid again


def test_close_unregistered_is_refused_once_the_provider_id_is_known(client, method, fake_ledger):
    payment = authorized_payment(client)

    refused = client.post(f"/payments/{payment['id']}/close-unregistered")

    assert (refused.status, refused.body["code"]) == (409, "invalid_transition")
    assert Payment.objects.get(pk=payment["id"]).state == "authorized"
