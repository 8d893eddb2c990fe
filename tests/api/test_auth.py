"""Bearer API keys: 401 for anything but a valid key; test keys and live keys see separate worlds."""

from __future__ import annotations

import pytest

from kessai.payments.models import Payment
from kessai.shops import services as shop_services
from tests import factories
from tests.api.client import ApiClient
from tests.api.helpers import authorized_payment, create_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_test_unknown", "Bearer ", "Basic c2tfdGVzdDp4", "sk_test_nobearer", "Bearer pk_test_x"],
)
def test_missing_or_unknown_keys_get_401_problem(shop, authorization):
    client = ApiClient()

    response = client.get("/orders", headers={"Authorization": authorization} if authorization else None)

    assert response.status == 401
    assert response.body["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_revoked_key_gets_401(shop):
    key, raw = shop_services.create_api_key(shop, environment="test")
    shop_services.revoke_api_key(key)

    response = ApiClient(raw).get("/orders")

    assert response.status == 401


def test_live_key_cannot_see_or_touch_test_payments(client, live_client, method, fake_ledger):
    payment = authorized_payment(client)

    seen = live_client.get(f"/payments/{payment['id']}")
    captured = live_client.post(f"/payments/{payment['id']}/capture")
    order = live_client.get(f"/orders/{payment['order']}")

    assert seen.status == 404
    assert captured.status == 404
    assert order.body["payments"] == []  # orders are shared; payments belong to an environment
    assert fake_ledger.calls["capture"] == 0


def test_live_key_cannot_pay_with_a_test_account(live_client, method):
    order = create_order(live_client)

    response = live_client.post(f"/orders/{order['id']}/payments", {"payment_method": "fake"})

    assert (response.status, response.body["code"]) == (422, "environment_mismatch")
    assert not Payment.objects.exists()


def test_each_key_lists_only_its_environment(client, live_client, shop):
    test_account = factories.fake_account(shop, environment="test")
    live_account = shop_services.create_provider_account(
        shop,
        provider="fake",
        environment="production",
        credentials={"merchant_id": "M", "api_secret": "x"},
        active=False,
    )

    assert [a["id"] for a in client.get("/provider-accounts").body["data"]] == [test_account.id]
    assert [a["id"] for a in live_client.get("/provider-accounts").body["data"]] == [live_account.id]
    assert live_client.get(f"/provider-accounts/{test_account.id}").status == 404


def test_actor_is_the_api_key(client, api_key, method):
    payment = authorized_payment(client)

    key = shop_services.authenticate_api_key(api_key)
    assert payment["operations"][0]["actor"] == f"api_key:{key.id}"
