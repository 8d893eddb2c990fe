"""受注リスト (filters, search, column chooser, keyset pages, CSV), 受注詳細, bulk actions and their jobs."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kessai.backoffice import capabilities, selectors, services
from kessai.backoffice.access import Staff, is_htmx, staff_view
from kessai.backoffice.invoices import render_invoices
from kessai.backoffice.shipments import CARRIERS, carrier_code, check_row, parse_csv
from kessai.backoffice.views.common import flash_error, page
from kessai.backoffice.views.payments import payment_info_context
from kessai.common.jst import format_jst
from kessai.payments import bulk
from kessai.payments import selectors as payment_selectors
from kessai.payments.models import BulkJob, OrderStatus, Payment
from kessai.payments.state import STATE_LABELS, PaymentState
from kessai.providers import registry
from kessai.shops.errors import NotFound, ValidationFailed
from kessai.shops.models import ProviderAccount, Role

COLUMN_LABELS = {
    "shop_order_no": gettext_lazy("注文番号"),
    "created_at": gettext_lazy("受注日"),
    "status": gettext_lazy("対応状況"),
    "payment_method": gettext_lazy("支払方法"),
    "payment": gettext_lazy("決済ID"),
    "amount": gettext_lazy("総合計金額(円)"),
    "customer_name": gettext_lazy("氏名"),
    "prefecture": gettext_lazy("都道府県"),
}
BULK_ACTIONS = {
    "authorize": gettext_lazy("与信を実行"),
    "refresh": gettext_lazy("与信結果確認"),
    "capture": gettext_lazy("売上確定"),
    "report_shipment": gettext_lazy("伝票番号同期"),
    "cancel": gettext_lazy("与信キャンセル"),
}
FILTER_STATES = (
    PaymentState.AUTHORIZED,
    PaymentState.CAPTURED,
    PaymentState.CANCELLED,
    PaymentState.DECLINED,
    PaymentState.PENDING_REVIEW,
    PaymentState.UNKNOWN,
    PaymentState.CREATED,
)
CSV_HEADER = (
    "注文番号",
    "受注日",
    "対応状況",
    "支払方法",
    "決済会社",
    "決済ID",
    "決済状況",
    "総合計金額",
    "氏名",
    "電話番号",
    "都道府県",
)


def _filter_query(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET[k] for k in ("state", "provider", "from", "to", "q") if request.GET.get(k)}


def _providers(staff: Staff) -> list[tuple[str, str]]:
    codes = sorted(set(ProviderAccount.objects.filter(shop=staff.shop).values_list("provider", flat=True)))
    return [(code, registry.info(code).name) for code in codes if registry.is_known(code)]


@staff_view()
def order_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    flt, errors = selectors.filter_from_params(request.GET)
    result = selectors.order_page(
        staff.shop, flt, after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    query = _filter_query(request)
    columns = services.order_columns(request.user)
    context: dict[str, Any] = {
        "page_obj": result,
        "filters": query,
        "filter_errors": errors,
        "states": [(s.value, STATE_LABELS[s]) for s in FILTER_STATES],
        "providers": _providers(staff),
        "columns": columns,
        "show": dict.fromkeys(columns, True),
        "operate": staff.can_operate,
        "order_base": reverse("backoffice:orders"),
        "select_label": _("選択:"),
        "review_label": _("要確認"),
        "column_choices": [(key, COLUMN_LABELS[key], key in columns) for key in services.ORDER_COLUMNS],
        "column_labels": COLUMN_LABELS,
        "bulk_actions": list(BULK_ACTIONS.items()),
        "invoice_available": bool(capabilities.invoice_providers(staff.shop)),
        "next_url": f"?{urlencode({**query, 'after': result.next_after})}" if result.next_after else "",
        "prev_url": f"?{urlencode({**query, 'before': result.prev_before})}" if result.prev_before else "",
        "export_query": urlencode(query),
    }
    return page(request, staff, "backoffice/orders/list.html", context, nav="orders")


@staff_view(write=Role.VIEWER)
def order_columns(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The column chooser: a personal preference, so every role may change it."""
    if request.method == "POST":
        try:
            services.set_order_columns(staff.actor, request.POST.getlist("columns"))
        except ValidationFailed as exc:
            flash_error(request, exc)
    return redirect(
        reverse("backoffice:orders") + (f"?{request.POST.get('query')}" if request.POST.get("query") else "")
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(staff: Staff, request: HttpRequest) -> Iterator[list[str]]:
    flt, _errors = selectors.filter_from_params(request.GET)
    yield list(CSV_HEADER)
    for order in selectors.export_orders(staff.shop, flt):
        p: Payment | None = order.latest_payment  # type: ignore[attr-defined]
        yield [
            order.shop_order_no,
            format_jst(order.created_at),
            str(OrderStatus(order.status).label),
            p.payment_method.name if p and p.payment_method else "",
            registry.info(p.provider).name if p and registry.is_known(p.provider) else (p.provider if p else ""),
            p.provider_ref if p else "",
            str(STATE_LABELS[PaymentState(p.state)]) if p else "",
            str(order.amount),
            order.customer_name,
            order.customer_phone,
            order.prefecture,
        ]


@staff_view(read=Role.OPERATOR)
def order_export(request: HttpRequest, staff: Staff) -> StreamingHttpResponse:
    """CSV for Excel, streamed: UTF-8 with BOM, or CP932 (Shift_JIS) with unencodable characters replaced."""
    encoding = "cp932" if request.GET.get("encoding") == "cp932" else "utf-8"
    writer = csv.writer(_Echo())

    def stream() -> Iterator[bytes]:
        if encoding == "utf-8":
            yield "\ufeff".encode()
        for row in _csv_rows(staff, request):
            yield writer.writerow(row).encode(encoding, errors="replace")

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    filename = f"orders-{stamp}{'-sjis' if encoding == 'cp932' else ''}.csv"
    services.record(
        staff.actor,
        staff.shop,
        "orders.export",
        target_type="order",
        after={"encoding": encoding, "filters": _filter_query(request)},
    )
    response = StreamingHttpResponse(
        stream(), content_type=f"text/csv; charset={'Shift_JIS' if encoding == 'cp932' else 'utf-8'}"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _order_or_404(staff: Staff, order_id: str) -> Any:
    try:
        return payment_selectors.get_order(staff.shop, order_id)
    except NotFound:
        raise Http404(_("受注が見つかりません。")) from None


@staff_view()
def order_detail(request: HttpRequest, staff: Staff, order_id: str) -> HttpResponse:
    order = _order_or_404(staff, order_id)
    payments = selectors.order_payments(staff.shop, order)
    context: dict[str, Any] = {
        "order": order,
        "payments": payments,
        "statuses": OrderStatus.choices,
        **payment_info_context(staff, order, payments[0] if payments else None),
    }
    return page(request, staff, "backoffice/orders/detail.html", context, nav="orders")


@staff_view()
def order_status(request: HttpRequest, staff: Staff, order_id: str) -> HttpResponse:
    order = _order_or_404(staff, order_id)
    if request.method == "POST":
        try:
            services.set_order_status(staff.actor, order, request.POST.get("status", ""))
            messages.success(request, _("対応状況を更新しました。"))
        except ValidationFailed as exc:
            flash_error(request, exc)
    return redirect("backoffice:order_detail", order_id=order.pk)


# --------------------------------------------------------------------------- bulk actions


def _selected_payments(staff: Staff, request: HttpRequest) -> list[Payment]:
    ids = list(dict.fromkeys(request.POST.getlist("payment")))
    found = {
        p.pk: p
        for p in Payment.objects.filter(shop=staff.shop, pk__in=ids).select_related(
            "order", "account", "payment_method"
        )
    }
    return [found[i] for i in ids if i in found]


@staff_view()
def bulk_action(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method != "POST":
        return redirect("backoffice:orders")
    action = request.POST.get("action", "")
    selected = _selected_payments(staff, request)
    if not selected:
        messages.error(request, _("対象の受注を1件以上選択してください。"))
        return redirect("backoffice:orders")
    if action == "invoice":
        return _invoice(request, staff, selected)
    if action == "report_shipment":
        return _shipment(request, staff, selected)
    if action not in BULK_ACTIONS:
        messages.error(request, _("未対応の一括処理です。"))
        return redirect("backoffice:orders")
    return _start_job(request, staff, action, selected, params=None)


def _start_job(
    request: HttpRequest, staff: Staff, action: str, selected: list[Payment], params: dict[str, Any] | None
) -> HttpResponse:
    try:
        job = bulk.create_bulk_job(
            staff.shop, action=action, payment_ids=[p.pk for p in selected], actor=staff.actor.label, params=params
        )
    except ValidationFailed as exc:
        flash_error(request, exc)
        return redirect("backoffice:orders")
    services.record(
        staff.actor,
        staff.shop,
        f"bulk.{action}",
        target_type="bulk_job",
        target_id=job.pk,
        after={"payment_ids": job.payment_ids, "params": params or {}},
    )
    return redirect("backoffice:job", job_id=job.pk)


def _shipment(request: HttpRequest, staff: Staff, selected: list[Payment]) -> HttpResponse:
    """伝票番号同期: carrier + tracking number per row (or a CSV), then a bulk job."""
    errors: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    upload_errors: list[str] = []
    if request.POST.get("confirm") == "1":
        by_no = {p.order.shop_order_no: p.pk for p in selected}
        upload = request.FILES.get("csv")
        if upload is not None:
            parsed = parse_csv(upload.read(), by_no)
            upload_errors = parsed.errors
            for order_no, row in parsed.rows.items():
                values[by_no[order_no]] = row
        for p in selected:
            carrier = request.POST.get(f"carrier_{p.pk}", "")
            tracking = request.POST.get(f"tracking_{p.pk}", "").strip()
            if p.pk in values and not tracking:
                continue  # taken from the CSV
            values[p.pk] = {"carrier": carrier_code(carrier) or carrier, "tracking_no": tracking}
            problem = check_row(carrier, tracking)
            if problem:
                errors[p.pk] = problem
        if not errors and not upload_errors:
            return _start_job(request, staff, "report_shipment", selected, params=values)
    context = {
        "selected": selected,
        "carriers": CARRIERS,
        "errors": errors,
        "upload_errors": upload_errors,
        "values": values,
    }
    return page(
        request,
        staff,
        "backoffice/orders/shipment.html",
        context,
        nav="orders",
        status=400 if errors or upload_errors else 200,
    )


def _invoice(request: HttpRequest, staff: Staff, selected: list[Payment]) -> HttpResponse:
    providers = capabilities.invoice_providers(staff.shop)
    eligible = [p for p in selected if p.provider in providers]
    if not eligible:
        messages.error(request, _("選択した受注の決済会社は請求書ダウンロードに対応していません。"))
        return redirect("backoffice:orders")
    pdf = render_invoices(eligible, shop_name=staff.shop.name)
    services.record(
        staff.actor,
        staff.shop,
        "invoice.download",
        target_type="payment",
        after={"payment_ids": [p.pk for p in eligible]},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.localtime():%Y%m%d-%H%M%S}.pdf"'
    return response


def _job_or_404(staff: Staff, job_id: str) -> BulkJob:
    job = BulkJob.objects.filter(shop=staff.shop, pk=job_id).first()
    if job is None:
        raise Http404(_("一括処理が見つかりません。"))
    return job


def _job_context(job: BulkJob) -> dict[str, Any]:
    return {
        "job": job,
        "action_label": BULK_ACTIONS.get(job.action, job.action),
        "finished": job.state == "done",
        "percent": int(job.done * 100 / job.total) if job.total else 100,
    }


@staff_view()
def job_detail(request: HttpRequest, staff: Staff, job_id: str) -> HttpResponse:
    job = _job_or_404(staff, job_id)
    return page(request, staff, "backoffice/orders/job.html", _job_context(job), nav="orders")


@staff_view()
def job_progress(request: HttpRequest, staff: Staff, job_id: str) -> HttpResponse:
    """Polled by htmx while the job runs; the fragment stops polling once the job is done."""
    job = _job_or_404(staff, job_id)
    template = "backoffice/orders/partials/job_progress.html"
    if not is_htmx(request):
        return redirect("backoffice:job", job_id=job.pk)
    return page(request, staff, template, _job_context(job))
