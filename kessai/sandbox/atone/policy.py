"""Kessai's decisions for the emulator, each named in one place (protocol note, "Kessai's decisions").

- Test-environment outcomes (decision 3): a customer name containing 「NPテスト」 is 与信NG reason 9;
  an amount above the buyer limit is 与信NG reason 1 (金額超過); everything else is 与信OK.
- 仮売上 expires after 90 days; a transaction can be updated (取引更新) for 120 days (decision 5).
  Both count JST calendar days from the registration day (day 0): settle works through day 90,
  update through day 120.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import IntEnum

NG_TEST_MARKER = "NPテスト"
AUTHORIZATION_VALID_DAYS = 90
UPDATE_WINDOW_DAYS = 120


class AuthorizationResult(IntEnum):
    OK = 1
    NG = 2


class NgReason(IntEnum):
    AMOUNT_OVER_LIMIT = 1  # 金額超過
    OTHER = 9  # その他


@dataclass(frozen=True)
class Screening:
    result: AuthorizationResult
    ng_reason: NgReason | None = None


def screen(customer_name: str, amount: int, buyer_limit: int) -> Screening:
    """The credit decision (与信). Names are compared after NFKC, so 「ＮＰテスト」 also matches."""
    if NG_TEST_MARKER in unicodedata.normalize("NFKC", customer_name):
        return Screening(AuthorizationResult.NG, NgReason.OTHER)
    if amount > buyer_limit:
        return Screening(AuthorizationResult.NG, NgReason.AMOUNT_OVER_LIMIT)
    return Screening(AuthorizationResult.OK)
