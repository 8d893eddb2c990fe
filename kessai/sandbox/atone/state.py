"""The emulator's in-memory state: transactions, buyers, the movement log, webhook deliveries.

Every read and write happens under ``Store.lock`` (one re-entrant lock for the whole emulator).

The transaction state machine is the table :data:`TRANSITIONS` plus :func:`next_state`, which refuses
every move not in the table with the atone error the caller should see::

    authorized ─settle→ settled ─refund(partial)→ settled … ─(nothing left)→ refunded
    authorized | settled ─cancel (refund without amount_refund)→ cancelled
    authorized | settled ─supersede (取引更新)→ cancelled
    declined (与信NG): cannot be settled, cancelled or refunded; an update supersedes it
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.clock import Clock, days_between, isoformat
from kessai.sandbox.atone.config import AtoneSandboxConfig, MerchantConfig
from kessai.sandbox.atone.errors import AtoneError, Code
from kessai.sandbox.atone.faults import FaultSettings
from kessai.sandbox.atone.ids import IdFactory
from kessai.sandbox.atone.policy import AUTHORIZATION_VALID_DAYS, AuthorizationResult, NgReason


class TxState(StrEnum):
    AUTHORIZED = "authorized"  # 与信OK, 仮売上
    DECLINED = "declined"  # 与信NG
    SETTLED = "settled"  # 売上確定 (possibly partly refunded)
    REFUNDED = "refunded"  # settled, then refunded down to zero by partial refunds
    CANCELLED = "cancelled"  # full cancel (取消), or superseded by an update


class Event(StrEnum):
    SETTLE = "settle"
    CANCEL = "cancel"
    REFUND = "refund"
    SUPERSEDE = "supersede"


TRANSITIONS: dict[tuple[TxState, Event], TxState] = {
    (TxState.AUTHORIZED, Event.SETTLE): TxState.SETTLED,
    (TxState.AUTHORIZED, Event.CANCEL): TxState.CANCELLED,
    (TxState.AUTHORIZED, Event.SUPERSEDE): TxState.CANCELLED,
    (TxState.SETTLED, Event.CANCEL): TxState.CANCELLED,
    (TxState.SETTLED, Event.REFUND): TxState.SETTLED,
    (TxState.SETTLED, Event.SUPERSEDE): TxState.CANCELLED,
    (TxState.DECLINED, Event.SUPERSEDE): TxState.DECLINED,
}

REFUSALS: dict[tuple[TxState, Event], tuple[Code, str]] = {
    (TxState.SETTLED, Event.SETTLE): (Code.ALREADY_SETTLED, errors.MESSAGES[Code.ALREADY_SETTLED]),
    (TxState.REFUNDED, Event.SETTLE): (Code.ALREADY_SETTLED, errors.MESSAGES[Code.ALREADY_SETTLED]),
    (TxState.DECLINED, Event.SETTLE): (Code.BAD_REQUEST, errors.DECLINED_NOT_SETTLEABLE),
    (TxState.DECLINED, Event.CANCEL): (Code.BAD_REQUEST, errors.DECLINED_NOT_REFUNDABLE),
    (TxState.DECLINED, Event.REFUND): (Code.BAD_REQUEST, errors.DECLINED_NOT_REFUNDABLE),
    (TxState.AUTHORIZED, Event.REFUND): (Code.BAD_REQUEST, errors.REFUND_NOT_SETTLED),
    (TxState.REFUNDED, Event.CANCEL): (Code.BAD_REQUEST, errors.ALREADY_REFUNDED),
    (TxState.REFUNDED, Event.REFUND): (Code.BAD_REQUEST, errors.ALREADY_REFUNDED),
    (TxState.REFUNDED, Event.SUPERSEDE): (Code.BAD_REQUEST, errors.ALREADY_REFUNDED),
}


def next_state(current: TxState, event: Event, superseded: bool = False) -> TxState:
    """The state after ``event``, or the atone error refusing it."""
    target = TRANSITIONS.get((current, event))
    if target is not None:
        return target
    if current is TxState.CANCELLED:
        message = errors.SUPERSEDED if superseded else errors.ALREADY_CANCELLED
        raise errors.fail(Code.BAD_REQUEST, "id", message)
    code, message = REFUSALS[(current, event)]
    raise errors.fail(code, "id", message)


@dataclass
class Refund:
    amount_refund: int
    refund_datetime: datetime
    refund_reason: str
    description_refund: str

    def to_json(self) -> dict[str, Any]:
        return {
            "object": "refund",
            "amount_refund": self.amount_refund,
            "refund_datetime": isoformat(self.refund_datetime),
            "refund_reason": self.refund_reason,
            "description_refund": self.description_refund,
        }


@dataclass
class Transaction:
    id: str
    merchant: str  # public key of the store that owns it
    authentication_token: str
    user_no: str
    shop_transaction_no: str
    amount: int
    authorization_result: AuthorizationResult
    authorization_result_ng_reason: NgReason | None
    state: TxState
    registered_at: datetime
    customer: dict[str, Any]
    dest_customers: list[dict[str, Any]]
    items: list[dict[str, Any]]
    description_trans: str | None = None
    subtract_point: int = 0
    transaction_options: list[int] = field(default_factory=list)
    related_transaction: str | None = None
    updated_transactions: list[str] | None = None
    settled_at: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    superseded_by: str | None = None
    channel: str = "api"  # "api" (server-side create) or "widget" (atone.js modal)
    terminal_id: str | None = None

    @property
    def amount_refund_total(self) -> int:
        return sum(r.amount_refund for r in self.refunds)

    @property
    def refundable(self) -> int:
        return self.amount - self.amount_refund_total

    def expired(self, now: datetime) -> bool:
        """仮売上期限切れ: still unsettled after day 90 (JST calendar days; registration day is day 0)."""
        return self.state is TxState.AUTHORIZED and days_between(self.registered_at, now) > AUTHORIZATION_VALID_DAYS

    def to_json(self) -> dict[str, Any]:
        """The transaction object of protocol note §4.5 (REST responses and 決済Webhook payload)."""
        return {
            "id": self.id,
            "object": "transaction",
            "livemode": False,
            "authentication_token": self.authentication_token,
            "shop_transaction_no": self.shop_transaction_no,
            "amount": self.amount,
            "authorization_result": int(self.authorization_result),
            "authorization_result_ng_reason": (
                int(self.authorization_result_ng_reason) if self.authorization_result_ng_reason else None
            ),
            "amount_refund_total": self.amount_refund_total,
            "registration_datetime": isoformat(self.registered_at),
            "sales_settled_datetime": isoformat(self.settled_at) if self.settled_at else None,
            "transaction_options": list(self.transaction_options),
            "related_transaction": self.related_transaction,
            "updated_transactions": list(self.updated_transactions) if self.updated_transactions else None,
            "description_trans": self.description_trans,
            "customer": {"object": "customer", **self.customer, "user_no": self.user_no},
            "dest_customers": [{"object": "dest_customer", **d} for d in self.dest_customers],
            "items": [{"object": "item", **i} for i in self.items],
            "refunds": [r.to_json() for r in self.refunds],
        }


@dataclass
class Buyer:
    """An atone member as seen by one store: its token is reused for the same phone number."""

    authentication_token: str
    user_no: str
    merchant: str
    phone_number: str
    phone_valid: bool = True
    revoked: bool = False


class MovementKind(StrEnum):
    CREATE = "create"
    SETTLE = "settle"
    REFUND = "refund"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Movement:
    seq: int
    at: datetime
    kind: MovementKind
    transaction_id: str
    amount: int
    via: str  # "api", "widget", "update" (superseded by 取引更新) or "create" (sales_settled: true)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "kind": self.kind.value,
            "transaction_id": self.transaction_id,
            "amount": self.amount,
            "via": self.via,
        }


@dataclass
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": isoformat(self.at), "status_code": self.status_code, "error": self.error}


@dataclass
class FailureNotice:
    """The 「Webhook失敗」 notification for one delivery."""

    to: str | None
    subject: str
    sent: bool
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "subject": self.subject, "sent": self.sent, "error": self.error}


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DISCARDED = "discarded"  # dropped by a reset before it was delivered


class WebhookKind(StrEnum):
    PAYMENT = "payment"  # 決済Webhook
    AUTHENTICATION = "authentication"  # 認証Webhook


WEBHOOK_KIND_LABELS = {WebhookKind.PAYMENT: "決済Webhook", WebhookKind.AUTHENTICATION: "認証Webhook"}


@dataclass
class WebhookDelivery:
    id: int
    merchant: str
    kind: WebhookKind
    url: str
    payload: dict[str, Any]
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    failure_notice: FailureNotice | None = None
    duplicate_of: int | None = None  # the webhook_duplicate fault: the delivery this one repeats

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "merchant": self.merchant,
            "kind": self.kind.value,
            "url": self.url,
            "payload": self.payload,
            "created_at": isoformat(self.created_at),
            "status": self.status.value,
            "attempts": [a.to_json() for a in self.attempts],
            "duplicate_of": self.duplicate_of,
            "failure_notice": self.failure_notice.to_json() if self.failure_notice else None,
        }


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    at: datetime
    method: str  # the effective method (after X-HTTP-Method-Override)
    path: str
    status: int | None  # None: the connection was dropped
    codes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": isoformat(self.at),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "codes": list(self.codes),
            "dropped": self.status is None,
        }


class Store:
    """All mutable state of one emulator, guarded by ``lock``."""

    def __init__(self, config: AtoneSandboxConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.ids = IdFactory(config.random_seed)
        self.clock = Clock(config.now, config.clock_offset_days)
        self.faults = FaultSettings(seed=config.random_seed)
        self.merchants: dict[str, MerchantConfig] = {}
        self.transactions: dict[str, Transaction] = {}
        # (merchant public key, shop_transaction_no) → ids, so the duplicate check is not a full scan.
        self.by_number: dict[tuple[str, str], list[str]] = {}
        self.buyers: dict[str, Buyer] = {}
        self.movements: list[Movement] = []
        self.requests: list[RequestRecord] = []
        self.deliveries: list[WebhookDelivery] = []
        self.buyer_limit = config.buyer_limit
        self.reset()

    def reset(self) -> None:
        """Back to the configuration the emulator was created with."""
        with self.lock:
            self.ids = IdFactory(self.config.random_seed)
            self.clock.offset_days = self.config.clock_offset_days
            self.faults = FaultSettings(seed=self.config.random_seed)
            self.merchants = {m.public_key: m for m in self.config.merchants}
            self.transactions = {}
            self.by_number = {}
            self.buyers = {}
            self.movements = []
            self.requests = []
            self.deliveries = []
            self.buyer_limit = self.config.buyer_limit

    def now(self) -> datetime:
        return self.clock.now()

    def merchant_by_secret(self, secret_key: str) -> MerchantConfig | None:
        with self.lock:
            return next((m for m in self.merchants.values() if m.secret_key == secret_key), None)

    def transaction_for(self, merchant: MerchantConfig, transaction_id: str) -> Transaction:
        """The store's transaction; another store's id is answered exactly like an unknown one."""
        tx = self.transactions.get(transaction_id)
        if tx is None or tx.merchant != merchant.public_key:
            raise AtoneError(
                details=[errors.detail(Code.BAD_REQUEST, "id", errors.TRANSACTION_NOT_FOUND)],
                name=errors.NAME_NOT_FOUND,
            )
        return tx

    def record_movement(self, kind: MovementKind, tx: Transaction, amount: int, via: str) -> None:
        self.movements.append(
            Movement(
                seq=len(self.movements) + 1,
                at=self.now(),
                kind=kind,
                transaction_id=tx.id,
                amount=amount,
                via=via,
            )
        )

    def record_request(self, method: str, path: str, status: int | None, codes: tuple[str, ...]) -> None:
        with self.lock:
            self.requests.append(
                RequestRecord(
                    seq=len(self.requests) + 1,
                    at=self.now(),
                    method=method,
                    path=path,
                    status=status,
                    codes=codes,
                )
            )

    def movement_counts(self, transaction_id: str) -> dict[str, int]:
        counts = {kind.value: 0 for kind in MovementKind}
        for movement in self.movements:
            if movement.transaction_id == transaction_id:
                counts[movement.kind.value] += 1
        return counts

    def ledger(self) -> dict[str, Any]:
        """Every transaction with its sandbox-side facts, plus the movement log."""
        with self.lock:
            now = self.now()
            entries = []
            for tx in self.transactions.values():
                entries.append(
                    {
                        "transaction": tx.to_json(),
                        "merchant": tx.merchant,
                        "state": "expired" if tx.expired(now) else tx.state.value,
                        "channel": tx.channel,
                        "terminal_id": tx.terminal_id,
                        "superseded_by": tx.superseded_by,
                        "movements": self.movement_counts(tx.id),
                    }
                )
            return {
                "now": isoformat(now),
                "transactions": entries,
                "movements": [m.to_json() for m in self.movements],
            }
