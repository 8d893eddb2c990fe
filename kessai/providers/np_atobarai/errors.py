"""NP後払い error codes (E…/EPRO…), 保留 reasons (RE…) and NG reasons → Kessai's error taxonomy.

Every code of protocol note §1.5 (and the English texts of Saleor's gateway, S1) is in :data:`E_CODES` with
a Japanese message and OUR field path (``customer.zip_code``, ``destinations[0].phone``: the paths of
:class:`~kessai.providers.base.OrderData` and the hub's order API). Raw codes are kept with an action
prefix: ``shipment:E0100115``.

Classification is closed by default: a 5xx, 429, timeout, connection error or unreadable body is
:class:`ProviderUnavailable` (for a non-idempotent call: outcome unknown → refresh, never retry blindly);
401/403 are :class:`ProviderAuthError`; an unknown code inside an ``errors`` array is
:class:`ProviderRequestInvalid`. Nothing unknown is ever success.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kessai.providers.base import (
    FieldError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)
from kessai.providers.np_atobarai import const

__all__ = [
    "E_CODES",
    "HOLD_REASONS",
    "NG_REASONS",
    "NpCode",
    "TransactionNotFound",
    "auth_error",
    "connection_error",
    "decline_message",
    "error_from_codes",
    "error_from_status",
    "hold_message",
    "malformed_response_error",
    "review_message",
    "timeout_error",
]


class TransactionNotFound(ProviderRequestInvalid):
    """E0100113: the NP transaction id is unknown at NP."""


@dataclass(frozen=True)
class NpCode:
    """One NP code: our error class, its Japanese message and our field path."""

    error: type[ProviderError]
    message: str
    field: str = ""


_INVALID = ProviderRequestInvalid
_C = "customer"
_D = "destinations[0]"
_PREFIXES = "020・050・060・070・080・090"

E_CODES: dict[str, NpCode] = {
    # -- NP transaction id (§1.5)
    "E0100002": NpCode(_INVALID, "NP取引IDは半角英数字で指定してください。"),
    "E0100003": NpCode(_INVALID, "NP取引IDは11桁で指定してください。"),
    # -- buyer (購入者) fields
    "E0100048": NpCode(_INVALID, "購入者の氏名を入力してください。", f"{_C}.name"),
    "E0100049": NpCode(_INVALID, "購入者の氏名に使用できない文字が含まれています。", f"{_C}.name"),
    "E0100050": NpCode(_INVALID, "購入者の氏名は全角21文字以内で入力してください。", f"{_C}.name"),
    "E0100051": NpCode(_INVALID, "購入者の氏名(カナ)は全角25文字以内で入力してください。", f"{_C}.name_kana"),
    "E0100052": NpCode(_INVALID, "購入者の氏名(カナ)に使用できない文字が含まれています。", f"{_C}.name_kana"),
    "E0100053": NpCode(_INVALID, "購入者の会社名は全角30文字以内で入力してください。", f"{_C}.company"),
    "E0100054": NpCode(_INVALID, "購入者の会社名に使用できない文字が含まれています。", f"{_C}.company"),
    "E0100055": NpCode(_INVALID, "購入者の部署名は全角30文字以内で入力してください。", _C),
    "E0100056": NpCode(_INVALID, "購入者の部署名に使用できない文字が含まれています。", _C),
    "E0100057": NpCode(_INVALID, "購入者の郵便番号を入力してください。", f"{_C}.zip_code"),
    "E0100058": NpCode(_INVALID, "購入者の郵便番号に使用できない文字が含まれています。", f"{_C}.zip_code"),
    "E0100136": NpCode(_INVALID, "購入者の郵便番号の形式が正しくありません(例: 1070052、107-0052)。", f"{_C}.zip_code"),
    "E0100059": NpCode(_INVALID, "購入者の郵便番号と住所が一致しません。", f"{_C}.zip_code"),
    "E0100060": NpCode(_INVALID, "購入者の住所を入力してください。", f"{_C}.address"),
    "E0100061": NpCode(_INVALID, "購入者の住所に使用できない文字が含まれています。", f"{_C}.address"),
    "E0100062": NpCode(_INVALID, "購入者の住所は全角55文字以内で入力してください。", f"{_C}.address"),
    "E0100063": NpCode(_INVALID, "購入者の電話番号を入力してください。", f"{_C}.phone"),
    "E0100064": NpCode(_INVALID, "購入者の電話番号に使用できない文字が含まれています。", f"{_C}.phone"),
    "E0100065": NpCode(_INVALID, "購入者の電話番号の形式が正しくありません。", f"{_C}.phone"),
    "E0100066": NpCode(_INVALID, f"購入者の電話番号が{_PREFIXES}で始まる場合は11桁で入力してください。", f"{_C}.phone"),
    "E0100067": NpCode(
        _INVALID, f"購入者の電話番号が{_PREFIXES}以外で始まる場合は10桁で入力してください。", f"{_C}.phone"
    ),
    # "This item is required by merchants" (S1), listed with the e-mail codes: the buyer's e-mail address.
    "E0100068": NpCode(_INVALID, "購入者のメールアドレスを入力してください(加盟店様の必須項目です)。", f"{_C}.email"),
    "E0100069": NpCode(_INVALID, "購入者のメールアドレスに使用できない文字が含まれています。", f"{_C}.email"),
    "E0100070": NpCode(_INVALID, "購入者のメールアドレスは半角100文字以内で入力してください。", f"{_C}.email"),
    "E0100071": NpCode(_INVALID, "購入者のメールアドレスの形式が正しくありません。", f"{_C}.email"),
    # -- delivery destination (配送先) fields
    "E0100072": NpCode(_INVALID, "配送先の氏名を入力してください。", f"{_D}.name"),
    "E0100073": NpCode(_INVALID, "配送先の氏名に使用できない文字が含まれています。", f"{_D}.name"),
    "E0100074": NpCode(_INVALID, "配送先の氏名は全角21文字以内で入力してください。", f"{_D}.name"),
    "E0100075": NpCode(_INVALID, "配送先の氏名(カナ)は全角25文字以内で入力してください。", f"{_D}.name_kana"),
    "E0100076": NpCode(_INVALID, "配送先の氏名(カナ)に使用できない文字が含まれています。", f"{_D}.name_kana"),
    "E0100077": NpCode(_INVALID, "配送先の会社名は全角30文字以内で入力してください。", f"{_D}.company"),
    "E0100078": NpCode(_INVALID, "配送先の会社名に使用できない文字が含まれています。", f"{_D}.company"),
    "E0100079": NpCode(_INVALID, "配送先の部署名は全角30文字以内で入力してください。", _D),
    "E0100080": NpCode(_INVALID, "配送先の部署名に使用できない文字が含まれています。", _D),
    "E0100081": NpCode(_INVALID, "配送先の郵便番号を入力してください。", f"{_D}.zip_code"),
    "E0100082": NpCode(_INVALID, "配送先の郵便番号に使用できない文字が含まれています。", f"{_D}.zip_code"),
    "E0100137": NpCode(_INVALID, "配送先の郵便番号の形式が正しくありません(例: 1070052、107-0052)。", f"{_D}.zip_code"),
    "E0100083": NpCode(_INVALID, "配送先の郵便番号と住所が一致しません。", f"{_D}.zip_code"),
    "E0100084": NpCode(_INVALID, "配送先の住所を入力してください。", f"{_D}.address"),
    "E0100085": NpCode(_INVALID, "配送先の住所に使用できない文字が含まれています。", f"{_D}.address"),
    "E0100086": NpCode(_INVALID, "配送先の住所は全角55文字以内で入力してください。", f"{_D}.address"),
    "E0100087": NpCode(_INVALID, "配送先の電話番号を入力してください。", f"{_D}.phone"),
    "E0100088": NpCode(_INVALID, "配送先の電話番号に使用できない文字が含まれています。", f"{_D}.phone"),
    "E0100089": NpCode(_INVALID, "配送先の電話番号の形式が正しくありません。", f"{_D}.phone"),
    "E0100090": NpCode(_INVALID, f"配送先の電話番号が{_PREFIXES}で始まる場合は11桁で入力してください。", f"{_D}.phone"),
    "E0100091": NpCode(_INVALID, "配送先の電話番号が入力されているか確認してください。", f"{_D}.phone"),
    # -- transaction state (§1.5)
    const.NOT_FOUND_CODE: NpCode(TransactionNotFound, "指定された取引がNP後払いに存在しません。"),
    "E0100114": NpCode(_INVALID, "購入者のお支払い後のため、この操作はできません。"),
    const.ALREADY_SHIPPED_CODE: NpCode(_INVALID, "この取引は既に出荷報告済みです。"),
    const.ALREADY_CANCELLED_CODE: NpCode(_INVALID, "この取引は既にキャンセルされています。"),
    "E0100131": NpCode(_INVALID, "加盟店への返品(差し戻し)後の取引のため、この操作はできません。"),
    "E0100132": NpCode(_INVALID, "この取引の支払方法ではこの操作はできません。"),
    "E0131006": NpCode(_INVALID, "この取引は既に再登録されています。"),
    "E0131011": NpCode(_INVALID, "この取引の再登録の回数が上限を超えています。"),
    # -- envelope (§1.1)
    const.EMPTY_ENVELOPE_CODE: NpCode(_INVALID, "取引が1件も指定されていません。"),
    "EPRO0102": NpCode(_INVALID, "一度に指定できる取引は1,000件までです。"),
    "EPRO0105": NpCode(_INVALID, "NP取引IDを指定してください。"),
    "EPRO0106": NpCode(_INVALID, "同じNP取引IDが重複して指定されています。"),
    "EPRO0107": NpCode(_INVALID, "NPカードの取引のため、この操作はできません。"),
}

# 保留理由 (authori_hold) [C S1,S2], as shown to staff on the payment.
HOLD_REASONS: dict[str, str] = {
    "RE009": "ご請求先の住所情報が不足している可能性があります(建物名・部屋番号、会社名・店舗名をご確認ください)。",
    "RE014": (
        "ご請求先が一時滞在先(ホテル等)、または郵便局・コンビニ・運送会社営業所での受け取りのため、"
        "NP後払いをご利用いただけません。住所と購入者の在籍状況をご確認ください。"
    ),
    "RE015": "配送先の住所情報が不足している可能性があります(建物名・部屋番号、会社名・店舗名をご確認ください)。",
    "RE020": (
        "配送先が一時滞在先(ホテル等)、または郵便局・コンビニ・運送会社営業所での受け取りのため、"
        "NP後払いをご利用いただけません。配送先をご確認ください。"
    ),
    "RE021": "ご請求先の電話番号に誤りがある可能性があります。電話番号をご確認ください。",
    "RE023": "配送先の電話番号に誤りがある可能性があります。電話番号をご確認ください。",
    "RE026": (
        "私書箱宛て、社員購入(社内取引)、未審査サイト、送料のみのご請求、取扱禁止商品などに該当する可能性があります。"
        "該当する場合は取引をキャンセルしてください。"
    ),
}
_HOLD_FALLBACK = "保留理由の詳細はNP後払いの加盟店管理画面でご確認ください。"

# 与信NG理由 (authori_ng) [C S5; S2 relabels them RE001–RE003].
_NG_OVER_LIMIT = "ご利用限度額を超えているため、NP後払いをご利用いただけません。他のお支払い方法をご利用ください。"
_NG_INSUFFICIENT = (
    "ご購入者様の情報が不足しているため、NP後払いをご利用いただけません。他のお支払い方法をご利用ください。"
)
_NG_OTHER = "審査の結果、NP後払いをご利用いただけません。他のお支払い方法をご利用ください。"
NG_REASONS: dict[str, str] = {
    "NG001": _NG_OVER_LIMIT,
    "NG002": _NG_INSUFFICIENT,
    "NG999": _NG_OTHER,
    "RE001": _NG_OVER_LIMIT,
    "RE002": _NG_INSUFFICIENT,
    "RE003": _NG_OTHER,
}


def hold_message(codes: Iterable[str]) -> str:
    """The Japanese 保留 reason for ``authori_hold`` (e.g. 「NP後払い与信保留(RE009): ご請求先の…」)."""
    codes = tuple(codes)
    texts = list(dict.fromkeys(HOLD_REASONS.get(code, _HOLD_FALLBACK) for code in codes)) or [_HOLD_FALLBACK]
    label = "、".join(codes) if codes else "理由コードなし"
    return f"NP後払い与信保留({label}): " + "".join(texts)


def review_message() -> str:
    """authori_result 40 (審査前/審査中)."""
    return "NP後払いの審査中です。審査結果が出るまでお待ちください(定期的に与信結果を確認します)。"


def decline_message(code: str) -> str:
    """Japanese message for an NG reason (unknown codes get the generic message with the code)."""
    known = NG_REASONS.get(code)
    if known is not None:
        return known
    return f"審査の結果、NP後払いをご利用いただけません(理由コード: {code or '-'})。他のお支払い方法をご利用ください。"


# --------------------------------------------------------------------------- classification

_SEVERITY: tuple[type[ProviderError], ...] = (ProviderUnavailable, ProviderAuthError, ProviderRequestInvalid)


def _payload(status: int, body: Any) -> dict[str, Any]:
    return {"http_status": status, "body": body if isinstance(body, Mapping | list | str) else None}


def _message(code: str) -> str:
    entry = E_CODES.get(code)
    return entry.message if entry is not None else f"NP後払いがリクエストを受け付けませんでした({code})。"


def error_from_codes(
    action: str,
    codes: Iterable[str],
    *,
    status: int,
    body: Any = None,
    request_id: str = "",
) -> ProviderError:
    """The error for the codes NP returned for one item. The most severe class wins; the raw code of the
    first code of that class is kept as ``action:CODE``; every code with a field path becomes a field error."""
    codes = tuple(dict.fromkeys(codes))
    if not codes:
        return malformed_response_error(action, status=status, request_id=request_id, detail="errors without codes")

    def class_of(code: str) -> type[ProviderError]:
        entry = E_CODES.get(code)
        return entry.error if entry is not None else ProviderRequestInvalid

    chosen: type[ProviderError] = ProviderRequestInvalid
    for severity in _SEVERITY:
        if any(issubclass(class_of(code), severity) for code in codes):
            chosen = severity
            break
    primary = next(code for code in codes if issubclass(class_of(code), chosen))
    if chosen is ProviderRequestInvalid and class_of(primary) is TransactionNotFound:
        chosen = TransactionNotFound
    messages = list(dict.fromkeys(_message(code) for code in codes))
    fields = tuple(
        FieldError(field=entry.field, code=code, message=entry.message)
        for code in codes
        if (entry := E_CODES.get(code)) is not None and entry.field
    )
    return chosen(
        "\n".join(messages),
        code=f"{action}:{primary}",
        request_id=request_id,
        fields=fields,
        payload={**_payload(status, body), "codes": list(codes)},
    )


def auth_error(action: str, status: int, *, body: Any = None, request_id: str = "") -> ProviderAuthError:
    return ProviderAuthError(
        "NP後払いの認証に失敗しました。加盟店コード・SPコード・端末IDを確認してください。",
        code=f"{action}:HTTP{status}",
        request_id=request_id,
        payload=_payload(status, body),
    )


def error_from_status(action: str, status: int, *, body: Any = None, request_id: str = "") -> ProviderError:
    """An answer without a readable ``errors`` array: 401/403 → auth; everything else → unknown outcome."""
    if status in (401, 403):
        return auth_error(action, status, body=body, request_id=request_id)
    if status == 429 or status >= 500:
        message = f"NP後払いが一時的に利用できません(HTTP {status})。時間を空けて与信結果確認で結果を確認してください。"
    else:
        message = f"NP後払いから予期しない応答がありました(HTTP {status})。与信結果確認で結果を確認してください。"
    return ProviderUnavailable(
        message, code=f"{action}:HTTP{status}", request_id=request_id, payload=_payload(status, body)
    )


def timeout_error(action: str, *, request_id: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "NP後払いの応答がタイムアウトしました。処理結果が不明なため、与信結果確認で確認してください。",
        code=f"{action}:timeout",
        request_id=request_id,
    )


def connection_error(action: str, *, request_id: str = "", detail: str = "") -> ProviderUnavailable:
    return ProviderUnavailable(
        "NP後払いとの通信に失敗しました。処理結果が不明なため、与信結果確認で確認してください。",
        code=f"{action}:connection",
        request_id=request_id,
        payload={"detail": detail} if detail else None,
    )


def malformed_response_error(
    action: str, *, status: int, request_id: str = "", detail: str = ""
) -> ProviderUnavailable:
    return ProviderUnavailable(
        "NP後払いの応答を解釈できませんでした。処理結果が不明なため、与信結果確認で確認してください。",
        code=f"{action}:unparseable",
        request_id=request_id,
        payload={"http_status": status, "detail": detail},
    )
