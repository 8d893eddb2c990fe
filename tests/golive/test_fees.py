"""手数料: every amount inside the tiers has exactly one fee (pure and through the stored 手数料設定), and
the fee line keeps ``Order.amount`` = Σ lines — whatever method is chosen, in whatever order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kessai.payments import services
from kessai.payments.models import Order, Payment
from kessai.payments.orders import FEE_LINE_NAME, FEE_SKU, plan_fee_line, quote_fee
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.fees import MAX_TIER_AMOUNT, FeeTier, fee_for, parse_tiers
from tests import factories
from tests.fakes.provider import install

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DB_PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def tier_rows(draw: st.DrawFn, *, gaps: bool = False) -> list[dict[str, int]]:
    """Non-overlapping tiers — contiguous, or with ``gaps`` between them — in a shuffled order."""
    count = draw(st.integers(min_value=1, max_value=6))
    rows = []
    if gaps:
        points = sorted(
            draw(st.sets(st.integers(min_value=1, max_value=200_000), min_size=2 * count, max_size=2 * count))
        )
        bounds = list(zip(points[::2], points[1::2], strict=True))
    else:
        cuts = sorted(draw(st.sets(st.integers(min_value=2, max_value=200_000), min_size=count, max_size=count)))
        lows = [draw(st.integers(min_value=1, max_value=cuts[0] - 1))] + [cut + 1 for cut in cuts[:-1]]
        bounds = list(zip(lows, cuts, strict=True))
    for low, high in bounds:
        rows.append({"min_amount": low, "max_amount": high, "fee": draw(st.integers(min_value=0, max_value=2_000))})
    return draw(st.permutations(rows))


def covering(rows: list[dict[str, int]], amount: int) -> list[dict[str, int]]:
    return [r for r in rows if r["min_amount"] <= amount <= r["max_amount"]]


@PROPERTY
@given(rows=tier_rows(), data=st.data())
def test_every_amount_in_range_maps_to_exactly_one_fee(rows: list[dict[str, int]], data: st.DataObject) -> None:
    tiers = parse_tiers(rows)
    low, high = tiers[0].min_amount, tiers[-1].max_amount
    amount = data.draw(st.integers(min_value=low, max_value=high))
    (only,) = covering(rows, amount)
    assert fee_for(tiers, amount) == only["fee"]
    outside = data.draw(st.sampled_from([low - 1, high + 1]))
    assert fee_for(tiers, outside) is None


@PROPERTY
@given(rows=tier_rows(), extra=st.integers(min_value=1, max_value=100_000))
def test_overlapping_tiers_are_refused(rows: list[dict[str, int]], extra: int) -> None:
    tiers = parse_tiers(rows)
    victim = tiers[-1]
    overlapping = [*rows, {"min_amount": victim.max_amount, "max_amount": victim.max_amount + extra, "fee": 1}]
    with pytest.raises(ValueError, match="重複"):
        parse_tiers(overlapping)


@pytest.mark.django_db
@DB_PROPERTY
@given(rows=tier_rows(gaps=True), data=st.data())
def test_stored_fee_rule_quotes_exactly_one_fee_or_none_in_a_gap(
    rows: list[dict[str, int]], data: st.DataObject
) -> None:
    install()
    shop = factories.shop()
    shop_services.set_fee_rule(shop, "fake", rows, allow_gaps=True)
    low = min(r["min_amount"] for r in rows)
    high = max(r["max_amount"] for r in rows)
    for amount in data.draw(st.lists(st.integers(min_value=max(1, low - 3), max_value=high + 3), max_size=25)):
        matches = covering(rows, amount)
        assert len(matches) <= 1
        assert quote_fee(shop, "fake", amount) == (matches[0]["fee"] if matches else None)
    assert quote_fee(factories.shop("手数料設定なし"), "fake", low) == 0


def test_gaps_are_refused_unless_intended() -> None:
    rows = [{"min_amount": 1, "max_amount": 999, "fee": 205}, {"min_amount": 1_001, "max_amount": 9_999, "fee": 330}]
    with pytest.raises(ValueError, match="1,000〜1,000円の手数料が未設定です"):
        parse_tiers(rows)
    assert parse_tiers(rows, allow_gaps=True)[1] == FeeTier(1_001, 9_999, 330)


# --------------------------------------------------------------------------- the fee line (pure)

LINE = st.fixed_dictionaries(
    {
        "sku": st.sampled_from(["P-1", "P-2", "ship", "discount"]),
        "name": st.just("商品"),
        "unit_price": st.integers(min_value=-2_000, max_value=60_000),
        "quantity": st.integers(min_value=1, max_value=5),
    }
)
CART = st.lists(LINE, min_size=1, max_size=6).filter(
    lambda lines: sum(i["unit_price"] * i["quantity"] for i in lines) > 0
)
ONE_TIER = [{"min_amount": 1, "max_amount": MAX_TIER_AMOUNT, "fee": 205}]


def total(lines: list[dict[str, Any]]) -> int:
    return sum(i["unit_price"] * i["quantity"] for i in lines)


@PROPERTY
@given(cart=CART, providers=st.lists(tier_rows(), min_size=1, max_size=4))
def test_amount_is_the_sum_of_the_lines_after_any_sequence_of_methods(
    cart: list[dict[str, Any]], providers: list[list[dict[str, int]]]
) -> None:
    items, fee = cart, 0
    for rows in [*providers, ONE_TIER]:
        tiers = parse_tiers(rows)
        base = total(cart)
        expected = fee_for(tiers, base)
        if expected is None:
            with pytest.raises(ValidationFailed) as refused:
                plan_fee_line(items, fee, tiers)
            assert refused.value.code == "no_fee_tier"
            continue
        plan = plan_fee_line(items, fee, tiers)
        assert plan.amount == total(plan.items)
        assert (plan.fee, plan.base_amount) == (expected, base)
        ours = [i for i in plan.items if i["sku"] == FEE_SKU]
        assert ours == (
            [{"sku": FEE_SKU, "name": FEE_LINE_NAME, "unit_price": expected, "quantity": 1}] if expected else []
        )
        assert [i for i in plan.items if i["sku"] != FEE_SKU] == cart  # the cart's lines are untouched
        assert plan_fee_line(plan.items, plan.fee, tiers) == plan  # applying twice changes nothing
        items, fee = plan.items, plan.fee
    assert fee == 205


@PROPERTY
@given(cart=CART)
def test_a_cart_that_sends_its_own_fee_line_is_left_alone(cart: list[dict[str, Any]]) -> None:
    own = [*cart, {"sku": FEE_SKU, "name": "代引手数料", "unit_price": 330, "quantity": 1}]
    plan = plan_fee_line(own, 0, parse_tiers(ONE_TIER))
    assert plan.cart_fee
    assert (plan.items, plan.amount, plan.fee) == (own, total(own), 0)


# --------------------------------------------------------------------------- the fee line through start_payment


@pytest.mark.django_db
@DB_PROPERTY
@given(cart=CART, rows=tier_rows())
def test_starting_a_payment_adds_the_fee_line_and_the_amount_follows(
    cart: list[dict[str, Any]], rows: list[dict[str, int]]
) -> None:
    install()
    shop = factories.shop()
    method = factories.fake_method(shop)
    shop_services.set_fee_rule(shop, "fake", rows)
    base = total(cart)
    order = factories.order(shop, amount=base, items=cart)
    fee = quote_fee(shop, "fake", base)
    if fee is None or base + fee > 500_000:  # no tier, or above the fake provider's limit: refused, unchanged
        with pytest.raises(ValidationFailed):
            services.start_payment(order, method_ref=method.id, actor="prop")
        order.refresh_from_db()
        assert (order.items, order.amount, order.fee) == (cart, base, 0)
        assert not Payment.objects.filter(order=order).exists()
        return
    payment = services.start_payment(order, method_ref=method.id, actor="prop").payment
    order.refresh_from_db()
    assert order.amount == total(order.items) == payment.amount == base + fee
    assert order.fee == fee


@pytest.mark.django_db
def test_switching_methods_replaces_the_fee_line(fake_ledger) -> None:
    shop = factories.shop()
    cheap = factories.fake_method(shop, code="fake")
    order = factories.order(shop)
    shop_services.set_fee_rule(shop, "fake", [{"min_amount": 1, "max_amount": 99_999, "fee": 205}])
    fake_ledger.script.append("decline")
    with pytest.raises(Exception, match="与信NG"):
        services.start_payment(order, method_ref=cheap.id, actor="test")
    order.refresh_from_db()
    assert (order.amount, order.fee, order.items[-1]["unit_price"]) == (13824 + 205, 205, 205)

    shop_services.set_fee_rule(shop, "fake", [{"min_amount": 1, "max_amount": 99_999, "fee": 330}])
    retry = services.start_payment(order, method_ref=cheap.id, actor="test").payment
    order.refresh_from_db()
    assert [i["sku"] for i in order.items] == ["P-1", "ship", "fee"]
    assert (order.amount, order.fee, retry.amount) == (13824 + 330, 330, 13824 + 330)
    assert Order.objects.get(pk=order.pk).amount == sum(i["unit_price"] * i["quantity"] for i in order.items)
