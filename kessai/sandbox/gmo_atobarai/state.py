"""The GMO後払い emulator's in-memory state: transactions, the movement log, the request log.

Every read and write happens under ``Store.lock``. The transaction state machine is the table
:data:`TRANSITIONS` plus :func:`next_state`, which refuses every move not in it with the NG the caller
should see::

    authorized (OK) | in_review (審査中) | declined (NG) ─modify (updateKind 1)→ re-screened: OK | 審査中 | NG
    authorized ─pdrequest (出荷報告)→ shipped ─modifycancelpdrequest 2→ authorized
    shipped ─modifycancelpdrequest 1→ shipped (another carrier / slip)
    any but cancelled ─cancel (updateKind 2)→ cancelled
    in_review ─getauthor (the resolving lookup) or /_sandbox/…/resolve→ authorized | declined
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kessai.sandbox.atone.clock import Clock, isoformat
from kessai.sandbox.gmo_atobarai import codes
from kessai.sandbox.gmo_atobarai.config import GmoSandboxConfig, ShopConfig
from kessai.sandbox.gmo_atobarai.faults import FaultSettings
from kessai.sandbox.gmo_atobarai.screening import AuthorResult


class TxState(StrEnum):
    AUTHORIZED = "authorized"  # 与信OK
    IN_REVIEW = "in_review"  # 審査中
    DECLINED = "declined"  # 与信NG
    SHIPPED = "shipped"  # 出荷報告済み (billed)
    CANCELLED = "cancelled"


class Event(StrEnum):
    MODIFY = "modify"
    CANCEL = "cancel"
    SHIP = "ship"
    SHIP_MODIFY = "ship_modify"
    SHIP_CANCEL = "ship_cancel"


RESCREEN = "rescreen"  # the target of a modification: decided by a new screening

TRANSITIONS: dict[tuple[TxState, Event], TxState | str] = {
    (TxState.AUTHORIZED, Event.MODIFY): RESCREEN,
    (TxState.IN_REVIEW, Event.MODIFY): RESCREEN,
    (TxState.DECLINED, Event.MODIFY): RESCREEN,
    (TxState.AUTHORIZED, Event.CANCEL): TxState.CANCELLED,
    (TxState.IN_REVIEW, Event.CANCEL): TxState.CANCELLED,
    (TxState.DECLINED, Event.CANCEL): TxState.CANCELLED,
    (TxState.SHIPPED, Event.CANCEL): TxState.CANCELLED,
    (TxState.AUTHORIZED, Event.SHIP): TxState.SHIPPED,
    (TxState.SHIPPED, Event.SHIP_MODIFY): TxState.SHIPPED,
    (TxState.SHIPPED, Event.SHIP_CANCEL): TxState.AUTHORIZED,
}

REFUSALS: dict[tuple[TxState, Event], tuple[str, str]] = {
    (TxState.SHIPPED, Event.SHIP): codes.ALREADY_SHIPPED,
    (TxState.SHIPPED, Event.MODIFY): codes.SHIPPED_NOT_MODIFIABLE,
    (TxState.IN_REVIEW, Event.SHIP): codes.NOT_SHIPPABLE,
    (TxState.DECLINED, Event.SHIP): codes.NOT_SHIPPABLE,
}


def next_state(current: TxState, event: Event) -> TxState | str:
    """The state after ``event`` (or :data:`RESCREEN`), or the NG refusing it."""
    target = TRANSITIONS.get((current, event))
    if target is not None:
        return target
    if current is TxState.CANCELLED:
        raise codes.ng(codes.ALREADY_CANCELLED)
    refusal = REFUSALS.get((current, event), codes.NOT_SHIPPED)
    raise codes.ng(refusal)


STATE_BY_RESULT: dict[AuthorResult, TxState] = {
    AuthorResult.OK: TxState.AUTHORIZED,
    AuthorResult.NG: TxState.DECLINED,
    AuthorResult.IN_REVIEW: TxState.IN_REVIEW,
}


@dataclass
class ShipmentRecord:
    pdcompanycode: str
    slipno: str
    invoice_issue_date: str
    reported_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "pdcompanycode": self.pdcompanycode,
            "slipno": self.slipno,
            "invoiceIssueDate": self.invoice_issue_date,
            "reported_at": isoformat(self.reported_at),
        }


@dataclass
class Transaction:
    id: str  # gmoTransactionId
    shop: str  # authentication_id:shop_code
    shop_transaction_id: str
    state: TxState
    author_result: AuthorResult  # the latest screening answer (審査中 until resolved)
    final_result: AuthorResult  # what a 審査中 resolves to
    reason: str
    amount: int
    payment_type: str
    email: str
    buyer: dict[str, Any]
    deliveries: Any
    registered_at: datetime
    lookups: int = 0  # getauthor.do calls while 審査中
    shipment: ShipmentRecord | None = None
    modified_at: datetime | None = None
    cancelled_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "gmoTransactionId": self.id,
            "shopTransactionId": self.shop_transaction_id,
            "state": self.state.value,
            "authorResult": self.author_result.value,
            "pending_result": self.final_result.value if self.state is TxState.IN_REVIEW else None,
            "reason": self.reason,
            "billedAmount": self.amount,
            "paymentType": self.payment_type,
            "email1": self.email,
            "buyer": self.buyer,
            "deliveries": self.deliveries,
            "registered_at": isoformat(self.registered_at),
            "modified_at": isoformat(self.modified_at) if self.modified_at else None,
            "cancelled_at": isoformat(self.cancelled_at) if self.cancelled_at else None,
            "lookups": self.lookups,
            "shipment": self.shipment.to_json() if self.shipment else None,
        }


class MovementKind(StrEnum):
    REGISTER = "register"
    MODIFY = "modify"
    RESOLVE = "resolve"  # 審査中 → OK / NG
    SHIP = "ship"
    SHIP_MODIFY = "ship_modify"
    SHIP_CANCEL = "ship_cancel"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Movement:
    seq: int
    at: datetime
    kind: MovementKind
    transaction_id: str
    amount: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "kind": self.kind.value,
            "gmoTransactionId": self.transaction_id,
            "amount": self.amount,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    at: datetime
    method: str
    path: str
    status: int | None  # None: the connection was dropped
    result: str  # "OK" | "NG" | ""
    codes: tuple[str, ...]
    content_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "result": self.result,
            "codes": list(self.codes),
            "content_type": self.content_type,
            "dropped": self.status is None,
        }


def shop_key(shop: ShopConfig) -> str:
    return f"{shop.authentication_id}:{shop.shop_code}"


@dataclass
class Settings:
    credit_limit: int
    review_resolve_lookups: int | None


class Store:
    """All mutable state of one emulator, guarded by ``lock``."""

    def __init__(self, config: GmoSandboxConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.clock = Clock(config.now, config.clock_offset_days)
        self.faults = FaultSettings(seed=config.random_seed)
        self.settings = Settings(config.credit_limit, config.review_resolve_lookups)
        self.shops: dict[str, ShopConfig] = {}
        self.transactions: dict[str, Transaction] = {}
        self.movements: list[Movement] = []
        self.requests: list[RequestRecord] = []
        self._random: random.Random = random.Random()  # noqa: S311 - ids, not secrets
        self.reset()

    def reset(self) -> None:
        with self.lock:
            seed = self.config.random_seed
            self._random = random.Random(seed) if seed is not None else random.SystemRandom()  # noqa: S311
            self.clock.offset_days = self.config.clock_offset_days
            self.faults = FaultSettings(seed=seed)
            self.settings = Settings(self.config.credit_limit, self.config.review_resolve_lookups)
            self.shops = {shop_key(s): s for s in self.config.shops}
            self.transactions = {}
            self.movements = []
            self.requests = []

    def now(self) -> datetime:
        return self.clock.now()

    def new_transaction_id(self) -> str:
        """12 digits [I] (GMO's id format is not public)."""
        while True:
            candidate = str(self._random.randrange(10**11, 10**12))
            if candidate not in self.transactions:
                return candidate

    def shop_for(self, authentication_id: str | None, shop_code: str | None, password: str | None) -> ShopConfig:
        with self.lock:
            shop = self.shops.get(f"{authentication_id}:{shop_code}")
        if shop is None or password is None or shop.connect_password != password:
            raise codes.ng(codes.AUTH)
        return shop

    def transaction_for(self, shop: ShopConfig, transaction_id: str | None) -> Transaction:
        """The shop's transaction; another shop's id is answered exactly like an unknown one."""
        if not transaction_id:
            raise codes.ng(codes.XML_MISSING, element="gmoTransactionId")
        tx = self.transactions.get(transaction_id)
        if tx is None or tx.shop != shop_key(shop):
            raise codes.ng(codes.NOT_FOUND)
        return tx

    def open_amount(self, shop: ShopConfig, email: str, *, exclude: str = "") -> int:
        """The buyer's open billed amounts at this shop (for the cumulative limit)."""
        return sum(
            tx.amount
            for tx in self.transactions.values()
            if tx.shop == shop_key(shop)
            and tx.email == email
            and tx.id != exclude
            and tx.state not in (TxState.CANCELLED, TxState.DECLINED)
        )

    def record_movement(self, kind: MovementKind, tx: Transaction, detail: str = "") -> None:
        self.movements.append(
            Movement(
                seq=len(self.movements) + 1,
                at=self.now(),
                kind=kind,
                transaction_id=tx.id,
                amount=tx.amount,
                detail=detail,
            )
        )

    def record_request(
        self, method: str, path: str, status: int | None, result: str, error_codes: tuple[str, ...], content_type: str
    ) -> None:
        with self.lock:
            self.requests.append(
                RequestRecord(
                    seq=len(self.requests) + 1,
                    at=self.now(),
                    method=method,
                    path=path,
                    status=status,
                    result=result,
                    codes=error_codes,
                    content_type=content_type,
                )
            )

    def movement_counts(self, transaction_id: str) -> dict[str, int]:
        counts = {kind.value: 0 for kind in MovementKind}
        for movement in self.movements:
            if movement.transaction_id == transaction_id:
                counts[movement.kind.value] += 1
        return counts

    def ledger(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": isoformat(self.now()),
                "transactions": [
                    {"transaction": tx.to_json(), "shop": tx.shop, "movements": self.movement_counts(tx.id)}
                    for tx in self.transactions.values()
                ],
                "movements": [m.to_json() for m in self.movements],
            }
