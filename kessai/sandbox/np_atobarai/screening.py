"""与信審査 (screening) of the emulator: deterministic outcomes from the order data.

The note has no public magic values [gap]; its emulator-only proposal is the rule here (§1.7). The buyer's
and the destination's addresses are NFKC-normalised, then:

1. 「審査」 in an address → ``40`` (審査中); the final result (rules 2–4) is kept and given out later, on the
   configured ``authorizations/find`` lookup or after the configured seconds (or by the control endpoint);
2. ``NG`` (any case) in an address → ``20`` with ``NG999``; an amount over the credit limit → ``20`` with
   ``NG001``;
3. 「保留」 in the buyer's address → ``10`` with ``RE009`` (billing address incomplete); in the destination's
   address → ``10`` with ``RE015`` (delivery address incomplete);
4. otherwise ``00``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OK = "00"
HOLD = "10"
NG = "20"
REVIEW = "40"
RESULTS = (OK, HOLD, NG, REVIEW)

NG_OVER_LIMIT = "NG001"
NG_INSUFFICIENT = "NG002"
NG_OTHER = "NG999"
NG_CODES = (NG_OVER_LIMIT, NG_INSUFFICIENT, NG_OTHER)

HOLD_BILLING_ADDRESS = "RE009"
HOLD_DELIVERY_ADDRESS = "RE015"
HOLD_CODES = ("RE009", "RE014", "RE015", "RE020", "RE021", "RE023", "RE026")

REVIEW_TRIGGER = "審査"
NG_TRIGGER = "NG"
HOLD_TRIGGER = "保留"


@dataclass(frozen=True)
class Outcome:
    result: str
    ng: str | None = None
    hold: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"authori_result": self.result}
        if self.ng:
            data["authori_ng"] = self.ng
        if self.hold:
            data["authori_hold"] = list(self.hold)
        return data


def _address(party: Mapping[str, Any] | None) -> str:
    if not party:
        return ""
    value = party.get("address")
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else ""


def final(customer: Mapping[str, Any], dest: Mapping[str, Any] | None, amount: int, credit_limit: int) -> Outcome:
    billing, delivery = _address(customer), _address(dest)
    if NG_TRIGGER in billing.upper() or NG_TRIGGER in delivery.upper():
        return Outcome(NG, ng=NG_OTHER)
    if amount > credit_limit:
        return Outcome(NG, ng=NG_OVER_LIMIT)
    holds = []
    if HOLD_TRIGGER in billing:
        holds.append(HOLD_BILLING_ADDRESS)
    if HOLD_TRIGGER in delivery:
        holds.append(HOLD_DELIVERY_ADDRESS)
    if holds:
        return Outcome(HOLD, hold=tuple(holds))
    return Outcome(OK)


def screen(
    customer: Mapping[str, Any], dest: Mapping[str, Any] | None, amount: int, credit_limit: int
) -> tuple[Outcome, Outcome | None]:
    """``(answer now, final outcome kept for later)``; the second is None unless the answer is 40."""
    outcome = final(customer, dest, amount, credit_limit)
    if REVIEW_TRIGGER in _address(customer) or REVIEW_TRIGGER in _address(dest):
        return Outcome(REVIEW), outcome
    return outcome, None
