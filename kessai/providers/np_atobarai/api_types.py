"""Wire types of the NP後払い REST API (protocol note §1.1–§1.4), parsed defensively.

Every answer is a batch envelope: ``{"results": [...], "errors": [{"codes": [...], "id": "..."}]}``; either
array may be missing, and an answer may carry both [I]. Parsing never trusts the provider: a result without
an id or with an unreadable ``authori_result`` raises :class:`MalformedResponse`, which the client turns
into ``ProviderUnavailable`` (closed by default). Unknown extra fields are ignored (and kept in ``raw``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kessai.providers.np_atobarai import const

__all__ = [
    "AuthoriResult",
    "BatchResponse",
    "ErrorItem",
    "MalformedResponse",
    "PaymentStatus",
    "Screening",
    "SettlementType",
]


class MalformedResponse(ValueError):
    """The provider's body is not what the protocol promises."""


class AuthoriResult(enum.StrEnum):
    """``authori_result`` (§1.4) [C]."""

    OK = const.AUTHORI_OK  # 与信OK
    HOLD = const.AUTHORI_HOLD  # 保留 (authori_hold: RE codes)
    NG = const.AUTHORI_NG  # NG (authori_ng)
    REVIEW = const.AUTHORI_REVIEW  # 審査前/審査中

    @classmethod
    def parse(cls, value: Any) -> AuthoriResult | None:
        """``None`` for absent or unknown values: callers must not read that as OK."""
        if not isinstance(value, str):
            return None
        try:
            return cls(value.strip())
        except ValueError:
            return None


class SettlementType(enum.StrEnum):
    """``settlement_type`` (§1.3) [C]."""

    SEPARATE = const.SETTLEMENT_SEPARATE  # 別送
    ENCLOSED = const.SETTLEMENT_ENCLOSED  # 同梱


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedResponse(f"field {key!r} is not a string")


def _objects(data: Mapping[str, Any], key: str) -> tuple[Mapping[str, Any], ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise MalformedResponse(f"{key!r} is not an array of objects")
    return tuple(value)


@dataclass(frozen=True)
class ErrorItem:
    """One entry of ``errors``: the codes for one target id (empty for envelope-level errors)."""

    codes: tuple[str, ...]
    id: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ErrorItem:
        raw_codes = data.get("codes")
        if isinstance(raw_codes, str):
            codes: tuple[str, ...] = (raw_codes,)
        elif isinstance(raw_codes, list):
            codes = tuple(str(c).strip() for c in raw_codes if isinstance(c, str | int) and str(c).strip())
        else:
            codes = ()
        raw_id = data.get("id")
        return cls(codes=codes, id=str(raw_id).strip() if isinstance(raw_id, str | int) else "")


@dataclass(frozen=True)
class BatchResponse:
    """A parsed answer: HTTP status, ``results`` and ``errors``, and the call's request id."""

    status: int
    results: tuple[Mapping[str, Any], ...]
    errors: tuple[ErrorItem, ...]
    request_id: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, status: int, data: Any, *, request_id: str = "") -> BatchResponse:
        if not isinstance(data, Mapping):
            raise MalformedResponse("body is not a JSON object")
        errors = tuple(ErrorItem.parse(e) for e in _objects(data, const.ERRORS_KEY))
        return cls(
            status=status,
            results=_objects(data, const.RESULTS_KEY),
            errors=tuple(e for e in errors if e.codes),
            request_id=request_id,
            body=data,
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for error in self.errors for code in error.codes)

    def errors_for(self, target_id: str) -> tuple[str, ...]:
        """Codes for one target (envelope-level errors without an id count for every target)."""
        return tuple(code for e in self.errors if not e.id or e.id == target_id for code in e.codes)

    def result_for(self, id_field: str, target_id: str) -> Mapping[str, Any] | None:
        return next((r for r in self.results if _str(r, id_field) == target_id), None)


@dataclass(frozen=True)
class Screening:
    """The screening result of register / update / reregister / authorizations/find."""

    np_transaction_id: str
    authori_result: AuthoriResult
    authori_result_raw: str
    shop_transaction_id: str = ""
    authori_required_date: str = ""  # when the result was fixed (ISO-8601, +09:00) [C S5]
    authori_ng: str = ""
    authori_hold: tuple[str, ...] = ()
    base_np_transaction_id: str = ""  # reregister only
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Screening:
        np_id = _str(data, "np_transaction_id")
        if not np_id:
            raise MalformedResponse("result without np_transaction_id")
        raw_result = data.get("authori_result")
        result = AuthoriResult.parse(raw_result)
        if result is None:
            raise MalformedResponse(f"unknown authori_result {raw_result!r}")
        hold_raw = data.get("authori_hold")
        if hold_raw is None:
            hold: tuple[str, ...] = ()
        elif isinstance(hold_raw, str):
            hold = (hold_raw.strip(),) if hold_raw.strip() else ()
        elif isinstance(hold_raw, list):
            hold = tuple(str(h).strip() for h in hold_raw if isinstance(h, str) and h.strip())
        else:
            raise MalformedResponse("authori_hold is not an array")
        return cls(
            np_transaction_id=np_id,
            authori_result=result,
            authori_result_raw=str(raw_result),
            shop_transaction_id=_str(data, "shop_transaction_id"),
            authori_required_date=_str(data, "authori_required_date"),
            authori_ng=_str(data, "authori_ng"),
            authori_hold=hold,
            base_np_transaction_id=_str(data, "base_np_transaction_id"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class PaymentStatus:
    """``/transactions/payments/find`` result: ``payment_status`` ("20" = paid [C S3])."""

    np_transaction_id: str
    payment_status: str
    customer_payment_date: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PaymentStatus:
        np_id = _str(data, "np_transaction_id")
        if not np_id:
            raise MalformedResponse("result without np_transaction_id")
        return cls(
            np_transaction_id=np_id,
            payment_status=_str(data, "payment_status"),
            customer_payment_date=_str(data, "customer_payment_date"),
            raw=dict(data),
        )

    @property
    def paid(self) -> bool:
        return self.payment_status == const.PAYMENT_STATUS_PAID
