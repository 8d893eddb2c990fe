"""GET/DELETE /payment-errors: the 決済エラーログ, listed newest first, deleted all at once or one by one."""

from __future__ import annotations

import pytest

from kessai.payments.models import PaymentError
from tests.api.helpers import create_order

pytestmark = pytest.mark.django_db


def _decline(client, fake_ledger) -> str:
    order = create_order(client)
    fake_ledger.script.append("decline")
    response = client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})
    assert response.status == 402
    return str(response.body["payment"])


def test_errors_are_listed_and_fetched(client, method, fake_ledger):
    payment_id = _decline(client, fake_ledger)

    listed = client.get("/payment-errors")
    [entry] = listed.body["data"]
    fetched = client.get(f"/payment-errors/{entry['id']}")
    by_payment = client.get(f"/payment-errors?payment={payment_id}")
    other = client.get("/payment-errors?payment=pay_other")

    assert entry["id"].startswith("err_")
    assert (entry["payment"], entry["provider"], entry["code"], entry["status"]) == (
        payment_id,
        "fake",
        "authorize:NG",
        "ProviderDeclined",
    )
    assert fetched.body == entry
    assert [e["id"] for e in by_payment.body["data"]] == [entry["id"]]
    assert other.body["data"] == []


def test_delete_one_and_delete_all(client, method, fake_ledger):
    _decline(client, fake_ledger)
    _decline(client, fake_ledger)
    first, second = (e["id"] for e in client.get("/payment-errors").body["data"])

    one = client.delete(f"/payment-errors/{first}")
    again = client.delete(f"/payment-errors/{first}")
    remaining = list(PaymentError.objects.values_list("id", flat=True))
    everything = client.delete("/payment-errors")

    assert one.body == {"id": first, "deleted": True}
    assert again.status == 404
    assert remaining == [second]
    assert everything.body == {"deleted": 1}
    assert not PaymentError.objects.exists()
