"""Every error is RFC 9457 problem+json; Japanese by default, English with Accept-Language: en."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kessai.api.models import IdempotencyKey
from kessai.payments import selectors
from kessai.payments.models import Order
from tests import factories
from tests.api.client import ApiClient
from tests.api.helpers import authorized_payment

pytestmark = pytest.mark.django_db

KEYS = {"type", "title", "status", "detail", "code", "errors"}


def test_problem_shape(client, method):
    body = factories.order_body()
    body["customer"]["zip_code"] = "abc"

    response = client.post("/orders", body)

    assert response.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    assert set(response.body) == KEYS
    assert response.body["type"] == "urn:kessai:problem:invalid_zip_code"
    assert response.body["status"] == 422
    assert response.body["title"] == "入力内容に誤りがあります。"


def test_english_with_accept_language(api_key, method):
    english = ApiClient(api_key, language="en")
    body = factories.order_body()
    del body["customer"]["phone"]

    missing = english.post("/orders", body)
    unknown = english.get("/payments/pay_nope")
    unauthorized = ApiClient(language="en").get("/orders")

    assert missing.body["title"] == "The request has invalid fields."
    assert missing.body["errors"] == [
        {"field": "customer.phone", "code": "required", "message": "This field is required."}
    ]
    assert unknown.body["title"] == "The requested resource was not found."
    assert unauthorized.body["title"] == "The API key is not valid."
    assert missing.headers["Content-Language"] == "en"


def test_japanese_by_default(client, method):
    body = factories.order_body()
    del body["customer"]["phone"]

    response = client.post("/orders", body)

    assert response.body["errors"] == [{"field": "customer.phone", "code": "required", "message": "必須項目です。"}]


def test_english_transition_message(api_key, method, fake_ledger):
    english = ApiClient(api_key, language="en-US,en;q=0.9")
    payment = authorized_payment(english)

    response = english.post(f"/payments/{payment['id']}/refund", {"amount": 1})

    assert response.body["title"] == "This operation is not possible in the payment's current state."
    assert response.body["detail"] == "Not possible while the payment is authorized (requested: refund)."


def test_malformed_json_is_400(client, method):
    response = client.post("/orders", raw_body=b'{"shop_order_no": ')

    assert (response.status, response.body["code"]) == (400, "invalid_json")


def test_unknown_path_and_wrong_method_are_problems(client):
    missing = client.get("/nothing-here")
    wrong = client.request("PUT", "/orders")

    assert (missing.status, missing.body["code"]) == (404, "not_found")
    assert (wrong.status, wrong.body["code"]) == (405, "method_not_allowed")
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_unexpected_error_is_a_500_problem_without_internals(api_key, method, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "orders", explode)

    response = Client(raise_request_exception=False).get(
        "/api/v1/orders", headers={"Authorization": f"Bearer {api_key}"}
    )

    body = json.loads(response.content)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/problem+json")
    assert set(body) == KEYS
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.content.decode()


def test_unknown_query_parameter_is_refused(client, method):
    response = client.get("/orders?stat=captured")

    assert (response.status, response.body["code"]) == (422, "validation_error")
    assert response.body["errors"] == [{"field": "stat", "code": "unknown_field", "message": "不明な項目です。"}]


def test_text_no_database_can_store_is_refused_before_anything_runs(client, method):
    body = factories.order_body()
    body["customer"]["name"] = "山田\x00太郎"

    nul_in_body = client.post("/orders", body, headers={"Idempotency-Key": "nul"})
    nul_in_path = client.get("/orders/ord_%00")
    surrogate = client.post("/orders", raw_body=b'{"shop_order_no": "\\udae6"}')

    assert (nul_in_body.status, nul_in_body.body["code"]) == (422, "invalid_character")
    assert nul_in_body.body["errors"][0]["field"] == "customer.name"
    assert (nul_in_path.status, nul_in_path.body["errors"][0]["field"]) == (422, "(path)")
    assert (surrogate.status, surrogate.body["errors"][0]["field"]) == (422, "shop_order_no")
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()
