"""The emulator's in-memory state: transactions, the movement log and the request log.

Every read and write happens under ``Store.lock`` (one re-entrant lock for the whole emulator).

A transaction has a screening result (``authori_result`` 00/10/20/40, see :mod:`.screening`) and a
lifecycle, moved only by :func:`next_state` over the table :data:`TRANSITIONS`; every move not in the table
is refused with the code the caller should see::

    open ─update→ open (re-screened)        open ─shipment→ shipped         open | shipped ─cancel→ cancelled
    shipped ─reregister→ reregistered (the base; the new transaction starts open)

Refusals (besides the table): a shipment needs screening 00 (EKSB0301); cancel and reregister are refused
once the buyer has paid (E0100114) or the goods were returned to the merchant (E0100131).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kessai.sandbox.np_atobarai import codes
from kessai.sandbox.np_atobarai.clock import Clock, isoformat
from kessai.sandbox.np_atobarai.config import MerchantConfig, NpSandboxConfig
from kessai.sandbox.np_atobarai.faults import FaultSettings
from kessai.sandbox.np_atobarai.screening import OK, Outcome


class Refused(Exception):
    """One item is refused with these NP codes (the envelope goes on with the other items)."""

    def __init__(self, *item_codes: str) -> None:
        super().__init__(", ".join(item_codes))
        self.codes = list(item_codes)


class Life(StrEnum):
    OPEN = "open"  # registered, not shipped
    SHIPPED = "shipped"  # 出荷報告済み (NP bills the buyer)
    CANCELLED = "cancelled"  # 取引キャンセル
    REREGISTERED = "reregistered"  # replaced by a re-registration (cancelled at NP)


class Event(StrEnum):
    UPDATE = "update"
    SHIPMENT = "shipment"
    CANCEL = "cancel"
    REREGISTER = "reregister"


TRANSITIONS: dict[tuple[Life, Event], Life] = {
    (Life.OPEN, Event.UPDATE): Life.OPEN,
    (Life.OPEN, Event.SHIPMENT): Life.SHIPPED,
    (Life.OPEN, Event.CANCEL): Life.CANCELLED,
    (Life.SHIPPED, Event.CANCEL): Life.CANCELLED,
    (Life.SHIPPED, Event.REREGISTER): Life.REREGISTERED,
}

REFUSALS: dict[tuple[Life, Event], str] = {
    (Life.OPEN, Event.REREGISTER): codes.NOT_SHIPPED,
    (Life.SHIPPED, Event.UPDATE): codes.ALREADY_SHIPPED,
    (Life.SHIPPED, Event.SHIPMENT): codes.ALREADY_SHIPPED,
    (Life.REREGISTERED, Event.REREGISTER): codes.ALREADY_REREGISTERED,
}


def next_state(current: Life, event: Event) -> Life:
    """The lifecycle after ``event``, or :class:`Refused` with NP's code."""
    target = TRANSITIONS.get((current, event))
    if target is not None:
        return target
    refusal = REFUSALS.get((current, event))
    if refusal is not None:
        raise Refused(refusal)
    raise Refused(codes.ALREADY_CANCELLED)  # every other move of a cancelled / re-registered transaction


@dataclass
class Transaction:
    np_transaction_id: str
    merchant: str  # merchant_code of the owner
    shop_transaction_id: str
    shop_order_date: str
    settlement_type: str
    billed_amount: int
    customer: dict[str, Any]
    dest_customer: dict[str, Any] | None
    goods: list[dict[str, Any]]
    outcome: Outcome  # the current screening answer
    registered_at: datetime
    screened_at: datetime
    deferred: Outcome | None = None  # the final result of a 40, given out later
    review_lookups: int = 0
    authori_required_date: datetime | None = None  # when the result was fixed (None while 40)
    life: Life = Life.OPEN
    shipment: dict[str, Any] | None = None
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None
    paid_at: datetime | None = None
    returned_at: datetime | None = None
    base_np_transaction_id: str | None = None
    reregistered_to: str | None = None
    generation: int = 0  # 0 for a registration, +1 per re-registration of the chain
    terminal_id: str | None = None

    @property
    def payment_status(self) -> str:
        """支払状況: "20" paid [C]; "10" shipped and unpaid, "00" not shipped yet [I: the emulator's values]."""
        if self.paid_at is not None:
            return "20"
        return "10" if self.shipped_at is not None else "00"

    def screening_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "np_transaction_id": self.np_transaction_id,
            "shop_transaction_id": self.shop_transaction_id,
            **self.outcome.to_json(),
            "authori_required_date": isoformat(self.authori_required_date) if self.authori_required_date else None,
        }
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            **self.screening_json(),
            "shop_order_date": self.shop_order_date,
            "settlement_type": self.settlement_type,
            "billed_amount": self.billed_amount,
            "customer": self.customer,
            "dest_customer": self.dest_customer,
            "goods": self.goods,
            "life": self.life.value,
            "payment_status": self.payment_status,
            "shipment": self.shipment,
            "registered_at": isoformat(self.registered_at),
            "shipped_at": isoformat(self.shipped_at) if self.shipped_at else None,
            "cancelled_at": isoformat(self.cancelled_at) if self.cancelled_at else None,
            "paid_at": isoformat(self.paid_at) if self.paid_at else None,
            "returned_at": isoformat(self.returned_at) if self.returned_at else None,
            "base_np_transaction_id": self.base_np_transaction_id,
            "reregistered_to": self.reregistered_to,
            "generation": self.generation,
            "review_lookups": self.review_lookups,
            "deferred": self.deferred.to_json() if self.deferred else None,
        }

    @property
    def authorized(self) -> bool:
        return self.outcome.result == OK


class MovementKind(StrEnum):
    REGISTER = "register"
    UPDATE = "update"
    CANCEL = "cancel"
    SHIPMENT = "shipment"
    REREGISTER = "reregister"


@dataclass(frozen=True)
class Movement:
    seq: int
    at: datetime
    kind: MovementKind
    np_transaction_id: str
    amount: int

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "kind": self.kind.value,
            "np_transaction_id": self.np_transaction_id,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    at: datetime
    method: str
    path: str
    status: int | None  # None: the connection was dropped
    items: int
    codes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "items": self.items,
            "codes": list(self.codes),
            "dropped": self.status is None,
        }


@dataclass
class Settings:
    """The knobs the control endpoint may change at run time (start values come from the config)."""

    credit_limit: int
    review_resolve_lookups: int | None
    review_resolve_seconds: float | None
    hold_expires_seconds: float | None
    max_reregistrations: int

    @classmethod
    def from_config(cls, config: NpSandboxConfig) -> Settings:
        return cls(
            credit_limit=config.credit_limit,
            review_resolve_lookups=config.review_resolve_lookups,
            review_resolve_seconds=config.review_resolve_seconds,
            hold_expires_seconds=config.hold_expires_seconds,
            max_reregistrations=config.max_reregistrations,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "credit_limit": self.credit_limit,
            "review_resolve_lookups": self.review_resolve_lookups,
            "review_resolve_seconds": self.review_resolve_seconds,
            "hold_expires_seconds": self.hold_expires_seconds,
            "max_reregistrations": self.max_reregistrations,
        }


class Store:
    """All mutable state of one emulator, guarded by ``lock``."""

    def __init__(self, config: NpSandboxConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.clock = Clock(config.now, config.clock_offset_seconds)
        self.faults = FaultSettings(seed=config.random_seed)
        self.settings = Settings.from_config(config)
        self.merchants: dict[str, MerchantConfig] = {}
        self.transactions: dict[str, Transaction] = {}
        self.movements: list[Movement] = []
        self.requests: list[RequestRecord] = []
        self._sequence = 0
        self.reset()

    def reset(self) -> None:
        """Back to the configuration the emulator was created with."""
        with self.lock:
            self.clock.offset_seconds = self.config.clock_offset_seconds
            self.faults = FaultSettings(seed=self.config.random_seed)
            self.settings = Settings.from_config(self.config)
            self.merchants = {m.merchant_code: m for m in self.config.merchants}
            self.transactions = {}
            self.movements = []
            self.requests = []
            self._sequence = 0

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        """11 digits: YYMMDD (JST) + a 5-digit sequence (E0100003 says NP ids are 11 digits)."""
        self._sequence += 1
        return self.now().strftime("%y%m%d") + f"{self._sequence % 100_000:05d}"

    def transaction_for(self, merchant: MerchantConfig, np_transaction_id: str) -> Transaction:
        """The merchant's transaction; another merchant's id is answered exactly like an unknown one."""
        tx = self.transactions.get(np_transaction_id)
        if tx is None or tx.merchant != merchant.merchant_code:
            raise Refused(codes.NOT_FOUND)
        return tx

    def record_movement(self, kind: MovementKind, tx: Transaction) -> None:
        self.movements.append(
            Movement(
                seq=len(self.movements) + 1,
                at=self.now(),
                kind=kind,
                np_transaction_id=tx.np_transaction_id,
                amount=tx.billed_amount,
            )
        )

    def record_request(
        self, method: str, path: str, status: int | None, items: int, item_codes: tuple[str, ...]
    ) -> None:
        with self.lock:
            self.requests.append(
                RequestRecord(
                    seq=len(self.requests) + 1,
                    at=self.now(),
                    method=method,
                    path=path,
                    status=status,
                    items=items,
                    codes=item_codes,
                )
            )

    def movement_counts(self, np_transaction_id: str) -> dict[str, int]:
        counts = {kind.value: 0 for kind in MovementKind}
        for movement in self.movements:
            if movement.np_transaction_id == np_transaction_id:
                counts[movement.kind.value] += 1
        return counts

    def ledger(self) -> dict[str, Any]:
        """Every transaction with its sandbox-side facts, plus the movement log."""
        with self.lock:
            return {
                "now": isoformat(self.now()),
                "transactions": [
                    {
                        "transaction": tx.to_json(),
                        "merchant": tx.merchant,
                        "state": tx.life.value,
                        "authori_result": tx.outcome.result,
                        "terminal_id": tx.terminal_id,
                        "movements": self.movement_counts(tx.np_transaction_id),
                    }
                    for tx in self.transactions.values()
                ],
                "movements": [m.to_json() for m in self.movements],
            }
