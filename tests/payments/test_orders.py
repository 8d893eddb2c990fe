"""Order intake: NFKC normalisation, field-pointed Japanese errors, nothing stored on error."""

from __future__ import annotations

import pytest

from kessai.payments.models import Order
from kessai.payments.orders import create_order
from kessai.shops.errors import ValidationFailed
from tests import factories

pytestmark = pytest.mark.django_db


def test_full_width_zip_and_phone_are_normalised() -> None:
    shop = factories.shop()
    body = factories.order_body()
    body["customer"] = {
        **body["customer"],
        "zip_code": "１０７－００５２",
        "phone": "０９０ー１２３４ー５６７８",
    }

    order = create_order(shop, body)

    assert order.customer["zip_code"] == "107-0052"
    assert order.customer["phone"] == "090-1234-5678"
    assert order.customer_phone == "090-1234-5678"
    assert order.prefecture == "東京都"


def test_bad_zip_gets_the_provider_style_message_and_nothing_is_saved() -> None:
    shop = factories.shop()
    body = factories.order_body()
    body["customer"] = {**body["customer"], "zip_code": "1070-052"}

    with pytest.raises(ValidationFailed) as exc:
        create_order(shop, body)

    assert exc.value.errors == {
        "customer.zip_code": '郵便番号は半角数字7桁または半角数字3桁+"-"+半角数字4桁で設定してください。'
    }
    assert exc.value.code_for("customer.zip_code") == "invalid_zip_code"
    assert not Order.objects.exists()


def test_amount_must_equal_the_sum_of_lines() -> None:
    with pytest.raises(ValidationFailed) as exc:
        create_order(factories.shop(), factories.order_body(amount=13000))

    assert exc.value.code == "amount_mismatch"
    assert exc.value.errors["amount"] == "合計金額(¥13,000)が明細の合計(¥13,824)と一致しません。"


def test_discount_lines_are_negative() -> None:
    items = [
        {"sku": "P-1", "name": "ソファ", "unit_price": 12800, "quantity": 1},
        {"sku": "coupon", "name": "クーポン値引き", "unit_price": -800, "quantity": 1},
    ]
    order = create_order(factories.shop(), factories.order_body(amount=12000, items=items))
    assert order.amount == 12000


def test_duplicate_order_number_per_shop_is_refused_but_other_shops_may_reuse_it() -> None:
    shop_a, shop_b = factories.shop("A"), factories.shop("B")
    create_order(shop_a, factories.order_body(shop_order_no="A-1001"))

    with pytest.raises(ValidationFailed) as exc:
        create_order(shop_a, factories.order_body(shop_order_no="A-1001"))
    assert exc.value.code == "duplicate_order_no"

    assert create_order(shop_b, factories.order_body(shop_order_no="A-1001")).shop_id == shop_b.id


def test_every_bad_field_is_reported_with_its_path() -> None:
    body = factories.order_body(items=[{"sku": "", "name": "x", "unit_price": "abc", "quantity": 0}])
    body["customer"] = {"name": "", "phone": "12", "zip_code": "", "address": "東京都"}

    with pytest.raises(ValidationFailed) as exc:
        create_order(factories.shop(), body)

    assert set(exc.value.errors) == {
        "items[0].sku",
        "items[0].unit_price",
        "items[0].quantity",
        "customer.name",
        "customer.phone",
        "customer.zip_code",
    }
