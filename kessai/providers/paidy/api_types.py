"""Wire types of the Paidy REST API (protocol note §2.2–2.4), parsed defensively.

Parsing never trusts the provider: a missing id, a non-integer amount, an unknown status or a
non-object body raises :class:`MalformedResponse`, which the adapter turns into ``ProviderUnavailable``
(closed by default). Unknown extra fields are ignored (and kept in ``raw``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kessai.providers.paidy import const

__all__ = [
    "Capture",
    "ErrorBody",
    "MalformedResponse",
    "Payment",
    "PaymentEvent",
    "PaymentStatus",
    "Refund",
    "Token",
    "TokenEvent",
    "TokenStatus",
    "parse_token_list",
]


class MalformedResponse(ValueError):
    """The provider's body is not what the protocol promises."""


class PaymentStatus(enum.StrEnum):
    """``status`` of a payment [C]: the docs write it in capitals, Checkout's callback in lower case."""

    AUTHORIZED = const.STATUS_AUTHORIZED
    CLOSED = const.STATUS_CLOSED
    REJECTED = const.STATUS_REJECTED

    @classmethod
    def parse(cls, value: Any) -> PaymentStatus:
        if not isinstance(value, str):
            raise MalformedResponse("payment without a status")
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise MalformedResponse(f"unknown payment status {value!r}") from None


class TokenStatus(enum.StrEnum):
    ACTIVE = const.TOKEN_STATUS_ACTIVE
    SUSPENDED = const.TOKEN_STATUS_SUSPENDED
    DELETED = const.TOKEN_STATUS_DELETED

    @classmethod
    def parse(cls, value: Any) -> TokenStatus:
        if not isinstance(value, str):
            raise MalformedResponse("token without a status")
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise MalformedResponse(f"unknown token status {value!r}") from None


# --------------------------------------------------------------------------- scalar helpers


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"{what} is not a JSON object")
    return value


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key)
    if value is None:
        if default is None:
            raise MalformedResponse(f"missing integer field {key!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedResponse(f"field {key!r} is not an integer")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedResponse(f"field {key!r} is not a string")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"field {key!r} is not an array")
    return value


def _id(data: Mapping[str, Any], key: str, prefix: str, what: str) -> str:
    value = _str(data, key)
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise MalformedResponse(f"{what} without a {prefix}… id")
    return value


# --------------------------------------------------------------------------- error body (§2.3)


@dataclass(frozen=True)
class ErrorBody:
    """``{reference, status, code, title, description}`` of any non-200 answer [C S8]."""

    code: str
    reference: str = ""
    status: int | None = None
    title: str = ""
    description: str = ""

    @classmethod
    def parse(cls, data: Any) -> ErrorBody | None:
        """``None`` unless ``data`` is an object with a string ``code``."""
        if not isinstance(data, Mapping):
            return None
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            return None
        status = data.get("status")

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        return cls(
            code=code.strip(),
            reference=text("reference"),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            title=text("title"),
            description=text("description"),
        )


# --------------------------------------------------------------------------- payment object (§2.2)


@dataclass(frozen=True)
class Capture:
    id: str
    amount: int
    created_at: str = ""

    @classmethod
    def parse(cls, data: Any) -> Capture:
        obj = _mapping(data, "capture")
        return cls(id=_id(obj, "id", "cap_", "capture"), amount=_int(obj, "amount"), created_at=_str(obj, "created_at"))


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    capture_id: str = ""
    reason: str = ""
    created_at: str = ""

    @classmethod
    def parse(cls, data: Any) -> Refund:
        obj = _mapping(data, "refund")
        reason = obj.get("reason")
        return cls(
            id=_id(obj, "id", "ref_", "refund"),
            amount=_int(obj, "amount"),
            capture_id=_str(obj, "capture_id"),
            reason=reason if isinstance(reason, str) else "",
            created_at=_str(obj, "created_at"),
        )


@dataclass(frozen=True)
class Payment:
    """The payment object returned by every payment endpoint [C S8]."""

    id: str
    status: PaymentStatus
    amount: int
    currency: str = const.CURRENCY
    created_at: str = ""
    expires_at: str = ""
    order_ref: str = ""
    test: bool = False
    captures: tuple[Capture, ...] = ()
    refunds: tuple[Refund, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> Payment:
        obj = _mapping(data, "payment")
        order = obj.get("order")
        order_ref = ""
        if isinstance(order, Mapping):
            order_ref = _str(order, "order_ref")
        currency = _str(obj, "currency") or const.CURRENCY
        if currency != const.CURRENCY:
            raise MalformedResponse(f"unexpected currency {currency!r}")
        return cls(
            id=_id(obj, "id", "pay_", "payment"),
            status=PaymentStatus.parse(obj.get("status")),
            amount=_int(obj, "amount"),
            currency=currency,
            created_at=_str(obj, "created_at"),
            expires_at=_str(obj, "expires_at"),
            order_ref=order_ref,
            test=obj.get("test") is True,
            captures=tuple(Capture.parse(c) for c in _list(obj, "captures")),
            refunds=tuple(Refund.parse(r) for r in _list(obj, "refunds")),
            raw=dict(obj),
        )

    @property
    def captured_amount(self) -> int:
        return sum(c.amount for c in self.captures)

    @property
    def refunded_amount(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def refundable(self) -> int:
        return self.captured_amount - self.refunded_amount


# --------------------------------------------------------------------------- token object (§2.3)


@dataclass(frozen=True)
class Token:
    id: str
    status: TokenStatus
    wallet_id: str = const.DEFAULT_WALLET_ID
    consumer_id: str = ""
    kind: str = ""
    description: str = ""
    version_nr: int = 0
    suspended_by: str = ""  # ``authority`` of the latest suspension
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> Token:
        obj = _mapping(data, "token")
        suspensions = [s for s in _list(obj, "suspensions") if isinstance(s, Mapping)]
        authority = suspensions[-1].get("authority") if suspensions else None
        version = obj.get("version_nr")
        return cls(
            id=_id(obj, "id", "tok_", "token"),
            status=TokenStatus.parse(obj.get("status")),
            wallet_id=_str(obj, "wallet_id") or const.DEFAULT_WALLET_ID,
            consumer_id=_str(obj, "consumer_id"),
            kind=_str(obj, "kind"),
            description=_str(obj, "description"),
            version_nr=version if isinstance(version, int) and not isinstance(version, bool) else 0,
            suspended_by=authority if isinstance(authority, str) else "",
            raw=dict(obj),
        )


def parse_token_list(data: Any) -> tuple[Token, ...]:
    """``GET /tokens``: a JSON array of tokens, or ``{"data": [...]}`` ([I]: the shape is not documented)."""
    if isinstance(data, Mapping):
        data = data.get("data")
    if not isinstance(data, list):
        raise MalformedResponse("token list is not an array")
    return tuple(Token.parse(t) for t in data)


# --------------------------------------------------------------------------- webhooks (§2.4)


@dataclass(frozen=True)
class PaymentEvent:
    """``{payment_id, capture_id?, event_type: "payment", status, order_ref, reason?, timestamp}``."""

    payment_id: str
    status: str
    capture_id: str = ""
    order_ref: str = ""
    timestamp: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PaymentEvent:
        payment_id = _str(data, "payment_id")
        if not payment_id:
            raise MalformedResponse("payment event without payment_id")
        status = _str(data, "status")
        if status not in const.PAYMENT_EVENT_STATUSES:
            raise MalformedResponse(f"unknown payment event status {status!r}")
        timestamp = data.get("timestamp")
        return cls(
            payment_id=payment_id,
            status=status,
            capture_id=_str(data, "capture_id"),
            order_ref=_str(data, "order_ref"),
            timestamp=str(timestamp) if isinstance(timestamp, str | int) else "",
        )


@dataclass(frozen=True)
class TokenEvent:
    """``{token_id, status: activate_success|suspend_success|resume_success|delete_success, timestamp}``."""

    token_id: str
    status: str
    timestamp: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> TokenEvent:
        token_id = _str(data, "token_id")
        if not token_id:
            raise MalformedResponse("token event without token_id")
        status = _str(data, "status")
        if status not in const.TOKEN_EVENT_STATUSES:
            raise MalformedResponse(f"unknown token event status {status!r}")
        timestamp = data.get("timestamp")
        return cls(
            token_id=token_id,
            status=status,
            timestamp=str(timestamp) if isinstance(timestamp, str | int) else "",
        )
