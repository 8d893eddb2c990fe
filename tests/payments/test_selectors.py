"""Tenant isolation at the selector level: shop A's selectors never return shop B's rows."""

from __future__ import annotations

import pytest

from kessai.payments import selectors
from kessai.payments.selectors import OrderFilter
from kessai.shops.errors import NotFound
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(fake_ledger):
    a, b = factories.shop("A"), factories.shop("B")
    pay_a = factories.authorized_payment(a, factories.fake_method(a))
    pay_b = factories.authorized_payment(b, factories.fake_method(b))
    return a, b, pay_a, pay_b


def test_get_by_id_of_another_shop_is_not_found(two_shops):
    a, _b, pay_a, pay_b = two_shops

    assert selectors.get_payment(a, pay_a.id) == pay_a
    with pytest.raises(NotFound):
        selectors.get_payment(a, pay_b.id)
    with pytest.raises(NotFound):
        selectors.get_order(a, pay_b.order_id)


def test_lists_and_searches_only_see_own_rows(two_shops):
    a, b, pay_a, pay_b = two_shops

    assert list(selectors.orders(a)) == [pay_a.order]
    assert list(selectors.payments(b)) == [pay_b]
    # Both shops have the same customer phone; the search still stays within the shop.
    assert list(selectors.orders(a, OrderFilter(q="０９０-１２３４-５６７８"))) == [pay_a.order]
    assert list(selectors.orders(a, OrderFilter(q=pay_b.provider_ref))) == []
    assert selectors.find_payment_by_ref(a, pay_b.account, pay_b.provider_ref) is None


def test_filters(two_shops):
    a, _, pay_a, _ = two_shops
    assert list(selectors.orders(a, OrderFilter(state="authorized"))) == [pay_a.order]
    assert list(selectors.orders(a, OrderFilter(state="captured"))) == []
    assert list(selectors.orders(a, OrderFilter(q=pay_a.order.shop_order_no))) == [pay_a.order]
    assert list(selectors.orders(a, OrderFilter(q="山田"))) == [pay_a.order]
