"""atone error codes (EATN…) and 与信NG reasons → Kessai's error taxonomy.

Every code of protocol note §5 is in :data:`EATN_CODES` with the official Japanese message (the table of
the official SDK README, ``netprotections/atonecon-android`` README.ja.md / ``atonecon-ios`` README) and
OUR field path (``customer.zip_code``, ``items[2].unit_price``: the paths of :class:`OrderData` and of the
hub's order API). Raw codes are kept with an action prefix: ``settle:EATN1201``.

Classification is closed by default: a 5xx, 429, timeout, connection error or unparseable body is
:class:`ProviderUnavailable` (for a non-idempotent call: outcome unknown → refresh, never retry blindly);
an unknown 4xx code inside an ``errors`` array is :class:`ProviderRequestInvalid`. Nothing unknown is
ever success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kessai.providers.atone import const
from kessai.providers.atone.api_types import ErrorBody, ErrorDetail
from kessai.providers.base import (
    FieldError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)

__all__ = [
    "DECLINE_MESSAGES",
    "EATN_CODES",
    "EatnCode",
    "TransactionNotFound",
    "connection_error",
    "decline_message",
    "error_from_response",
    "malformed_response_error",
    "timeout_error",
]


class TransactionNotFound(ProviderRequestInvalid):
    """HTTP 404 with a JSON body from the API: the transaction id is unknown at atone."""


@dataclass(frozen=True)
class EatnCode:
    """One EATN code: our error class, its Japanese message, and our field path (``{i}`` = line index)."""

    error: type[ProviderError]
    message: str
    field: str = ""
    wire_param: str = ""  # the official table's "Error item"
    # A catch-all code (EATN0396/0398) covers many situations (duplicate shop_transaction_no, unknown
    # transaction, expired 仮売上 …): the provider's own message, when it sends one, is more precise.
    generic: bool = False


_INVALID = ProviderRequestInvalid
# The buyer token the hub passes in (charge_token) or reads from the transaction (not a password).
_TOKEN = "authentication_token"  # noqa: S105

EATN_CODES: dict[str, EatnCode] = {
    # -- buyer authentication (決済認証トークン) and widget login (0301–0313)
    "EATN0301": EatnCode(_INVALID, "決済認証トークンが指定されていません。", _TOKEN, "NP_Token"),
    "EATN0302": EatnCode(_INVALID, "決済認証トークンの形式が不正です。", _TOKEN, "NP_Token"),
    "EATN0303": EatnCode(_INVALID, "決済認証トークンは有効ではありません。", _TOKEN, "NP_Token"),
    "EATN0304": EatnCode(ProviderAuthError, "店舗公開可能鍵のデータが存在しません。", "", "shop_public_key"),
    "EATN0305": EatnCode(_INVALID, "携帯番号のデータが存在しません。", "", ""),
    "EATN0306": EatnCode(ProviderAuthError, "認証に失敗しました。", "", ""),
    "EATN0307": EatnCode(_INVALID, "追跡トークンの形式が不正です。", "", "track_token"),
    "EATN0308": EatnCode(_INVALID, "会員追跡のデータが存在しません。", "", "track_token"),
    "EATN0309": EatnCode(
        _INVALID, "SMSを規定回数以上送信しています。明日以降に再度お試しください。", "", "track_token"
    ),
    "EATN0310": EatnCode(_INVALID, "SMS認証のデータが存在しません。", "", "sms_token"),
    "EATN0311": EatnCode(_INVALID, "SMS認証に5回以上失敗しました。明日以降に再度お試しください。", "", ""),
    "EATN0312": EatnCode(_INVALID, "利用ポイント数がポイント残高を超過しています。", "", "NP_Token"),
    "EATN0313": EatnCode(_INVALID, "SMSの再送信ができません。", "", "NP_Token"),
    # -- payment fields (0331–0362)
    "EATN0331": EatnCode(_INVALID, "課金額は1以上の7桁以内の半角数値で設定して下さい。", "amount", "amount"),
    "EATN0332": EatnCode(
        _INVALID,
        "加盟店取引IDは100文字以内の半角英数字記号で設定して下さい。",
        "shop_transaction_no",
        "shop_transaction_no",
    ),
    "EATN0333": EatnCode(_INVALID, "売上確定はtrueまたはfalseのいずれかを設定して下さい。", "capture", "sales_settled"),
    "EATN0334": EatnCode(
        _INVALID,
        "加盟店取引備考は改行以外の制御文字を除く255文字以内で設定して下さい。",
        "description",
        "description_trans",
    ),
    "EATN0335": EatnCode(
        _INVALID,
        "加盟店商品IDは100文字以内の半角英数字記号で設定して下さい。",
        "items[{i}].sku",
        "shop_item_id",
    ),
    "EATN0336": EatnCode(_INVALID, "商品明細に値が設定されていません。", "items", "items"),
    "EATN0337": EatnCode(_INVALID, "商品明細数は9999以下で設定して下さい。", "items", "items"),
    "EATN0338": EatnCode(_INVALID, "商品名は100文字以内で設定して下さい。", "items[{i}].name", "item_name"),
    "EATN0339": EatnCode(
        _INVALID, "商品単価は6桁以内の半角数値で設定して下さい。", "items[{i}].unit_price", "item_price"
    ),
    "EATN0340": EatnCode(_INVALID, "個数は5桁以内の半角数値で設定して下さい。", "items[{i}].quantity", "item_count"),
    "EATN0341": EatnCode(_INVALID, "商品URLは1000文字以内で設定して下さい。", "items[{i}]", "item_url"),
    "EATN0342": EatnCode(_INVALID, "氏名は100文字以内の全角で設定してください。", "customer.name", "customer_name"),
    "EATN0343": EatnCode(
        _INVALID,
        "ひらがな氏名は128文字以内の全角で設定してください。",
        "customer.name_kana",
        "customer_name_kana",
    ),
    "EATN0344": EatnCode(_INVALID, "会社名は100文字以内で設定してください。", "customer.company", "company_name"),
    "EATN0345": EatnCode(_INVALID, "部署名は30文字以内で設定してください。", "customer", "department"),
    "EATN0346": EatnCode(
        _INVALID,
        '郵便番号は半角数字7桁または半角数字3桁+"-"+半角数字4桁で設定してください。',
        "customer.zip_code",
        "zip_code",
    ),
    "EATN0347": EatnCode(_INVALID, "住所は255文字以内で設定してください。", "customer.address", "address"),
    "EATN0348": EatnCode(
        _INVALID,
        '電話番号は0から始まる半角数字10,11桁または半角数字2,3桁+"-"+半角数字4桁+"-"+半角数字4桁で設定してください。',
        "customer.phone",
        "tel",
    ),
    "EATN0349": EatnCode(
        _INVALID, "メールアドレスは255文字以内の正しい形式で設定してください。", "customer.email", "email"
    ),
    "EATN0350": EatnCode(_INVALID, "利用ポイント数は7桁以内の半角数値で設定してください。", "", "subtract_point"),
    "EATN0351": EatnCode(_INVALID, "不正なチェックサムです。", "", "checksum"),
    "EATN0352": EatnCode(_INVALID, "HTTPリクエストのContent-Typeにはapplication/jsonを指定して下さい。", "", ""),
    "EATN0353": EatnCode(_INVALID, "サービス提供先数は9以下で設定して下さい。", "destinations", "dest_customers"),
    "EATN0354": EatnCode(_INVALID, "姓は50文字以内の全角で設定してください。", "customer.name", "customer_family_name"),
    "EATN0355": EatnCode(_INVALID, "名は50文字以内の全角で設定してください。", "customer.name", "customer_given_name"),
    "EATN0356": EatnCode(
        _INVALID,
        "ひらがな姓は64文字以内の全角で設定してください。",
        "customer.name_kana",
        "customer_family_name_kana",
    ),
    "EATN0357": EatnCode(
        _INVALID,
        "ひらがな名は64文字以内の全角で設定してください。",
        "customer.name_kana",
        "customer_given_name_kana",
    ),
    "EATN0358": EatnCode(
        _INVALID,
        '携帯電話番号は070,080,090始まりの半角数字10,11桁または半角数字2,3桁+"-"+半角数字4桁+"-"+半角数字4桁で設定してください。',
        "customer.phone",
        "phone_number",
    ),
    "EATN0359": EatnCode(_INVALID, "生年月日はYYYY-MM-DD形式の日付を設定してください。", "customer", "birthday"),
    # EATN0360 has two meanings in the official table: sex_division (a field we never send) and
    # "no valid service contract" on the buyer token. The contract meaning is the default; the
    # field meaning is chosen when the provider names ``sex_division`` (see _SEX_DIVISION_0360).
    "EATN0360": EatnCode(_INVALID, "有効なサービス利用契約が無いため処理できません。", "", "NP_Token"),
    "EATN0361": EatnCode(
        _INVALID, "累計購入回数は0以上の7桁以内の半角数値で設定して下さい。", "", "total_purchase_count"
    ),
    "EATN0362": EatnCode(
        _INVALID, "累計購入金額は0以上の8桁以内の半角数値で設定して下さい。", "", "total_purchase_amount"
    ),
    "EATN0363": EatnCode(_INVALID, "有効な電話番号が会員に設定されていないため処理できません。", "", "NP_Token"),
    # -- request / service (0396–0399)
    # EATN0396: listed without a message in the official table; wording is ours [I].
    "EATN0396": EatnCode(_INVALID, "atoneがリクエストを受け付けませんでした。", "", "", generic=True),
    "EATN0397": EatnCode(_INVALID, "HTTPリクエストに含まれるJSONの形式が不正です。", "", ""),
    "EATN0398": EatnCode(_INVALID, "不正なリクエストです。", "", "", generic=True),
    "EATN0399": EatnCode(
        ProviderUnavailable,
        "現在サービスを利用できません。恐れ入りますが、時間を空けて再度お試し下さい。",
        "",
        "",
    ),
    # -- settle (売上確定). [I]: tolerated by CS-Cart at settle; read as "already settled".
    const.ALREADY_SETTLED_CODE: EatnCode(_INVALID, "この取引は既に売上確定済みです。", "", ""),
}

_SEX_DIVISION_0360 = EatnCode(_INVALID, "性別は男性:1, 女性:2で設定してください。", "customer", "sex_division")

# Wire field names (as they may appear in ``params``) → our field path. Used before the code's
# default so that, e.g., a zip-code error on a destination points at ``destinations[0].zip_code``.
WIRE_FIELDS: dict[str, str] = {
    "amount": "amount",
    "shop_transaction_no": "shop_transaction_no",
    "sales_settled": "capture",
    "description_trans": "description",
    "authentication_token": _TOKEN,
    "amount_refund": "amount",  # the refund operation's amount
    "refund_reason": "reason",
    "items": "items",
    "shop_item_id": "items[{i}].sku",
    "item_name": "items[{i}].name",
    "item_price": "items[{i}].unit_price",
    "item_count": "items[{i}].quantity",
    "item_url": "items[{i}]",
    "customer": "customer",
    "customer_name": "customer.name",
    "customer_family_name": "customer.name",
    "customer_given_name": "customer.name",
    "customer_name_kana": "customer.name_kana",
    "customer_family_name_kana": "customer.name_kana",
    "customer_given_name_kana": "customer.name_kana",
    "company_name": "customer.company",
    "zip_code": "customer.zip_code",
    "address": "customer.address",
    "tel": "customer.phone",
    "phone_number": "customer.phone",
    "email": "customer.email",
    "dest_customers": "destinations",
    "dest_customer_name": "destinations[{i}].name",
    "dest_customer_name_kana": "destinations[{i}].name_kana",
    "dest_company_name": "destinations[{i}].company",
    "dest_department": "destinations[{i}]",
    "dest_zip_code": "destinations[{i}].zip_code",
    "dest_address": "destinations[{i}].address",
    "dest_tel": "destinations[{i}].phone",
}

# The 与信NG reasons (authorization_result_ng_reason), as shown to staff and buyers.
DECLINE_MESSAGES: dict[str, str] = {
    const.NG_REASON_AMOUNT_EXCEEDED: (
        "ご利用可能額を超えているため、atoneをご利用いただけません。恐れ入りますが、他のお支払い方法をご利用ください。"
    ),
    const.NG_REASON_OTHER: (
        "審査の結果、atoneをご利用いただけません。恐れ入りますが、他のお支払い方法をご利用ください。"
    ),
}
_DECLINE_FALLBACK = (
    "審査の結果、atoneをご利用いただけません（理由コード: {reason}）。他のお支払い方法をご利用ください。"
)


def decline_message(reason: str) -> str:
    """Japanese message for an NG reason code ("1", "9"; unknown codes get a generic message)."""
    return DECLINE_MESSAGES.get(reason) or _DECLINE_FALLBACK.format(reason=reason or "-")


# --------------------------------------------------------------------------- field paths

_INDEX = re.compile(r"\d+")
_SEGMENT = re.compile(r"[A-Za-z_]+")


def _lookup(detail: ErrorDetail) -> EatnCode | None:
    if detail.code == "EATN0360" and any(p.endswith("sex_division") for p in detail.params):
        return _SEX_DIVISION_0360
    return EATN_CODES.get(detail.code)


def _field_path(detail: ErrorDetail, entry: EatnCode | None) -> str:
    """Our field path: from ``params`` when it names a wire field, else the code's default."""
    template = entry.field if entry else ""
    index: str | None = None
    for param in detail.params:
        names = _SEGMENT.findall(param)
        indexes = _INDEX.findall(param)
        if indexes:
            index = indexes[-1]
        for name in reversed(names):
            if name in WIRE_FIELDS:
                template = WIRE_FIELDS[name]
                break
        if template:
            break
    if not template:
        return ""
    return template.replace("{i}", index if index is not None else "*")


def _message(detail: ErrorDetail, entry: EatnCode | None) -> str:
    if entry is not None and not (entry.generic and detail.messages and detail.messages[0].strip()):
        return entry.message
    if detail.messages:
        return detail.messages[0]
    return f"atoneがリクエストを受け付けませんでした（{detail.code or 'コード不明'}）。"


# --------------------------------------------------------------------------- classification

_SEVERITY: tuple[type[ProviderError], ...] = (ProviderUnavailable, ProviderAuthError, ProviderRequestInvalid)


def _payload(status: int, body: Any) -> dict[str, Any]:
    return {"http_status": status, "body": body if isinstance(body, Mapping | list | str) else None}


def error_from_response(action: str, status: int, body: Any, *, request_id: str = "") -> ProviderError:
    """Classify an error answer. ``body`` is the parsed JSON (or ``None`` when it was not JSON).

    Also used for a 2xx whose body carries a non-empty ``errors`` array (W2 treats that as failure).
    """
    parsed = ErrorBody.parse(body)
    payload = _payload(status, body)

    if parsed is None:
        if status == 429 or status >= 500:
            return ProviderUnavailable(
                f"atoneが一時的に利用できません（HTTP {status}）。時間を空けて取引照会で結果を確認してください。",
                code=f"{action}:HTTP{status}",
                request_id=request_id,
                payload=payload,
            )
        if status == 401:
            return ProviderAuthError(
                EATN_CODES["EATN0306"].message + "店舗秘密鍵を確認してください。",
                code=f"{action}:HTTP401",
                request_id=request_id,
                payload=payload,
            )
        if status == 404 and isinstance(body, Mapping):
            return TransactionNotFound(
                "指定された取引がatoneに存在しません。",
                code=f"{action}:HTTP404",
                request_id=request_id,
                payload=payload,
            )
        # Closed by default: anything else we cannot read is "outcome unknown".
        return ProviderUnavailable(
            f"atoneから予期しない応答がありました（HTTP {status}）。取引照会で結果を確認してください。",
            code=f"{action}:HTTP{status}",
            request_id=request_id,
            payload=payload,
        )

    entries = [(detail, _lookup(detail)) for detail in parsed.errors]

    def class_of(entry: EatnCode | None) -> type[ProviderError]:
        return entry.error if entry is not None else ProviderRequestInvalid

    chosen: type[ProviderError] = ProviderRequestInvalid
    if status == 429 or status >= 500:
        chosen = ProviderUnavailable
    else:
        for severity in _SEVERITY:
            if any(issubclass(class_of(entry), severity) for _, entry in entries):
                chosen = severity
                break
    if chosen is ProviderRequestInvalid and status == 404:
        chosen = TransactionNotFound

    primary = next(
        (d for d, e in entries if issubclass(class_of(e), chosen) or chosen is TransactionNotFound),
        parsed.errors[0],
    )
    messages: list[str] = []
    fields: list[FieldError] = []
    for detail, entry in entries:
        message = _message(detail, entry)
        if message not in messages:
            messages.append(message)
        path = _field_path(detail, entry)
        if path:
            fields.append(FieldError(field=path, code=detail.code, message=message))
    message = _message(primary, _lookup(primary))
    if len(messages) > 1:
        message = "\n".join(messages)
    if chosen is ProviderAuthError:
        message += "（店舗秘密鍵・店舗公開可能鍵を確認してください。）"
    return chosen(
        message,
        code=f"{action}:{primary.code or f'HTTP{status}'}",
        request_id=request_id,
        fields=tuple(fields),
        payload=payload,
    )


def timeout_error(action: str, *, request_id: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "atoneの応答がタイムアウトしました。処理結果が不明なため、取引照会で確認してください。",
        code=f"{action}:timeout",
        request_id=request_id,
    )


def connection_error(action: str, *, request_id: str = "", detail: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "atoneとの通信に失敗しました。処理結果が不明なため、取引照会で確認してください。",
        code=f"{action}:connection",
        request_id=request_id,
        payload={"detail": detail} if detail else None,
    )


def malformed_response_error(
    action: str, *, status: int, request_id: str = "", detail: str = ""
) -> ProviderUnavailable:
    return ProviderUnavailable(
        "atoneの応答を解釈できませんでした。処理結果が不明なため、取引照会で確認してください。",
        code=f"{action}:unparseable",
        request_id=request_id,
        payload={"http_status": status, "detail": detail},
    )
