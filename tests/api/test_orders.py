"""POST/GET /orders: creation with NFKC normalisation, field errors, list filters and cursor pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kessai.payments.models import Order
from tests import factories
from tests.api.helpers import authorized_payment, create_order

pytestmark = pytest.mark.django_db


def test_create_order_returns_the_normalised_order(client, method):
    body = factories.order_body(shop_order_no="A-1001")
    body["customer"]["zip_code"] = "１０７－００５２"
    body["customer"]["phone"] = "０９０ー１２３４ー５６７８"

    response = client.post("/orders", body)

    assert response.status == 201
    order = response.body
    assert order["id"].startswith("ord_")
    assert (order["shop_order_no"], order["amount"], order["fee"], order["status"]) == ("A-1001", 13824, 0, "new")
    assert order["customer"]["zip_code"] == "107-0052"
    assert order["customer"]["phone"] == "090-1234-5678"
    assert order["items"][0] == {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1}
    assert order["payments"] == []
    assert Order.objects.get(pk=order["id"]).customer_phone == "090-1234-5678"


def test_amount_not_equal_to_the_lines_is_refused_and_nothing_is_saved(client, method):
    response = client.post("/orders", factories.order_body(amount=13000))

    assert response.status == 422
    assert response.body["code"] == "amount_mismatch"
    assert response.body["errors"] == [
        {
            "field": "amount",
            "code": "amount_mismatch",
            "message": "合計金額(¥13,000)が明細の合計(¥13,824)と一致しません。",
        }
    ]
    assert Order.objects.count() == 0


def test_bad_zip_code_points_at_the_field_with_the_japanese_message(client, method):
    body = factories.order_body()
    body["customer"]["zip_code"] = "12-345"

    response = client.post("/orders", body)

    assert response.status == 422
    assert response.body["errors"] == [
        {
            "field": "customer.zip_code",
            "code": "invalid_zip_code",
            "message": '郵便番号は半角数字7桁または半角数字3桁+"-"+半角数字4桁で設定してください。',
        }
    ]
    assert Order.objects.count() == 0


def test_wrong_json_types_get_field_pointers(client, method):
    body = factories.order_body(amount="13824")
    body["items"][1]["quantity"] = "1"
    del body["customer"]["name"]

    response = client.post("/orders", body)

    assert response.status == 422
    assert response.body["code"] == "validation_error"
    fields = {e["field"]: e["code"] for e in response.body["errors"]}
    assert fields == {"amount": "invalid_type", "items[1].quantity": "invalid_type", "customer.name": "required"}
    assert Order.objects.count() == 0


def test_duplicate_order_number_is_a_conflict(client, method):
    create_order(client, shop_order_no="A-9")

    response = client.post("/orders", factories.order_body(shop_order_no="A-9"))

    assert response.status == 409
    assert response.body["code"] == "duplicate_order_no"
    assert Order.objects.count() == 1


def test_get_order_shows_its_payments(client, method):
    payment = authorized_payment(client)

    response = client.get(f"/orders/{payment['order']}")

    assert response.status == 200
    assert response.body["payments"] == [
        {
            "id": payment["id"],
            "provider": "fake",
            "provider_ref": payment["provider_ref"],
            "state": "authorized",
            "amount": 13824,
        }
    ]


def test_list_pages_with_a_cursor_stable_under_inserts(client, method):
    ids = [create_order(client)["id"] for _ in range(5)]

    first = client.get("/orders?limit=2")
    create_order(client)  # a new order must not shift the next page
    second = client.get(f"/orders?limit=2&cursor={first.body['next_cursor']}")
    third = client.get(f"/orders?limit=2&starting_after={second.body['data'][-1]['id']}")

    assert [o["id"] for o in first.body["data"]] == [ids[4], ids[3]]
    assert first.body["has_more"] is True
    assert [o["id"] for o in second.body["data"]] == [ids[2], ids[1]]
    assert [o["id"] for o in third.body["data"]] == [ids[0]]
    assert third.body["has_more"] is False
    assert third.body["next_cursor"] is None


def test_list_filters_by_state_provider_text_and_date(client, method):
    paid = authorized_payment(client, shop_order_no="B-1")
    create_order(client, shop_order_no="B-2")

    by_state = client.get("/orders?state=authorized")
    by_provider = client.get("/orders?provider=fake")
    by_number = client.get("/orders?q=B-2")
    by_ref = client.get(f"/orders?q={paid['provider_ref']}")
    future = (timezone.now() + timedelta(days=1)).isoformat()
    by_date = client.get(f"/orders?created_from={future[:19]}")

    assert [o["shop_order_no"] for o in by_state.body["data"]] == ["B-1"]
    assert [o["shop_order_no"] for o in by_provider.body["data"]] == ["B-1"]
    assert [o["shop_order_no"] for o in by_number.body["data"]] == ["B-2"]
    assert [o["shop_order_no"] for o in by_ref.body["data"]] == ["B-1"]
    assert by_date.body["data"] == []


def test_full_width_phone_search(client, method):
    create_order(client, shop_order_no="C-1")

    response = client.get("/orders?q=０９０－１２３４－５６７８")

    assert [o["shop_order_no"] for o in response.body["data"]] == ["C-1"]


def test_bad_cursor_and_limit_are_field_errors(client, method):
    cursor = client.get("/orders?cursor=not-a-cursor")
    limit = client.get("/orders?limit=1000")

    assert (cursor.status, cursor.body["errors"][0]["field"], cursor.body["code"]) == (422, "cursor", "invalid_cursor")
    assert (limit.status, limit.body["errors"][0]["field"]) == (422, "limit")


def test_unknown_order_is_404(client, method):
    response = client.get("/orders/ord_01JD0000000000000000000000")

    assert response.status == 404
    assert response.body["code"] == "not_found"
