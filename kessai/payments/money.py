"""Money is ``int`` yen, tax included. No floats, no Decimal."""

from __future__ import annotations

from collections.abc import Iterable

MAX_AMOUNT = 9_999_999  # what every supported provider accepts as one order total


def format_yen(amount: int) -> str:
    """``13824`` → ``¥13,824``; negative amounts keep the sign in front: ``-¥500``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"


def line_total(unit_price: int, quantity: int) -> int:
    return unit_price * quantity


def lines_total(lines: Iterable[tuple[int, int]]) -> int:
    """Σ unit_price × quantity — what ``Order.amount`` must equal."""
    return sum(line_total(price, qty) for price, qty in lines)


def tax_included(net: int, rate_percent: int) -> int:
    """The one place tax is rounded: floor, as most Japanese shops and carts do (切り捨て)."""
    return net + (net * rate_percent) // 100
