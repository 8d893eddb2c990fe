"""GMO後払い answers → Kessai's error taxonomy.

GMO answers HTTP 200 with ``<result>NG</result>`` and ``errors{error[{errorCode, errorMessage}]}``. Raw codes
are kept with an action prefix: ``register:CT0049``, ``shipment:HTTP503``.

Classification is closed by default: a 5xx, 429, any other non-200, a timeout, a connection error or an
answer that is not (safe) XML is :class:`ProviderUnavailable` (for a non-idempotent call: outcome unknown
→ refresh, never retry blindly). An NG answer is classified by its codes (``const.AUTH_ERROR_CODES`` →
:class:`ProviderAuthError`, ``const.UNAVAILABLE_CODE_PREFIX`` → unavailable, ``const.NOT_FOUND_CODES`` →
:class:`TransactionNotFound`), anything else → :class:`ProviderRequestInvalid` with GMO's own Japanese
message. Nothing unknown is ever success.

GMO's codes are not public (beyond CT0049), so field paths are read from the Japanese message: the field
labels it names (「郵便番号」, 「配送先住所」, 「明細(2行目)の単価」 …) map to OUR field paths
(:func:`field_path`, [I]).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kessai.providers.base import (
    FieldError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)
from kessai.providers.gmo_atobarai import const
from kessai.providers.gmo_atobarai.api_types import ErrorDetail

__all__ = [
    "DECLINE_MESSAGE",
    "REVIEW_MESSAGE",
    "TransactionNotFound",
    "connection_error",
    "error_from_ng",
    "field_path",
    "http_error",
    "malformed_response_error",
    "timeout_error",
]


class TransactionNotFound(ProviderRequestInvalid):
    """The gmoTransactionId is unknown to GMO後払い for this shop."""


DECLINE_MESSAGE = (
    "GMO後払いの審査の結果、ご利用いただけませんでした。恐れ入りますが、他のお支払い方法をご利用ください。"
)
REVIEW_MESSAGE = "GMO後払いで与信審査中です。審査結果は与信結果確認で反映されます。"
INVOICE_DATA_MESSAGE = "同梱請求書のデータに誤りがあります（同梱は購入者と配送先が同じ場合のみ利用できます）。"

# Label keywords in GMO's messages → our field (first match wins; the delivery ones come first).
_DELIVERY_LABELS: tuple[tuple[str, str], ...] = (
    ("氏名カナ", "name_kana"),
    ("カナ", "name_kana"),
    ("氏名", "name"),
    ("郵便番号", "zip_code"),
    ("住所", "address"),
    ("電話番号", "phone"),
    ("会社名", "company"),
)
_BUYER_LABELS: tuple[tuple[str, str], ...] = (
    *_DELIVERY_LABELS,
    ("メールアドレス", "email"),
    ("部署名", "company"),
)
_ITEM_LABELS: tuple[tuple[str, str], ...] = (("商品名", "name"), ("単価", "unit_price"), ("数量", "quantity"))
_ORDER_LABELS: tuple[tuple[str, str], ...] = (
    ("加盟店取引ID", "shop_transaction_no"),
    ("注文日", "ordered_at"),
    ("請求金額", "amount"),
    ("運送会社", "carrier"),
    ("伝票番号", "tracking_no"),
    ("請求書発行日", "shipped_on"),
)
_LINE = re.compile(r"(\d+)\s*行目")


def field_path(message: str, *, destination_field: str = "destinations[0]") -> str:
    """OUR field path for a GMO message, or "" ([I], see module doc). ``destination_field`` is where the
    delivery address came from (``destinations[0]``, or ``customer`` when the order had none)."""
    if "明細" in message or "商品" in message:
        line = _LINE.search(message)
        index = str(int(line.group(1)) - 1) if line else "*"
        for label, name in _ITEM_LABELS:
            if label in message:
                return f"items[{index}].{name}"
        return f"items[{index}]" if line else "items"
    for label, name in _ORDER_LABELS:
        if label in message:
            return name
    if "配送先" in message:
        for label, name in _DELIVERY_LABELS:
            if label in message:
                return f"{destination_field}.{name}"
        return destination_field
    for label, name in _BUYER_LABELS:
        if label in message:
            return f"customer.{name}"
    return ""


def _payload(status: int, body: Any) -> dict[str, Any]:
    return {"http_status": status, "body": body if isinstance(body, Mapping | str) else None}


def _message(detail: ErrorDetail) -> str:
    if detail.code == const.INVOICE_DATA_CODE:
        return INVOICE_DATA_MESSAGE + (f"（{detail.message}）" if detail.message else "")
    return detail.message or f"GMO後払いがリクエストを受け付けませんでした（{detail.code or 'コード不明'}）。"


def error_from_ng(
    action: str,
    errors: tuple[ErrorDetail, ...],
    *,
    request_id: str = "",
    raw: Mapping[str, Any] | None = None,
    destination_field: str = "destinations[0]",
) -> ProviderError:
    """Classify an NG answer (HTTP 200, ``result`` NG)."""
    payload = {"http_status": 200, "body": dict(raw or {})}
    if not errors:
        return ProviderUnavailable(
            "GMO後払いがエラーを返しましたが内容を読み取れませんでした。最新の状態を取得して確認してください。",
            code=f"{action}:NG",
            request_id=request_id,
            payload=payload,
        )
    codes = [e.code for e in errors]
    primary = errors[0]
    chosen: type[ProviderError] = ProviderRequestInvalid
    if any(c in const.AUTH_ERROR_CODES for c in codes):
        chosen = ProviderAuthError
        primary = next(e for e in errors if e.code in const.AUTH_ERROR_CODES)
    elif any(c.startswith(const.UNAVAILABLE_CODE_PREFIX) for c in codes):
        chosen = ProviderUnavailable
        primary = next(e for e in errors if e.code.startswith(const.UNAVAILABLE_CODE_PREFIX))
    elif any(c in const.NOT_FOUND_CODES for c in codes):
        chosen = TransactionNotFound
        primary = next(e for e in errors if e.code in const.NOT_FOUND_CODES)
    messages: list[str] = []
    fields: list[FieldError] = []
    for detail in errors:
        message = _message(detail)
        if message not in messages:
            messages.append(message)
        path = field_path(detail.message, destination_field=destination_field)
        if path:
            fields.append(FieldError(field=path, code=detail.code, message=message))
    message = "\n".join(messages)
    if chosen is ProviderAuthError:
        message = (
            "GMO後払いの認証に失敗しました。認証ID・加盟店コード・接続パスワードを確認してください。"
            f"（{primary.message}）"
        )
    elif chosen is ProviderUnavailable:
        message = f"GMO後払いが一時的に利用できません（{primary.message}）。最新の状態を取得して確認してください。"
    return chosen(
        message,
        code=f"{action}:{primary.code or 'NG'}",
        request_id=request_id,
        fields=tuple(fields) if chosen in (ProviderRequestInvalid, TransactionNotFound) else (),
        payload=payload,
    )


def http_error(action: str, status: int, body: Any, *, request_id: str = "") -> ProviderUnavailable:
    """A non-200 answer: GMO answers NG with 200, so anything else is an outage or a proxy (unknown)."""
    return ProviderUnavailable(
        f"GMO後払いが一時的に利用できません（HTTP {status}）。最新の状態を取得して確認してください。",
        code=f"{action}:HTTP{status}",
        request_id=request_id,
        payload=_payload(status, body),
    )


def timeout_error(action: str, *, request_id: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "GMO後払いの応答がタイムアウトしました。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:timeout",
        request_id=request_id,
    )


def connection_error(action: str, *, request_id: str = "", detail: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "GMO後払いとの通信に失敗しました。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:connection",
        request_id=request_id,
        payload={"detail": detail} if detail else None,
    )


def malformed_response_error(
    action: str, *, status: int, request_id: str = "", detail: str = ""
) -> ProviderUnavailable:
    return ProviderUnavailable(
        "GMO後払いの応答を解釈できませんでした。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:unparseable",
        request_id=request_id,
        payload={"http_status": status, "detail": detail},
    )
