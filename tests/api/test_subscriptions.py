"""/subscriptions: register with a stored token, read, change, stop / resume, charge now."""

from __future__ import annotations

import pytest

from kessai.billing.models import Subscription
from kessai.billing.services import buyer_token
from tests.api.helpers import subscription_body

pytestmark = pytest.mark.django_db


def test_register_stores_the_schedule_and_an_encrypted_token(client, method):
    response = client.post("/subscriptions", subscription_body())

    assert response.status == 201
    body = response.body
    assert body["id"].startswith("sub_")
    assert (body["provider"], body["amount"], body["status"], body["member_no"]) == ("fake", 3240, "active", "M0001")
    assert (body["first_billing_on"], body["next_billing_on"], body["billing_day"]) == ("2030-01-10", "2030-01-10", 10)
    sub = Subscription.objects.get(pk=body["id"])
    assert "tk_fake_buyer_token_0001" not in sub.token_encrypted
    assert buyer_token(sub) == "tk_fake_buyer_token_0001"


def test_amount_must_equal_the_lines_and_nothing_is_stored(client, method):
    response = client.post("/subscriptions", subscription_body(amount=3000))

    assert response.status == 422
    assert response.body["errors"][0]["field"] == "amount"
    assert not Subscription.objects.exists()


def test_unknown_payment_method_is_a_field_error(client, method):
    response = client.post("/subscriptions", subscription_body(payment_method="nope"))

    assert (response.status, response.body["code"]) == (422, "unknown_payment_method")
    assert not Subscription.objects.exists()


def test_a_live_key_does_not_see_test_subscriptions(client, live_client, method):
    sub = client.post("/subscriptions", subscription_body()).body

    assert live_client.get(f"/subscriptions/{sub['id']}").status == 404
    assert live_client.get("/subscriptions").body["data"] == []


def test_stop_resume_and_change(client, method):
    sub = client.post("/subscriptions", subscription_body()).body

    stopped = client.post(f"/subscriptions/{sub['id']}/stop")
    assert (stopped.status, stopped.body["status"]) == (200, "stopped")
    resumed = client.post(f"/subscriptions/{sub['id']}/resume")
    assert resumed.body["status"] == "active"
    items = [{"sku": "SUB-1", "name": "定期便 コーヒー豆", "unit_price": 3780, "quantity": 1}]
    changed = client.patch(
        f"/subscriptions/{sub['id']}", {"amount": 3780, "items": items, "next_billing_on": "2030-02-01"}
    )
    assert (changed.status, changed.body["amount"], changed.body["next_billing_on"]) == (200, 3780, "2030-02-01")
    listed = client.get("/subscriptions?status=active").body["data"]
    assert [row["id"] for row in listed] == [sub["id"]]


def test_charge_now_charges_once_through_the_provider(client, method, fake_ledger):
    sub = client.post("/subscriptions", subscription_body()).body

    first = client.post(f"/subscriptions/{sub['id']}/charge")
    again = client.post(f"/subscriptions/{sub['id']}/charge")

    assert first.status == 200
    (cycle,) = first.body["cycles"]
    assert (cycle["status"], cycle["amount"], cycle["attempts"]) == ("charged", 3240, 1)
    assert cycle["payment"].startswith("pay_")
    assert again.status in (409, 422)
    assert fake_ledger.calls["charge"] == 1
