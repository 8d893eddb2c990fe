"""Fee tiers: validation and lookup, property-tested."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.shops.fees import FeeTierError, fee_for, parse_tiers


def test_gmo_style_single_tier() -> None:
    tiers = parse_tiers([{"min_amount": 1, "max_amount": 999_999, "fee": 205}])
    assert fee_for(tiers, 13824) == 205
    assert fee_for(tiers, 1_000_000) is None


def test_overlap_is_refused_with_a_japanese_message() -> None:
    with pytest.raises(FeeTierError) as exc:
        parse_tiers(
            [
                {"min_amount": 1, "max_amount": 10000, "fee": 200},
                {"min_amount": 9000, "max_amount": 20000, "fee": 300},
            ]
        )
    assert exc.value.message == "金額帯が重複しています(1〜10,000円と9,000〜20,000円)。"
    assert (exc.value.index, exc.value.field) == (1, "min_amount")


def test_gap_is_refused_unless_intended() -> None:
    rows = [
        {"min_amount": 1, "max_amount": 10000, "fee": 200},
        {"min_amount": 20001, "max_amount": 30000, "fee": 300},
    ]
    with pytest.raises(FeeTierError, match="10,001〜20,000円の手数料が未設定です"):
        parse_tiers(rows)
    assert len(parse_tiers(rows, allow_gaps=True)) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"min_amount": 0, "max_amount": 10, "fee": 1}, "下限金額は1円以上で入力してください。"),
        ({"min_amount": 10, "max_amount": 5, "fee": 1}, "上限金額は下限金額以上で入力してください。"),
        ({"min_amount": 1, "max_amount": 5, "fee": -1}, "手数料は0円以上で入力してください。"),
        ({"min_amount": 1, "max_amount": 5, "fee": 1.5}, "手数料は半角数字(円)で入力してください。"),
    ],
)
def test_field_rules(row: dict[str, object], message: str) -> None:
    with pytest.raises(FeeTierError) as exc:
        parse_tiers([row])
    assert exc.value.message == message


boundaries = st.lists(st.integers(min_value=2, max_value=9_999_999), min_size=0, max_size=8, unique=True)


@given(
    cuts=boundaries,
    fees=st.lists(st.integers(min_value=0, max_value=1000), min_size=9, max_size=9),
    amount=st.integers(min_value=1, max_value=9_999_999),
)
def test_contiguous_tiers_map_every_amount_to_exactly_one_fee(cuts: list[int], fees: list[int], amount: int) -> None:
    edges = [1, *sorted(cuts), 10_000_000]
    rows = [
        {"min_amount": lo, "max_amount": hi - 1, "fee": fees[i]} for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    tiers = parse_tiers(list(reversed(rows)))

    covering = [t for t in tiers if t.covers(amount)]
    assert len(covering) == 1
    assert fee_for(tiers, amount) == covering[0].fee


@given(
    rows=st.lists(st.tuples(st.integers(1, 1000), st.integers(0, 200), st.integers(0, 500)), max_size=6),
    amount=st.integers(1, 1300),
)
def test_any_accepted_tier_set_maps_each_amount_to_at_most_one_tier(
    rows: list[tuple[int, int, int]], amount: int
) -> None:
    raw = [{"min_amount": lo, "max_amount": lo + width, "fee": fee} for lo, width, fee in rows]
    try:
        tiers = parse_tiers(raw, allow_gaps=True)
    except FeeTierError:
        return
    assert sum(1 for t in tiers if t.covers(amount)) <= 1
