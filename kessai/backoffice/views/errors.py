"""決済エラーログ: list, 詳細, ログ出力 (text / CSV download), ログ削除 (selected or all)."""

from __future__ import annotations

import csv
import io
import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kessai.backoffice import services
from kessai.backoffice.access import Staff, staff_view
from kessai.backoffice.views.common import flash_error, page
from kessai.common.jst import format_jst
from kessai.payments import selectors as payment_selectors
from kessai.payments.models import PaymentError
from kessai.providers import registry
from kessai.shops.errors import ValidationFailed

STATUS_LABELS = {
    "ProviderDeclined": gettext_lazy("与信NG"),
    "ProviderPending": gettext_lazy("与信保留"),
    "ProviderRequestInvalid": gettext_lazy("リクエストエラー"),
    "ProviderAuthError": gettext_lazy("認証エラー"),
    "UnsupportedOperation": gettext_lazy("未対応の操作"),
    "unknown": gettext_lazy("結果不明(通信エラー)"),
}
LIST_LIMIT = 500


def status_label(error: PaymentError) -> str:
    return str(STATUS_LABELS.get(error.status, error.status))


def _provider_name(code: str) -> str:
    return registry.info(code).name if registry.is_known(code) else code


@staff_view()
def error_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    qs = payment_selectors.payment_errors(staff.shop)
    entries = [{"e": e, "status": status_label(e), "provider": _provider_name(e.provider)} for e in qs[:LIST_LIMIT]]
    return page(
        request,
        staff,
        "backoffice/errors/list.html",
        {"entries": entries, "truncated": len(entries) == LIST_LIMIT},
        nav="errors",
    )


def _error_or_404(staff: Staff, error_id: str) -> PaymentError:
    error = payment_selectors.payment_errors(staff.shop).filter(pk=error_id).first()
    if error is None:
        raise Http404(_("エラーログが見つかりません。"))
    return error


@staff_view()
def error_detail(request: HttpRequest, staff: Staff, error_id: str) -> HttpResponse:
    error = _error_or_404(staff, error_id)
    context = {
        "e": error,
        "status": status_label(error),
        "provider": _provider_name(error.provider),
        "payload": json.dumps(error.payload, ensure_ascii=False, indent=2, sort_keys=True),
    }
    return page(request, staff, "backoffice/errors/detail.html", context, nav="errors")


def _rows(staff: Staff) -> list[list[str]]:
    return [
        [
            format_jst(e.created_at),
            e.link_key,
            _provider_name(e.provider),
            status_label(e),
            e.operation,
            e.code,
            e.message,
            e.request_id,
            json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
        ]
        for e in payment_selectors.payment_errors(staff.shop)
    ]


@staff_view()
def error_download(request: HttpRequest, staff: Staff) -> HttpResponse:
    """ログ出力: the full log (payloads included) to attach to a support request."""
    fmt = "csv" if request.GET.get("format") == "csv" else "txt"
    header = [
        "登録日",
        "リンクキー",
        "決済種別",
        "ステータス",
        "処理区分",
        "コード",
        "メッセージ",
        "リクエストID",
        "詳細",
    ]
    rows = _rows(staff)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        body = "\ufeff" + buf.getvalue()
        content_type = "text/csv; charset=utf-8"
    else:
        blocks = ["\n".join(f"{h}: {v}" for h, v in zip(header, row, strict=True)) for row in rows]
        body = ("\n" + "-" * 60 + "\n").join(blocks) + "\n"
        content_type = "text/plain; charset=utf-8"
    services.record(
        staff.actor,
        staff.shop,
        "payment_errors.download",
        target_type="payment_error",
        after={"format": fmt, "count": len(rows)},
    )
    response = HttpResponse(body.encode(), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="payment-errors-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"'
    )
    return response


@staff_view()
def error_delete(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method == "POST":
        ids = None if request.POST.get("scope") == "all" else request.POST.getlist("error")
        try:
            count = services.delete_payment_errors(staff.actor, staff.shop, ids)
        except ValidationFailed as exc:
            flash_error(request, exc)
        else:
            messages.success(request, _("%(count)s件のエラーログを削除しました。") % {"count": count})
    return redirect("backoffice:errors")
