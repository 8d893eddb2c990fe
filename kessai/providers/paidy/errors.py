"""Paidy error answers → Kessai's error taxonomy.

Any non-200 answer carries ``{reference, status, code, title, description}`` [C S8]. Raw codes are kept
with an action prefix: ``capture:request_content.malformed``, ``refund:HTTP404``.

Classification is closed by default: a 5xx, 429, timeout, connection error or an answer without a
readable error body is :class:`ProviderUnavailable` (for a non-idempotent call: outcome unknown → refresh,
never retry blindly); 401/403 (``authentication.failed``) is :class:`ProviderAuthError`; 404 is
:class:`PaymentNotFound`; any other 4xx with an error body is :class:`ProviderRequestInvalid`. Nothing
unknown is ever success.

Paidy's error bodies have no field list. When ``description`` names a wire field (decision
``const.DESCRIPTION_NAMES_FIELDS``), it is reported under OUR field path (:data:`WIRE_FIELDS`).
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
from kessai.providers.paidy import const
from kessai.providers.paidy.api_types import ErrorBody

__all__ = [
    "CODE_MESSAGES",
    "WIRE_FIELDS",
    "PaymentNotFound",
    "connection_error",
    "decline_message",
    "error_from_response",
    "field_errors",
    "malformed_response_error",
    "timeout_error",
]


class PaymentNotFound(ProviderRequestInvalid):
    """HTTP 404: the payment (or token) id is unknown to Paidy for these keys."""


# Japanese messages for the codes the note confirms; anything else gets a generic message that names
# the code, plus Paidy's own (English) description for support.
CODE_MESSAGES: dict[str, str] = {
    const.ERROR_MALFORMED: "Paidyへのリクエストの内容が不正です。",
    const.ERROR_AUTHENTICATION: "Paidyの認証に失敗しました。シークレットキーを確認してください。",
}

DECLINE_MESSAGE = "Paidyの審査の結果、ご利用いただけませんでした。恐れ入りますが、他のお支払い方法をご利用ください。"
DECLINE_CODE = const.STATUS_REJECTED


def decline_message() -> str:
    return DECLINE_MESSAGE


# Wire field paths (as Paidy's description may name them) → our field paths (``{i}`` = item index).
# Longest first so that ``order.items[0].unit_price`` wins over ``order``.
WIRE_FIELDS: dict[str, str] = {
    "order.items[{i}].unit_price": "items[{i}].unit_price",
    "order.items[{i}].quantity": "items[{i}].quantity",
    "order.items[{i}].title": "items[{i}].name",
    "order.items[{i}].id": "items[{i}].sku",
    "order.items[{i}]": "items[{i}]",
    "order.items": "items",
    "order.order_ref": "shop_transaction_no",
    "order.tax": "items",
    "order.shipping": "items",
    "order": "items",
    "buyer.name1": "customer.name",
    "buyer.name2": "customer.name_kana",
    "buyer.email": "customer.email",
    "buyer.phone": "customer.phone",
    "buyer": "customer",
    "shipping_address.zip": "{dest}.zip_code",
    "shipping_address.state": "{dest}.address",
    "shipping_address.city": "{dest}.address",
    "shipping_address.line1": "{dest}.address",
    "shipping_address.line2": "{dest}.address",
    "shipping_address": "{dest}",
    "token_id": "authentication_token",
    "capture_id": "provider_ref",
    "amount": "amount",
    "description": "description",
    "metadata": "metadata",
}

_WIRE_PATH = re.compile(r"[A-Za-z_]+(?:\[\d+\])?(?:\.[A-Za-z_0-9]+(?:\[\d+\])?)*")
_INDEX = re.compile(r"\[(\d+)\]")


def _our_path(wire_path: str, destination_field: str) -> str:
    index_match = _INDEX.search(wire_path)
    template_key = _INDEX.sub("[{i}]", wire_path)
    while template_key:
        target = WIRE_FIELDS.get(template_key)
        if target is not None:
            path = target.replace("{dest}", destination_field)
            return path.replace("{i}", index_match.group(1) if index_match else "*")
        if "." not in template_key and "[" not in template_key:
            return ""
        # Drop the last segment (``buyer.email.domain`` → ``buyer.email``, ``order.items[{i}]`` → ``order.items``).
        if template_key.endswith("]"):
            template_key = template_key[: template_key.rfind("[")]
        else:
            template_key = template_key.rsplit(".", 1)[0]
    return ""


def field_errors(error: ErrorBody, message: str, *, destination_field: str = "customer") -> tuple[FieldError, ...]:
    """Our field paths for the wire fields ``description`` names ([I], see module doc).

    ``destination_field``: where the order's shipping address came from (``destinations[0]`` or
    ``customer``), so that ``shipping_address.zip`` points at the field staff must fix."""
    if not const.DESCRIPTION_NAMES_FIELDS or not error.description:
        return ()
    fields: list[FieldError] = []
    for candidate in _WIRE_PATH.findall(error.description):
        root = candidate.split(".", 1)[0].split("[", 1)[0]
        if root not in {"order", "buyer", "shipping_address", "token_id", "amount", "capture_id", "metadata"}:
            continue
        path = _our_path(candidate, destination_field)
        if path and all(f.field != path for f in fields):
            fields.append(FieldError(field=path, code=error.code, message=message))
    return tuple(fields)


def _payload(status: int, body: Any) -> dict[str, Any]:
    return {"http_status": status, "body": body if isinstance(body, Mapping | list | str) else None}


def _message(error: ErrorBody) -> str:
    base = CODE_MESSAGES.get(error.code) or f"Paidyがリクエストを受け付けませんでした（{error.code}）。"
    detail = error.description or error.title
    return f"{base}（{detail}）" if detail and error.code != const.ERROR_AUTHENTICATION else base


def error_from_response(
    action: str, status: int, body: Any, *, request_id: str = "", destination_field: str = "customer"
) -> ProviderError:
    """Classify a non-2xx answer. ``body`` is the parsed JSON (``None`` when it was not JSON)."""
    parsed = ErrorBody.parse(body)
    payload = _payload(status, body)
    if status == 429 or status >= 500:
        return ProviderUnavailable(
            f"Paidyが一時的に利用できません（HTTP {status}）。時間を空けて最新の状態を取得してください。",
            code=f"{action}:{parsed.code if parsed else f'HTTP{status}'}",
            request_id=request_id,
            payload=payload,
        )
    if status in (401, 403) or (parsed is not None and parsed.code == const.ERROR_AUTHENTICATION):
        return ProviderAuthError(
            CODE_MESSAGES[const.ERROR_AUTHENTICATION],
            code=f"{action}:{parsed.code if parsed else f'HTTP{status}'}",
            request_id=request_id,
            payload=payload,
        )
    if parsed is None:
        if status == 404 and isinstance(body, Mapping):
            return PaymentNotFound(
                "指定された決済がPaidyに存在しません。",
                code=f"{action}:HTTP404",
                request_id=request_id,
                payload=payload,
            )
        # Closed by default: an answer we cannot read is "outcome unknown".
        return ProviderUnavailable(
            f"Paidyから予期しない応答がありました（HTTP {status}）。最新の状態を取得して確認してください。",
            code=f"{action}:HTTP{status}",
            request_id=request_id,
            payload=payload,
        )
    if status == 404:
        return PaymentNotFound(
            f"指定された決済がPaidyに存在しません。（{parsed.description or parsed.code}）",
            code=f"{action}:{parsed.code}",
            request_id=request_id,
            payload=payload,
        )
    if not 400 <= status < 500:
        return ProviderUnavailable(
            f"Paidyから予期しない応答がありました（HTTP {status}）。最新の状態を取得して確認してください。",
            code=f"{action}:HTTP{status}",
            request_id=request_id,
            payload=payload,
        )
    message = _message(parsed)
    return ProviderRequestInvalid(
        message,
        code=f"{action}:{parsed.code}",
        request_id=request_id,
        fields=field_errors(parsed, message, destination_field=destination_field),
        payload=payload,
    )


def timeout_error(action: str, *, request_id: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "Paidyの応答がタイムアウトしました。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:timeout",
        request_id=request_id,
    )


def connection_error(action: str, *, request_id: str = "", detail: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "Paidyとの通信に失敗しました。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:connection",
        request_id=request_id,
        payload={"detail": detail} if detail else None,
    )


def malformed_response_error(
    action: str, *, status: int, request_id: str = "", detail: str = ""
) -> ProviderUnavailable:
    return ProviderUnavailable(
        "Paidyの応答を解釈できませんでした。処理結果が不明なため、最新の状態を取得して確認してください。",
        code=f"{action}:unparseable",
        request_id=request_id,
        payload={"http_status": status, "detail": detail},
    )
