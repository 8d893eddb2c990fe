"""Balances recomputed from the append-only operation history.

The stored ``amount`` / ``captured_amount`` / ``refunded_amount`` of a payment come from the
provider's answers; replaying the succeeded operations must give the same numbers (a property
test proves it, and ``services`` flags a payment 要確認 when they disagree).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kessai.payments.state import Action


class OperationLike(Protocol):
    kind: str
    amount: int
    result: str
    data: Any


@dataclass(frozen=True)
class Balances:
    amount: int = 0
    captured: int = 0
    refunded: int = 0


def replay(operations: Iterable[OperationLike], *, initial_amount: int = 0) -> Balances:
    amount, captured, refunded = initial_amount, 0, 0
    for op in operations:
        kind = Action(op.kind)
        if kind in (Action.AUTHORIZE, Action.CHARGE):
            amount = op.amount  # the requested amount, even when the screening said NG
        if op.result != "succeeded":
            continue
        data = op.data or {}
        if kind in (Action.AUTHORIZE, Action.CHARGE):
            if data.get("captured"):
                captured = op.amount
        elif kind is Action.CAPTURE:
            captured = op.amount
        elif kind is Action.CHANGE_AMOUNT:
            amount = op.amount
            if captured:
                captured = op.amount
        elif kind is Action.REFUND:
            refunded += op.amount
        elif kind is Action.CANCEL:
            refunded = captured
        elif kind is Action.REPORT_SHIPMENT:
            if data.get("captured"):
                captured = amount
        elif kind is Action.REFRESH and "balances" in data:
            b = data["balances"]
            amount, captured, refunded = int(b["amount"]), int(b["captured"]), int(b["refunded"])
    return Balances(amount=amount, captured=captured, refunded=refunded)
