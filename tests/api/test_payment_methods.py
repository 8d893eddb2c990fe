"""/payment-methods: create, read, update (使用/停止, 表示順), delete refused once used."""

from __future__ import annotations

import pytest

from kessai.shops.models import PaymentMethod
from tests.api.helpers import authorized_payment

pytestmark = pytest.mark.django_db


def test_create_sanitises_the_description(client, account):
    response = client.post(
        "/payment-methods",
        {
            "provider_account": account.id,
            "code": "atobarai",
            "name": "後払い(コンビニ・銀行)",
            "description": '<p onclick="x()">請求書は後日<script>alert(1)</script></p>',
            "banner_url": "https://example.jp/banner.png",
            "sort": 3,
        },
    )

    assert response.status == 201
    body = response.body
    assert body["id"].startswith("pm_")
    assert (body["provider_account"], body["provider"], body["code"], body["active"], body["sort"]) == (
        account.id,
        "fake",
        "atobarai",
        True,
        3,
    )
    assert body["description"] == "<p>請求書は後日</p>"


def test_account_of_another_environment_or_shop_is_a_field_error(live_client, account):
    response = live_client.post("/payment-methods", {"provider_account": account.id, "code": "x", "name": "X"})

    assert (response.status, response.body["errors"][0]["field"]) == (422, "provider_account")
    assert not PaymentMethod.objects.exists()


def test_patch_stops_and_reorders(client, method):
    response = client.patch(f"/payment-methods/{method.id}", {"active": False, "sort": 9, "name": "Fake(停止中)"})

    assert response.status == 200
    assert (response.body["active"], response.body["sort"], response.body["name"]) == (False, 9, "Fake(停止中)")
    method.refresh_from_db()
    assert (method.active, method.sort) == (False, 9)


def test_list_is_in_display_order(client, account, method, shop):
    client.post("/payment-methods", {"provider_account": account.id, "code": "first", "name": "First", "sort": 0})

    listed = client.get("/payment-methods")

    assert [m["code"] for m in listed.body["data"]] == ["first", "fake"]
    assert listed.body["has_more"] is False


def test_delete_unused_and_refuse_used(client, account, method):
    spare = client.post("/payment-methods", {"provider_account": account.id, "code": "spare", "name": "Spare"})
    authorized_payment(client)

    deleted = client.delete(f"/payment-methods/{spare.body['id']}")
    refused = client.delete(f"/payment-methods/{method.id}")

    assert deleted.body == {"id": spare.body["id"], "deleted": True}
    assert (refused.status, refused.body["code"]) == (409, "payment_method_in_use")
    assert list(PaymentMethod.objects.values_list("code", flat=True)) == ["fake"]


def test_display_returns_the_sanitised_copy_and_the_fee_for_an_amount(client, method):
    client.put("/fee-rules/fake", {"tiers": [{"min_amount": 1, "max_amount": 9_999_999, "fee": 205}]})

    response = client.get(f"/payment-methods/{method.id}/display?amount=13824")

    assert response.status == 200
    body = response.body
    assert (body["payment_method"], body["code"], body["provider"]) == (method.id, method.code, "fake")
    assert (body["fee"]["for_amount"], body["fee"]["amount"]) == (13824, 205)
    assert body["official"] is None  # no official copy kit for the fake provider
