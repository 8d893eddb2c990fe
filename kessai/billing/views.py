"""継続課金 back-office screens: 継続課金会員リスト, 継続課金会員情報, 継続課金設定.

Thin: reads go through ``billing.selectors`` (shop first), changes through ``billing.services``; each
charge's 売上確定 / 取消 / 取引修正 happen in the back-office's 決済情報 dialog of the charge's order, through
the payment services. Viewers read; owners and operators change (``staff_view``); another shop's
subscription is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from kessai.backoffice.access import Staff, staff_view
from kessai.backoffice.views.common import error_message, page
from kessai.billing import mails, selectors, services
from kessai.billing.forms import MailTemplateForm, SettingsForm, SubscriptionForm
from kessai.billing.models import CycleStatus, MailKind, Subscription, SubscriptionCycle, SubscriptionStatus
from kessai.payments.models import Payment
from kessai.payments.state import STATE_LABELS, PaymentState
from kessai.providers.base import ProviderError
from kessai.shops.errors import NotFound, ValidationFailed

PAGE_SIZE = 50


def _actor(staff: Staff) -> str:
    return f"user:{staff.membership.user.get_username()}"


def _subscription_or_404(staff: Staff, subscription_id: str) -> Subscription:
    try:
        return selectors.get_subscription(staff.shop, subscription_id)
    except NotFound:
        raise Http404(_("継続課金会員が見つかりません。")) from None


def payment_info_url(payment: Payment) -> str:
    """The back-office's 決済情報 (the charge's order page), or "" when the back-office has no such page."""
    try:
        return reverse("backoffice:order_detail", kwargs={"order_id": payment.order_id})
    except NoReverseMatch:
        return ""


def split_name(name: str) -> tuple[str, str]:
    family, _sep, given = name.replace("\u3000", " ").partition(" ")
    return family, given.strip()


@dataclass(frozen=True)
class HistoryRow:
    """One charge attempt (or a skipped date) of the 継続課金会員情報 history table."""

    number: int
    cycle: SubscriptionCycle
    payment: Payment | None
    processed_at: Any
    label: str
    is_error: bool
    info_url: str
    can_retry: bool


def history(staff: Staff, sub: Subscription) -> list[HistoryRow]:
    rows: list[HistoryRow] = []
    for cycle in selectors.cycles(staff.shop, sub):
        attempts = list(selectors.attempts(staff.shop, cycle)) if cycle.order_id else []
        if cycle.trigger == "checkout" and cycle.payment is not None:
            attempts = [cycle.payment]
        if not attempts:
            rows.append(HistoryRow(0, cycle, None, cycle.created_at, cycle.get_status_display(), False, "", False))
            continue
        for payment in attempts:
            latest = payment.pk == cycle.payment_id
            failed = payment.state in (PaymentState.DECLINED, PaymentState.CREATED) and bool(
                payment.operations.exists()
            )
            label = _("決済エラー") if failed else str(STATE_LABELS[PaymentState(payment.state)])
            rows.append(
                HistoryRow(
                    0,
                    cycle,
                    payment,
                    payment.created_at,
                    label,
                    failed,
                    payment_info_url(payment),
                    latest and cycle.status == CycleStatus.FAILED and sub.is_active,
                )
            )
    numbered = [replace(r, number=i) for i, r in enumerate(rows, 1)]
    return list(reversed(numbered))


@staff_view()
def subscription_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in SubscriptionStatus.values else ""
    errors_only = request.GET.get("errors") == "1"
    q = request.GET.get("q", "").strip()[:100]
    paginator = Paginator(selectors.subscriptions(staff.shop, status=status, errors_only=errors_only, q=q), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = [
        {"sub": s, "family": split_name(s.customer_name)[0], "given": split_name(s.customer_name)[1]} for s in page_obj
    ]
    context = {
        "rows": rows,
        "page_obj": page_obj,
        "status": status,
        "errors_only": errors_only,
        "q": q,
        "statuses": SubscriptionStatus.choices,
    }
    return page(request, staff, "billing/list.html", context, nav="billing")


@staff_view()
def subscription_detail(request: HttpRequest, staff: Staff, subscription_id: str) -> HttpResponse:
    sub = _subscription_or_404(staff, subscription_id)
    form = SubscriptionForm(
        request.POST or None,
        initial={
            "next_renewal_on": sub.next_renewal_on,
            "next_billing_on": sub.next_billing_on,
            "amount": sub.amount,
            "status": sub.status,
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _apply(staff, sub, form.cleaned_data)
            except ValidationFailed as exc:
                for field_name, message in exc.errors.items():
                    form.add_error(field_name if field_name in form.fields else None, message)
            else:
                messages.success(request, _("継続課金会員情報を更新しました。"))
                return redirect("billing:detail", subscription_id=sub.pk)
        status = 400
    context = {"sub": sub, "form": form, "history": history(staff, sub), "can_operate": staff.can_operate}
    return page(request, staff, "billing/detail.html", context, nav="billing", status=status)


def _apply(staff: Staff, sub: Subscription, data: dict[str, Any]) -> None:
    actor = _actor(staff)
    changes: dict[str, Any] = {}
    if data["next_billing_on"] and data["next_billing_on"] != sub.next_billing_on:
        changes["next_billing_on"] = data["next_billing_on"]
    if data["next_renewal_on"] and data["next_renewal_on"] != sub.next_renewal_on:
        changes["next_renewal_on"] = data["next_renewal_on"]
    if data["amount"] != sub.amount:
        changes["amount"] = data["amount"]
    if changes:
        services.update(sub, actor=actor, **changes)
    if data["status"] != sub.status:
        if data["status"] == SubscriptionStatus.STOPPED:
            services.stop(sub, actor=actor)
        else:
            services.resume(sub, actor=actor)


@staff_view()
def charge_now(request: HttpRequest, staff: Staff, subscription_id: str) -> HttpResponse:
    sub = _subscription_or_404(staff, subscription_id)
    if request.method == "POST":
        try:
            cycle = services.charge_now(sub, actor=_actor(staff))
        except (ValidationFailed, ProviderError) as exc:
            messages.error(request, error_message(exc))
        else:
            _report(request, cycle, _("課金しました。"))
    return redirect("billing:detail", subscription_id=sub.pk)


@staff_view()
def retry(request: HttpRequest, staff: Staff, cycle_id: str) -> HttpResponse:
    try:
        cycle = selectors.get_cycle(staff.shop, cycle_id)
    except NotFound:
        raise Http404(_("課金が見つかりません。")) from None
    if request.method == "POST":
        try:
            cycle = services.retry(cycle, actor=_actor(staff))
        except (ValidationFailed, ProviderError) as exc:
            messages.error(request, error_message(exc))
        else:
            _report(request, cycle, _("再決済しました。"))
    return redirect("billing:detail", subscription_id=cycle.subscription_id)


def _report(request: HttpRequest, cycle: SubscriptionCycle, ok: str) -> None:
    if cycle.status == CycleStatus.CHARGED:
        messages.success(request, ok)
    elif cycle.status == CycleStatus.FAILED:
        messages.error(request, _("決済エラー: %(reason)s") % {"reason": cycle.message})
    else:
        messages.warning(request, _("決済の結果が確認できません。しばらくしてから状態を確認してください。"))


@staff_view()
def billing_settings(request: HttpRequest, staff: Staff) -> HttpResponse:
    current = services.billing_settings(staff.shop)
    settings_form = SettingsForm(
        initial={
            "auto_retry": current.auto_retry,
            "retry_days": ",".join(str(d) for d in current.retry_days),
            "admin_email": current.admin_email,
        }
    )
    status = 200
    if request.method == "POST" and request.POST.get("form") == "settings":
        settings_form = SettingsForm(request.POST)
        if settings_form.is_valid():
            try:
                services.save_settings(staff.shop, **settings_form.cleaned_data)
            except ValidationFailed as exc:
                for field_name, message in exc.errors.items():
                    settings_form.add_error(field_name if field_name in settings_form.fields else None, message)
            else:
                messages.success(request, _("継続課金設定を更新しました。"))
                return redirect("billing:settings")
        status = 400
    template_forms = []
    for kind, label in MailKind.choices:
        text = mails.template_for(staff.shop, kind)
        form = MailTemplateForm(initial={"kind": kind, "subject": text.subject, "body": text.body}, prefix=kind)
        if request.method == "POST" and request.POST.get("form") == kind:
            form = MailTemplateForm(request.POST, prefix=kind)
            if form.is_valid():
                try:
                    if request.POST.get("reset"):
                        services.reset_mail_template(staff.shop, kind=kind)
                    else:
                        services.save_mail_template(
                            staff.shop, kind=kind, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
                        )
                except ValidationFailed as exc:
                    form.add_error("body", " ".join(exc.errors.values()))
                else:
                    messages.success(request, _("%(label)sを保存しました。") % {"label": label})
                    return redirect("billing:settings")
            status = 400
        template_forms.append({"kind": kind, "label": label, "form": form})
    context = {"settings_form": settings_form, "template_forms": template_forms, "can_operate": staff.can_operate}
    return page(request, staff, "billing/settings.html", context, nav="billing", status=status)
