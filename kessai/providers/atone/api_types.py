"""Wire types of the atone REST API (protocol note §4.5, §5, §6), parsed defensively.

Parsing never trusts the provider: a missing id, a non-integer amount or a non-object body raises
:class:`MalformedResponse`, which the client turns into ``ProviderUnavailable`` (closed by default).
Unknown extra fields are ignored (and kept in ``raw``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kessai.providers.atone import const

__all__ = [
    "AuthenticationNotice",
    "AuthorizationResult",
    "CustomerInfo",
    "ErrorBody",
    "ErrorDetail",
    "Item",
    "MalformedResponse",
    "NgReason",
    "Refund",
    "Transaction",
]


class MalformedResponse(ValueError):
    """The provider's body is not what the protocol promises."""


class AuthorizationResult(enum.StrEnum):
    """``authorization_result`` (an int on the wire) [C]. atone has no 保留 value."""

    OK = str(const.AUTHORIZATION_RESULT_OK)  # 与信OK
    NG = str(const.AUTHORIZATION_RESULT_NG)  # 与信NG

    @classmethod
    def parse(cls, value: Any) -> AuthorizationResult | None:
        """``None`` for absent or unknown values: callers must not read that as OK."""
        if value is None or isinstance(value, bool):
            return None
        try:
            return cls(str(value).strip())
        except ValueError:
            return None


class NgReason(enum.StrEnum):
    """``authorization_result_ng_reason`` [C]."""

    AMOUNT_EXCEEDED = const.NG_REASON_AMOUNT_EXCEEDED  # 金額超過
    OTHER = const.NG_REASON_OTHER  # その他


# --------------------------------------------------------------------------- scalar helpers

_DIGITS = re.compile(r"-?\d+")


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key)
    if value is None:
        if default is None:
            raise MalformedResponse(f"missing integer field {key!r}")
        return default
    if isinstance(value, bool):
        raise MalformedResponse(f"field {key!r} is a boolean, expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):  # W2 sends amounts as strings
        return int(value.strip())
    raise MalformedResponse(f"field {key!r} is not an integer")


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise MalformedResponse(f"field {key!r} is not a string")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"{what} is not a JSON object")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, Mapping):  # AFTEE's DTO has a single refund object, atone an array [C/S]
        return [value]
    if isinstance(value, list):
        return value
    raise MalformedResponse(f"field {key!r} is not an array")


# --------------------------------------------------------------------------- error body (§5)


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    messages: tuple[str, ...] = ()
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorBody:
    """``{"name", "message", "errors": [{"code", "messages", "params"}]}`` [C]."""

    name: str = ""
    message: str = ""
    errors: tuple[ErrorDetail, ...] = ()

    @classmethod
    def parse(cls, data: Any) -> ErrorBody | None:
        """``None`` unless ``data`` is an object with a non-empty ``errors`` array."""
        if not isinstance(data, Mapping):
            return None
        raw_errors = data.get("errors")
        if not isinstance(raw_errors, list) or not raw_errors:
            return None
        details: list[ErrorDetail] = []
        for raw in raw_errors:
            if not isinstance(raw, Mapping):
                continue
            code = raw.get("code")
            messages = raw.get("messages", raw.get("message", ()))
            params = raw.get("params", ())
            details.append(
                ErrorDetail(
                    code=str(code) if code is not None else "",
                    messages=_strings(messages),
                    params=_strings(params),
                )
            )
        if not details:
            return None
        name, message = data.get("name"), data.get("message")
        return cls(
            name=name if isinstance(name, str) else "",
            message=message if isinstance(message, str) else "",
            errors=tuple(details),
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(detail.code for detail in self.errors)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    return ()


# --------------------------------------------------------------------------- transaction (§4.5)


@dataclass(frozen=True)
class Refund:
    amount_refund: int
    refund_datetime: str = ""
    refund_reason: str = ""
    description_refund: str = ""

    @classmethod
    def parse(cls, data: Any) -> Refund:
        obj = _mapping(data, "refund")
        return cls(
            amount_refund=_int(obj, "amount_refund", 0),
            refund_datetime=_str(obj, "refund_datetime"),
            refund_reason=_str(obj, "refund_reason"),
            description_refund=_str(obj, "description_refund"),
        )


@dataclass(frozen=True)
class CustomerInfo:
    customer_name: str = ""
    user_no: str = ""  # atone member number (present in responses/webhooks) [I]

    @classmethod
    def parse(cls, data: Any) -> CustomerInfo:
        if data is None:
            return cls()
        obj = _mapping(data, "customer")
        return cls(customer_name=_str(obj, "customer_name"), user_no=_str(obj, "user_no"))


@dataclass(frozen=True)
class Item:
    shop_item_id: str
    item_name: str
    item_price: int
    item_count: int
    item_url: str = ""

    @classmethod
    def parse(cls, data: Any) -> Item:
        obj = _mapping(data, "item")
        return cls(
            shop_item_id=_str(obj, "shop_item_id"),
            item_name=_str(obj, "item_name"),
            item_price=_int(obj, "item_price", 0),
            item_count=_int(obj, "item_count", 0),
            item_url=_str(obj, "item_url"),
        )


@dataclass(frozen=True)
class Transaction:
    """The transaction object returned by every endpoint and sent by the payment webhook."""

    id: str
    amount: int
    authorization_result: AuthorizationResult | None
    authorization_result_raw: str = ""
    ng_reason: str = ""  # raw ``authorization_result_ng_reason`` ("1", "9", …) or ""
    shop_transaction_no: str = ""
    authentication_token: str = ""
    amount_refund_total: int = 0
    registration_datetime: str = ""
    sales_settled_datetime: str = ""
    transaction_options: tuple[int, ...] = ()
    related_transaction: str = ""
    updated_transactions: tuple[str, ...] = ()
    description_trans: str = ""
    customer: CustomerInfo = field(default_factory=CustomerInfo)
    items: tuple[Item, ...] = ()
    refunds: tuple[Refund, ...] = ()
    expired: bool = False  # [I] only if the API says so (const.EXPIRED_*)
    cancelled_flag: bool = False  # [I] only if the API says so (const.CANCELLED_*)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> Transaction:
        obj = _mapping(data, "transaction")
        tx_id = _str(obj, "id")
        if not tx_id:
            raise MalformedResponse("transaction without an id")
        raw_result = obj.get("authorization_result")
        refunds = tuple(Refund.parse(r) for r in _list(obj, "refunds"))
        refund_total = _int(obj, "amount_refund_total", sum(r.amount_refund for r in refunds))
        options: list[int] = []
        for opt in _list(obj, "transaction_options"):
            if isinstance(opt, int) and not isinstance(opt, bool):
                options.append(opt)
            elif isinstance(opt, str) and opt.strip().isdigit():
                options.append(int(opt))
        status = obj.get(const.EXPIRED_STATUS_FIELD)
        status_text = status.strip().lower() if isinstance(status, str) else ""
        return cls(
            id=tx_id,
            amount=_int(obj, "amount"),
            authorization_result=AuthorizationResult.parse(raw_result),
            authorization_result_raw="" if raw_result is None else str(raw_result),
            ng_reason=_str(obj, "authorization_result_ng_reason").strip(),
            shop_transaction_no=_str(obj, "shop_transaction_no"),
            authentication_token=_str(obj, "authentication_token"),
            amount_refund_total=refund_total,
            registration_datetime=_str(obj, "registration_datetime"),
            sales_settled_datetime=_str(obj, "sales_settled_datetime"),
            transaction_options=tuple(options),
            related_transaction=_str(obj, "related_transaction"),
            updated_transactions=tuple(str(t) for t in _list(obj, "updated_transactions") if t),
            description_trans=_str(obj, "description_trans") or _str(obj, "description"),
            customer=CustomerInfo.parse(obj.get("customer")),
            items=tuple(Item.parse(i) for i in _list(obj, "items")),
            refunds=refunds,
            expired=any(obj.get(f) is True for f in const.EXPIRED_FLAG_FIELDS)
            or status_text in const.EXPIRED_STATUS_VALUES,
            cancelled_flag=any(obj.get(f) is True for f in const.CANCELLED_FLAG_FIELDS)
            or status_text in const.CANCELLED_STATUS_VALUES,
            raw=dict(obj),
        )

    @property
    def settled(self) -> bool:
        """売上確定済み: ``sales_settled_datetime`` is set [C]."""
        return bool(self.sales_settled_datetime)


# --------------------------------------------------------------------------- 認証Webhook (§6)


@dataclass(frozen=True)
class AuthenticationNotice:
    """認証Webhook: ``{"authentication_token": "tk_…", "user_no": "…"}`` (user_no [I])."""

    authentication_token: str
    user_no: str = ""

    @classmethod
    def parse(cls, data: Any) -> AuthenticationNotice:
        obj = _mapping(data, "authentication notice")
        token = _str(obj, "authentication_token")
        if not token:
            raise MalformedResponse("authentication notice without authentication_token")
        user_no = _str(obj, "user_no")
        if not user_no and isinstance(obj.get("customer"), Mapping):
            user_no = _str(obj["customer"], "user_no")
        return cls(authentication_token=token, user_no=user_no)
