"""The Paidy emulator's in-memory state: payments, tokens, the movement log, webhook deliveries.

Every read and write happens under ``Store.lock`` (one re-entrant lock for the whole emulator).

The payment state machine is the table :data:`TRANSITIONS` plus :func:`next_status`, which refuses every
move not in the table with the error the caller should see (note §2.3: "capture: payment must be
AUTHORIZED; afterwards CLOSED", "refund: only after a capture", "close: never captured")::

    AUTHORIZED ─capture→ CLOSED (with one capture) ─refund(≤ what is left)→ CLOSED …
    AUTHORIZED ─close→ CLOSED (no capture)
    AUTHORIZED past expires_at: capture refused (payment.expired), close still allowed
    REJECTED: nothing

Token states: ACTIVE ─suspend→ SUSPENDED ─resume (same authority only)→ ACTIVE; ACTIVE|SUSPENDED ─delete→ DELETED.
"""

from __future__ import annotations

import random
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from kessai.sandbox.atone.clock import Clock
from kessai.sandbox.paidy.config import MerchantConfig, PaidySandboxConfig
from kessai.sandbox.paidy.errors import Code, PaidyError
from kessai.sandbox.paidy.faults import FaultSettings

ALPHANUMERIC = string.ascii_letters + string.digits
ID_LENGTH = 20


def iso(moment: datetime) -> str:
    """``2025-01-01T01:02:03.000Z`` (UTC, milliseconds) [I]: Paidy's timestamps as the SDKs parse them."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class PaymentStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"


class TokenStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    DELETED = "DELETED"


class Event(StrEnum):
    CAPTURE = "capture"
    CLOSE = "close"
    REFUND = "refund"
    UPDATE = "update"


# (status, has a capture) + event → status
TRANSITIONS: dict[tuple[PaymentStatus, bool, Event], PaymentStatus] = {
    (PaymentStatus.AUTHORIZED, False, Event.CAPTURE): PaymentStatus.CLOSED,
    (PaymentStatus.AUTHORIZED, False, Event.CLOSE): PaymentStatus.CLOSED,
    (PaymentStatus.AUTHORIZED, False, Event.UPDATE): PaymentStatus.AUTHORIZED,
    (PaymentStatus.CLOSED, True, Event.REFUND): PaymentStatus.CLOSED,
    (PaymentStatus.CLOSED, True, Event.UPDATE): PaymentStatus.CLOSED,
    (PaymentStatus.CLOSED, False, Event.UPDATE): PaymentStatus.CLOSED,
}

REFUSALS: dict[Event, str] = {
    Event.CAPTURE: "status: the payment must be AUTHORIZED to be captured (it is {status})",
    Event.CLOSE: "status: only an AUTHORIZED payment that was never captured can be closed (it is {status})",
    Event.REFUND: "status: only a captured payment can be refunded (it is {status}{captured})",
    Event.UPDATE: "status: a {status} payment cannot be updated",
}


def next_status(current: PaymentStatus, captured: bool, event: Event) -> PaymentStatus:
    """The status after ``event``, or the error refusing it."""
    target = TRANSITIONS.get((current, captured, event))
    if target is not None:
        return target
    detail = REFUSALS[event].format(status=current.value, captured=", not captured" if not captured else "")
    raise PaidyError(Code.PAYMENT_STATUS, detail)


class IdFactory:
    """``pay_``/``cap_``/``ref_``/``tok_``/``con_`` + 20 alphanumerics."""

    def __init__(self, seed: int | None = None) -> None:
        # A seed makes ids reproducible in tests; otherwise ids come from the OS generator.
        self._random = random.Random(seed) if seed is not None else random.SystemRandom()  # noqa: S311

    def new(self, prefix: str) -> str:
        return prefix + "".join(self._random.choice(ALPHANUMERIC) for _ in range(ID_LENGTH))


@dataclass
class Capture:
    id: str
    amount: int
    created_at: datetime
    tax: int | None
    shipping: int | None
    items: list[dict[str, Any]]
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": iso(self.created_at),
            "amount": self.amount,
            "tax": self.tax,
            "shipping": self.shipping,
            "items": self.items,
            "metadata": self.metadata,
        }


@dataclass
class Refund:
    id: str
    capture_id: str
    amount: int
    created_at: datetime
    reason: str | None
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": iso(self.created_at),
            "capture_id": self.capture_id,
            "amount": self.amount,
            "reason": self.reason,
            "metadata": self.metadata,
        }


@dataclass
class Payment:
    id: str
    merchant: str  # public key of the merchant that owns it
    status: PaymentStatus
    amount: int
    store_name: str
    description: str | None
    buyer: dict[str, Any]
    buyer_data: dict[str, Any] | None
    order: dict[str, Any]
    shipping_address: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    channel: str  # "checkout" (the browser) or "api" (POST /payments with a token)
    token_id: str | None = None
    consumer_id: str = ""
    captures: list[Capture] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def captured(self) -> bool:
        return bool(self.captures)

    @property
    def refundable(self) -> int:
        return sum(c.amount for c in self.captures) - sum(r.amount for r in self.refunds)

    def expired(self, now: datetime) -> bool:
        return self.status is PaymentStatus.AUTHORIZED and now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        """The payment object of note §2.2 (statuses in capitals, as the docs write them)."""
        return {
            "id": self.id,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "amount": self.amount,
            "currency": "JPY",
            "description": self.description,
            "store_name": self.store_name,
            "test": True,
            "status": self.status.value,
            "tier": "classic",
            "buyer": self.buyer,
            "order": self.order,
            "shipping_address": self.shipping_address,
            "captures": [c.to_json() for c in self.captures],
            "refunds": [r.to_json() for r in self.refunds],
            "metadata": self.metadata,
        }


@dataclass
class Suspension:
    timestamp: datetime
    authority: str  # "merchant" | "consumer"

    def to_json(self) -> dict[str, Any]:
        return {"timestamp": iso(self.timestamp), "authority": self.authority}


@dataclass
class Token:
    id: str
    merchant: str  # public key
    merchant_id: str  # mer_…
    wallet_id: str
    consumer_id: str
    origin: dict[str, Any]
    description: str
    metadata: dict[str, Any]
    created_at: datetime
    status: TokenStatus = TokenStatus.ACTIVE
    suspensions: list[Suspension] = field(default_factory=list)
    version_nr: int = 1
    updated_at: datetime | None = None
    activated_at: datetime | None = None
    deleted_at: datetime | None = None

    def bump(self, now: datetime) -> None:
        self.version_nr += 1
        self.updated_at = now

    def to_json(self) -> dict[str, Any]:
        """The token object of note §2.3."""
        return {
            "id": self.id,
            "merchant_id": self.merchant_id,
            "wallet_id": self.wallet_id,
            "consumer_id": self.consumer_id,
            "status": self.status.value,
            "suspensions": [s.to_json() for s in self.suspensions],
            "origin": self.origin,
            "description": self.description,
            "kind": "recurring",
            "metadata": self.metadata,
            "webhook_url": None,
            "test": True,
            "version_nr": self.version_nr,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "activated_at": iso(self.activated_at) if self.activated_at else None,
            "deleted_at": iso(self.deleted_at) if self.deleted_at else None,
        }


class MovementKind(StrEnum):
    AUTHORIZE = "authorize"
    REJECT = "reject"
    CAPTURE = "capture"
    REFUND = "refund"
    CLOSE = "close"


@dataclass(frozen=True)
class Movement:
    seq: int
    at: datetime
    kind: MovementKind
    payment_id: str
    amount: int
    via: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "kind": self.kind.value,
            "payment_id": self.payment_id,
            "amount": self.amount,
            "via": self.via,
        }


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DISCARDED = "discarded"  # dropped by a reset before it was delivered


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "status_code": self.status_code, "error": self.error}


@dataclass
class WebhookDelivery:
    id: int
    merchant: str
    url: str
    payload: dict[str, Any]
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    duplicate_of: int | None = None  # the webhook_duplicate fault: the delivery this one repeats

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "merchant": self.merchant,
            "url": self.url,
            "payload": self.payload,
            "created_at": iso(self.created_at),
            "status": self.status.value,
            "attempts": [a.to_json() for a in self.attempts],
            "duplicate_of": self.duplicate_of,
        }


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    at: datetime
    method: str
    path: str
    status: int | None  # None: the connection was dropped
    code: str
    paidy_version: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "paidy_version": self.paidy_version,
            "dropped": self.status is None,
        }


class Store:
    """All mutable state of one emulator, guarded by ``lock``."""

    def __init__(self, config: PaidySandboxConfig) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.ids = IdFactory(config.random_seed)
        self.clock = Clock(config.now, config.clock_offset_days)
        self.faults = FaultSettings(seed=config.random_seed)
        self.merchants: dict[str, MerchantConfig] = {}
        self.payments: dict[str, Payment] = {}
        self.tokens: dict[str, Token] = {}
        self.consumers: dict[tuple[str, str], str] = {}  # (email, phone) → con_…
        self.movements: list[Movement] = []
        self.requests: list[RequestRecord] = []
        self.deliveries: list[WebhookDelivery] = []
        self.reset()

    def reset(self) -> None:
        """Back to the configuration the emulator was created with."""
        with self.lock:
            self.ids = IdFactory(self.config.random_seed)
            self.clock.offset_days = self.config.clock_offset_days
            self.faults = FaultSettings(seed=self.config.random_seed)
            self.merchants = {m.public_key: m for m in self.config.merchants}
            self.payments = {}
            self.tokens = {}
            self.consumers = {}
            self.movements = []
            self.requests = []
            self.deliveries = []

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self, prefix: str, taken: dict[str, Any]) -> str:
        while True:
            candidate = self.ids.new(prefix)
            if candidate not in taken:
                return candidate

    def merchant_by_secret(self, secret_key: str) -> MerchantConfig | None:
        with self.lock:
            return next((m for m in self.merchants.values() if m.secret_key == secret_key), None)

    @staticmethod
    def merchant_id(merchant: MerchantConfig) -> str:
        return "mer_" + "".join(c for c in merchant.public_key if c.isalnum())[-20:]

    def consumer_id(self, email: str, phone: str) -> str:
        key = (email.strip().lower(), phone)
        if key not in self.consumers:
            self.consumers[key] = self.new_id("con_", dict.fromkeys(self.consumers.values()))
        return self.consumers[key]

    def payment_for(self, merchant: MerchantConfig, payment_id: str) -> Payment:
        """The merchant's payment; another merchant's id is answered exactly like an unknown one."""
        payment = self.payments.get(payment_id)
        if payment is None or payment.merchant != merchant.public_key:
            raise PaidyError(Code.NOT_FOUND, f"payment {payment_id} not found")
        return payment

    def token_for(self, merchant: MerchantConfig, token_id: str) -> Token:
        token = self.tokens.get(token_id)
        if token is None or token.merchant != merchant.public_key:
            raise PaidyError(Code.NOT_FOUND, f"token {token_id} not found")
        return token

    def record_movement(self, kind: MovementKind, payment: Payment, amount: int, via: str) -> None:
        self.movements.append(
            Movement(
                seq=len(self.movements) + 1,
                at=self.now(),
                kind=kind,
                payment_id=payment.id,
                amount=amount,
                via=via,
            )
        )

    def record_request(self, method: str, path: str, status: int | None, code: str, paidy_version: str | None) -> None:
        with self.lock:
            self.requests.append(
                RequestRecord(
                    seq=len(self.requests) + 1,
                    at=self.now(),
                    method=method,
                    path=path,
                    status=status,
                    code=code,
                    paidy_version=paidy_version,
                )
            )

    def movement_counts(self, payment_id: str) -> dict[str, int]:
        counts = {kind.value: 0 for kind in MovementKind}
        for movement in self.movements:
            if movement.payment_id == payment_id:
                counts[movement.kind.value] += 1
        return counts

    def ledger(self) -> dict[str, Any]:
        """Every payment (+ emulator-side facts and movement counts), every token, the movement log."""
        with self.lock:
            now = self.now()
            payments = [
                {
                    "payment": p.to_json(),
                    "merchant": p.merchant,
                    "state": "expired" if p.expired(now) else p.status.value.lower(),
                    "channel": p.channel,
                    "token_id": p.token_id,
                    "consumer_id": p.consumer_id,
                    "movements": self.movement_counts(p.id),
                }
                for p in self.payments.values()
            ]
            return {
                "now": iso(now),
                "payments": payments,
                "tokens": [t.to_json() for t in self.tokens.values()],
                "movements": [m.to_json() for m in self.movements],
            }


def expiry(merchant: MerchantConfig, now: datetime) -> datetime:
    return now + timedelta(days=merchant.authorization_days)
