"""RFC 9457 problem details: every error the API returns has this one shape.

    {"type": "urn:kessai:problem:<code>", "title", "status", "detail", "code",
     "errors": [{"field": "customer.zip_code", "code": "invalid_zip_code", "message": "…"}]}

served as ``application/problem+json``. Titles and the API's own messages go through gettext:
Japanese by default, English with ``Accept-Language: en``. Messages written by the domain
(``ValidationFailed``) and by providers are passed through as they are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kessai.payments.services import OutcomeUnknown, PaymentBusy
from kessai.payments.state import InvalidTransition
from kessai.providers.base import (
    ProviderAuthError,
    ProviderDeclined,
    ProviderError,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderUnavailable,
    UnsupportedOperation,
)
from kessai.providers.credentials import UnknownProvider
from kessai.shops.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
    from ninja import NinjaAPI

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

TITLES: Mapping[str, StrOrPromise] = {
    "validation_error": _("入力内容に誤りがあります。"),
    "invalid_json": _("リクエスト本文をJSONとして解釈できません。"),
    "unauthorized": _("APIキーが無効です。"),
    "not_found": _("指定されたリソースが見つかりません。"),
    "method_not_allowed": _("このパスではそのHTTPメソッドは使えません。"),
    "invalid_transition": _("現在の決済状況ではこの操作はできません。"),
    "operation_in_progress": _("この決済は別の操作を処理中です。"),
    "outcome_unknown": _("前回の操作の結果が不明です。"),
    "payment_pending": _("与信の審査中です。"),
    "payment_declined": _("与信NGとなりました。"),
    "provider_rejected": _("決済会社がリクエストを受け付けませんでした。"),
    "provider_auth_error": _("決済会社の認証に失敗しました。"),
    "provider_unavailable": _("決済会社から応答がありませんでした。"),
    "provider_error": _("決済会社でエラーが発生しました。"),
    "unsupported_operation": _("この決済会社はこの操作に対応していません。"),
    "idempotency_key_reused": _("Idempotency-Key が別のリクエストで使用済みです。"),
    "idempotency_key_in_use": _("同じ Idempotency-Key のリクエストを処理中です。"),
    "invalid_idempotency_key": _("Idempotency-Key の形式が正しくありません。"),
    "amount_mismatch": _("合計金額が明細の合計と一致しません。"),
    "unknown_payment_method": _("指定された支払方法は利用できません。"),
    "amount_over_provider_limit": _("この支払方法で利用できる金額の範囲外です。"),
    "environment_mismatch": _("このAPIキーの環境(テスト/本番)では利用できません。"),
    "internal_error": _("サーバー内部でエラーが発生しました。"),
}

# Domain validation codes that describe a conflict with stored state rather than bad input.
CONFLICT_CODES = frozenset({"duplicate_order_no", "order_already_paid", "payment_method_in_use"})

# pydantic error type → (our code, message template). Templates may use the error's ``ctx``.
_PYDANTIC_MESSAGES: Mapping[str, tuple[str, StrOrPromise]] = {
    "missing": ("required", _("必須項目です。")),
    "string_type": ("invalid_type", _("文字列で入力してください。")),
    "int_type": ("invalid_type", _("整数で入力してください。")),
    "int_parsing": ("invalid_type", _("整数で入力してください。")),
    "int_from_float": ("invalid_type", _("整数で入力してください。")),
    "bool_type": ("invalid_type", _("true または false を指定してください。")),
    "bool_parsing": ("invalid_type", _("true または false を指定してください。")),
    "list_type": ("invalid_type", _("配列で指定してください。")),
    "dict_type": ("invalid_type", _("オブジェクトで指定してください。")),
    "model_type": ("invalid_type", _("オブジェクトで指定してください。")),
    "model_attributes_type": ("invalid_type", _("オブジェクトで指定してください。")),
    "literal_error": ("invalid_choice", _("次のいずれかを指定してください: %(expected)s")),
    "enum": ("invalid_choice", _("次のいずれかを指定してください: %(expected)s")),
    "string_too_long": ("too_long", _("%(max_length)s文字以内で入力してください。")),
    "string_too_short": ("too_short", _("%(min_length)s文字以上で入力してください。")),
    "too_long": ("too_many", _("%(max_length)s件以内で指定してください。")),
    "too_short": ("too_few", _("%(min_length)s件以上で指定してください。")),
    "greater_than_equal": ("out_of_range", _("%(ge)s以上の値を指定してください。")),
    "greater_than": ("out_of_range", _("%(gt)sより大きい値を指定してください。")),
    "less_than_equal": ("out_of_range", _("%(le)s以下の値を指定してください。")),
    "less_than": ("out_of_range", _("%(lt)sより小さい値を指定してください。")),
    "string_pattern_mismatch": ("invalid", _("形式が正しくありません。")),
    "url_parsing": ("invalid_url", _("URLの形式が正しくありません。")),
    "url_type": ("invalid_url", _("URLの形式が正しくありません。")),
    "url_scheme": ("invalid_url", _("URLは http:// または https:// で始めてください。")),
    "url_too_long": ("too_long", _("URLが長すぎます。")),
    "datetime_parsing": ("invalid_datetime", _("日時はISO 8601形式で指定してください。")),
    "datetime_type": ("invalid_datetime", _("日時はISO 8601形式で指定してください。")),
    "datetime_from_date_parsing": ("invalid_datetime", _("日時はISO 8601形式で指定してください。")),
    "extra_forbidden": ("unknown_field", _("不明な項目です。")),
    "json_invalid": ("invalid_json", _("JSONの形式が正しくありません。")),
}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    message: str


def title_for(code: str, status: int) -> str:
    title = TITLES.get(code)
    if title is not None:
        return str(title)
    if status == 422:
        return str(TITLES["validation_error"])
    if status >= 500:
        return str(TITLES["provider_error"] if status in (502, 504) else TITLES["internal_error"])
    return str(TITLES["validation_error"])


def problem_response(
    status: int,
    code: str,
    *,
    detail: str = "",
    title: str | None = None,
    errors: Iterable[FieldProblem] = (),
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"urn:kessai:problem:{code}",
        "title": title or title_for(code, status),
        "status": status,
        "detail": detail or title or title_for(code, status),
        "code": code,
        "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors],
        **(extra or {}),
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=f"{CONTENT_TYPE}; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# --------------------------------------------------------------------------- field pointers


def pointer(loc: Sequence[str | int]) -> str:
    """``("customer", "zip_code")`` → ``customer.zip_code``; ``("items", 2, "quantity")`` → ``items[2].quantity``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _request_loc(loc: Sequence[Any]) -> list[str | int]:
    """Drop ninja's prefixes: ``("body", "body", "customer", …)`` / ``("query", "limit")``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form", "file", "cookie"):
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "body":
            parts.pop(0)
    return [p if isinstance(p, int) else str(p) for p in parts]


def _pydantic_message(error: Mapping[str, Any]) -> tuple[str, str]:
    code, template = _PYDANTIC_MESSAGES.get(str(error.get("type", "")), ("invalid", _("入力内容が正しくありません。")))
    ctx = dict(error.get("ctx") or {})
    try:
        message = str(template) % ctx if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        message = gettext("入力内容が正しくありません。")
    return code, message


def field_problems_from_ninja(errors: Iterable[Mapping[str, Any]]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for error in errors:
        field = pointer(_request_loc(error.get("loc", ())))
        if field in seen:
            continue  # one message per field: union members repeat the same complaint
        seen.add(field)
        code, message = _pydantic_message(error)
        problems.append(FieldProblem(field=field, code=code, message=message))
    return problems


def field_problems_from_validation(exc: ValidationFailed) -> list[FieldProblem]:
    default = exc.code if exc.code != "validation_error" else "invalid"
    return [
        FieldProblem(field=field, code=exc.field_codes.get(field, default), message=message)
        for field, message in exc.errors.items()
    ]


# --------------------------------------------------------------------------- exception → problem

_PAYMENT_ATTR = "_kessai_payment_id"


def with_payment(exc: Exception, payment_id: str | None) -> Exception:
    """Remember which payment an error is about: the problem then names it (``"payment": "pay_…"``)."""
    if payment_id:
        setattr(exc, _PAYMENT_ATTR, payment_id)
    return exc


def _payment_extra(exc: Exception) -> dict[str, Any]:
    payment_id = getattr(exc, _PAYMENT_ATTR, None)
    return {"payment": payment_id} if payment_id else {}


def from_exception(exc: Exception) -> HttpResponse | None:
    """The problem response for a known error, or None for an unexpected one."""
    if isinstance(exc, ValidationFailed):
        status = 409 if exc.code in CONFLICT_CODES else 422
        problems = field_problems_from_validation(exc)
        detail = " ".join(p.message for p in problems) or title_for(exc.code, status)
        return problem_response(status, exc.code, detail=detail, errors=problems)
    if isinstance(exc, NotFound | Http404):
        return problem_response(404, "not_found")
    if isinstance(exc, PaymentBusy):
        return problem_response(409, "operation_in_progress", detail=exc.message, extra=_payment_extra(exc))
    if isinstance(exc, OutcomeUnknown):
        return problem_response(409, "outcome_unknown", detail=exc.message, extra=_payment_extra(exc))
    if isinstance(exc, InvalidTransition):
        return problem_response(409, "invalid_transition", detail=exc.message, extra=_payment_extra(exc))
    if isinstance(exc, ProviderError):
        return _provider_problem(exc)
    if isinstance(exc, UnknownProvider):
        field = FieldProblem("provider", "unknown_provider", gettext("未対応の決済会社です。"))
        return problem_response(422, "unknown_provider", detail=field.message, errors=[field])
    return None


def _provider_problem(exc: ProviderError) -> HttpResponse:
    extra = {**_payment_extra(exc), "provider_code": exc.code}
    message = exc.message
    if isinstance(exc, ProviderDeclined):
        return problem_response(402, "payment_declined", detail=message, extra=extra)
    if isinstance(exc, ProviderPending):
        detail = gettext("与信の審査中です。しばらくしてから状態を取得(refresh)してください。")
        return problem_response(409, "payment_pending", detail=detail, extra=extra)
    if isinstance(exc, UnsupportedOperation):
        return problem_response(422, "unsupported_operation", detail=message, extra=extra)
    if isinstance(exc, ProviderRequestInvalid):
        problems = [FieldProblem(f.field, f.code, f.message) for f in exc.fields]
        return problem_response(422, "provider_rejected", detail=message, errors=problems, extra=extra)
    if isinstance(exc, ProviderAuthError):
        detail = gettext("決済会社の認証に失敗しました。外部連携アカウントの設定(APIキー)を確認してください。")
        return problem_response(502, "provider_auth_error", detail=f"{detail} {message}".strip(), extra=extra)
    if isinstance(exc, ProviderUnavailable):
        detail = gettext(
            "決済会社から応答がなかったため、処理結果が不明です。再実行せず、"
            "POST /payments/{id}/refresh で最新の状態を取得してください。"
        )
        return problem_response(504, "provider_unavailable", detail=detail, extra=extra)
    return problem_response(502, "provider_error", detail=message, extra=extra)


def install(api: NinjaAPI) -> None:
    """Replace ninja's default handlers: every error becomes problem+json."""

    def on_validation(request: HttpRequest, exc: NinjaValidationError | type[NinjaValidationError]) -> HttpResponse:
        errors = exc.errors if isinstance(exc, NinjaValidationError) else []
        found = field_problems_from_ninja(errors)
        detail = " ".join(f"{p.field}: {p.message}" if p.field else p.message for p in found)
        return problem_response(422, "validation_error", detail=detail, errors=found)

    def on_http_error(request: HttpRequest, exc: HttpError | type[HttpError]) -> HttpResponse:
        if isinstance(exc, AuthenticationError) or exc is AuthenticationError:
            detail = gettext("Authorization: Bearer sk_test_… または sk_live_… の有効なAPIキーを指定してください。")
            return problem_response(401, "unauthorized", detail=detail, headers={"WWW-Authenticate": "Bearer"})
        status = exc.status_code if isinstance(exc, HttpError) else 500
        if status == 400:
            return problem_response(400, "invalid_json")
        if status == 404:
            return problem_response(404, "not_found")
        return problem_response(status, "http_error", title=str(exc), detail=str(exc))

    def on_any(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
        error = exc if isinstance(exc, Exception) else exc()
        response = from_exception(error)
        if response is not None:
            return response
        log.exception("unhandled error in %s %s", request.method, request.path, exc_info=error)
        return problem_response(500, "internal_error")

    def on_not_found(request: HttpRequest, exc: Http404 | type[Http404]) -> HttpResponse:
        return problem_response(404, "not_found")

    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(Exception, on_any)
