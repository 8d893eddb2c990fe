"""手数料設定: price-range fee tiers (tax included). Pure functions, property-tested.

A tier covers ``min_amount ≤ order amount ≤ max_amount`` (both inclusive, yen) and charges ``fee``.
Tiers may not overlap; gaps between tiers are refused unless the caller says they are intended
(an amount in a gap has no fee rule — the payment method cannot be used for it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_TIER_AMOUNT = 9_999_999


@dataclass(frozen=True, order=True)
class FeeTier:
    min_amount: int
    max_amount: int
    fee: int

    def covers(self, amount: int) -> bool:
        return self.min_amount <= amount <= self.max_amount

    def as_dict(self) -> dict[str, int]:
        return {"min_amount": self.min_amount, "max_amount": self.max_amount, "fee": self.fee}


class FeeTierError(ValueError):
    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field
        self.message = message


def _as_int(value: object, index: int, field: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeeTierError(index, field, f"{label}は半角数字(円)で入力してください。")
    return value


def parse_tiers(raw: Iterable[Mapping[str, object]], *, allow_gaps: bool = False) -> tuple[FeeTier, ...]:
    """Validate and sort tiers. Raises ``FeeTierError`` naming the offending tier and field."""
    tiers: list[tuple[int, FeeTier]] = []
    for index, row in enumerate(raw):
        low = _as_int(row.get("min_amount"), index, "min_amount", "下限金額")
        high = _as_int(row.get("max_amount"), index, "max_amount", "上限金額")
        fee = _as_int(row.get("fee"), index, "fee", "手数料")
        if low < 1:
            raise FeeTierError(index, "min_amount", "下限金額は1円以上で入力してください。")
        if high > MAX_TIER_AMOUNT:
            raise FeeTierError(index, "max_amount", f"上限金額は{MAX_TIER_AMOUNT:,}円以下で入力してください。")
        if high < low:
            raise FeeTierError(index, "max_amount", "上限金額は下限金額以上で入力してください。")
        if fee < 0:
            raise FeeTierError(index, "fee", "手数料は0円以上で入力してください。")
        tiers.append((index, FeeTier(low, high, fee)))
    tiers.sort(key=lambda pair: pair[1])
    for (_, previous), (index, tier) in itertools.pairwise(tiers):
        if tier.min_amount <= previous.max_amount:
            raise FeeTierError(
                index,
                "min_amount",
                f"金額帯が重複しています({previous.min_amount:,}〜{previous.max_amount:,}円と"
                f"{tier.min_amount:,}〜{tier.max_amount:,}円)。",
            )
        if not allow_gaps and tier.min_amount != previous.max_amount + 1:
            raise FeeTierError(
                index,
                "min_amount",
                f"{previous.max_amount + 1:,}〜{tier.min_amount - 1:,}円の手数料が未設定です。",
            )
    return tuple(tier for _, tier in tiers)


def fee_for(tiers: Sequence[FeeTier], amount: int) -> int | None:
    """The fee for an order amount, or None when no tier covers it."""
    for tier in tiers:
        if tier.covers(amount):
            return tier.fee
    return None
