"""手数料 as buyers read it: one wording for the checkout, the API, the snippets and the mails.

The amounts come from ``payments.orders.quote_fee`` / ``fee_tiers`` — the same functions that put the fee
line on an order — so what a page says is what the order is charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kessai.payments.orders import FEE_LINE_NAME, fee_tiers, quote_fee
from kessai.shops.fees import FeeTier
from kessai.shops.models import Shop


def yen(amount: int) -> str:
    return f"{amount:,}円"


@dataclass(frozen=True)
class FeeInfo:
    label: str
    tiers: tuple[FeeTier, ...]
    amount: int | None = None  # the fee for the order amount asked about (None: not covered)
    for_amount: int | None = None

    @property
    def free(self) -> bool:
        return all(t.fee == 0 for t in self.tiers)

    @property
    def text(self) -> str:
        """「決済手数料: 205円(税込)」, or per price range when the tiers differ."""
        return f"{self.label}: {tier_text(self.tiers)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "text": self.text,
            "tax_included": True,
            "tiers": [t.as_dict() for t in self.tiers],
            "for_amount": self.for_amount,
            "amount": self.amount,
            "available": self.for_amount is None or self.amount is not None,
        }


def tier_text(tiers: tuple[FeeTier, ...]) -> str:
    if len(tiers) == 1:
        only = tiers[0]
        return f"{yen(only.fee)}(税込、{yen(only.min_amount)}〜{yen(only.max_amount)}のご注文)"
    rows = [f"{yen(t.min_amount)}〜{yen(t.max_amount)}のご注文 {yen(t.fee)}" for t in tiers]
    return " / ".join(rows) + "(税込)"


def fee_info(shop: Shop, provider: str, amount: int | None = None) -> FeeInfo | None:
    """The shop's 手数料設定 for a provider (None: no fee is charged). With ``amount`` (Σ the order's lines
    without a fee line), also the fee that order would be charged — None when no tier covers it."""
    tiers = fee_tiers(shop, provider)
    if tiers is None:
        return None
    charged = quote_fee(shop, provider, amount) if amount is not None else None
    return FeeInfo(label=FEE_LINE_NAME, tiers=tiers, amount=charged, for_amount=amount)
