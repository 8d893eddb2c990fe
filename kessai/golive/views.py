"""本番開始チェック pages under ``/golive/``: thin — read through selectors and checks, act through services.

Roles: viewers read; operators run the checks and the test-environment actions; owners edit the copy and
the pages, send the 準備完了連絡 and switch to production (with or without an override). Another shop's
account is a 404. The pages extend the back-office layout (``backoffice/base.html``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kessai.backoffice import services as backoffice_services
from kessai.backoffice.access import SESSION_SHOP_KEY, Staff, memberships_of, staff_view
from kessai.backoffice.views.common import error_message, page
from kessai.golive import display, mail, selectors, services
from kessai.golive.checks import pick_account, readiness
from kessai.golive.kits import kit_for
from kessai.golive.models import ProductionSwitch
from kessai.payments.gateway import effective_base_url
from kessai.providers import registry
from kessai.shops import services as shop_services
from kessai.shops.errors import NotFound, ValidationFailed
from kessai.shops.models import Environment, ProviderAccount, Role

READ = {"read": Role.VIEWER, "write": Role.OPERATOR}
OWNER = {"read": Role.VIEWER, "write": Role.OWNER}
STATUS_LABELS = {
    "ok": gettext_lazy("完了"),
    "ng": gettext_lazy("要対応"),
    "pending": gettext_lazy("未確認"),
    "na": gettext_lazy("対象外"),
}


def _account(staff: Staff, account_id: str) -> ProviderAccount:
    try:
        return selectors.account_in(staff.shop, account_id)
    except NotFound:
        raise Http404(_("外部連携アカウントが見つかりません。")) from None


def _provider_or_404(staff: Staff, provider: str) -> str:
    if (
        not registry.is_known(provider)
        or not ProviderAccount.objects.filter(shop=staff.shop, provider=provider).exists()
    ):
        raise Http404(_("この決済会社のアカウントがありません。"))
    return provider


def _checklist_url(account: ProviderAccount) -> str:
    return reverse("golive:checklist", args=[account.pk])


@staff_view(**READ)
def index(request: HttpRequest, staff: Staff) -> HttpResponse:
    context = {"providers": selectors.overview(staff.shop), "status_labels": STATUS_LABELS}
    return page(request, staff, "golive/index.html", context, nav="golive")


@staff_view(**READ)
def checklist(request: HttpRequest, staff: Staff, account_id: str) -> HttpResponse:
    account = _account(staff, account_id)
    report = readiness(account)
    test, production = report.test_account, report.production_account
    switch = ProductionSwitch.objects.filter(account=production).order_by("-created_at").first() if production else None
    context = {
        "account": account,
        "report": report,
        "items": [{"item": item, "label": STATUS_LABELS[item.status]} for item in report.items],
        "test": test,
        "production": production,
        "switch": switch,
        "sandbox": test is not None and effective_base_url(test) is not None,
        "webhook_urls": shop_services.webhook_urls(test) if test else {},
        "kit": kit_for(account.provider),
        "provider_name": registry.info(account.provider).name,
        "mail_sent": mail.last_sent(account) if kit_for(account.provider) else None,
        "min_reason": services.MIN_OVERRIDE_REASON,
    }
    return page(request, staff, "golive/checklist.html", context, nav="golive")


@require_POST
@staff_view(**READ)
def action(request: HttpRequest, staff: Staff, account_id: str, name: str) -> HttpResponse:
    """Operator actions (POST): checks and test-environment runs. Each records evidence and is audited."""
    account = _account(staff, account_id)
    report = readiness(account)
    actor = staff.actor
    try:
        if name == "run_checks":
            target = report.test_account or account
            services.run_checks(actor, target)
            messages.success(request, _("接続テストとページの確認を実行しました。"))
        elif name == "production_connection_test":
            if report.production_account is None:
                raise ValidationFailed({"account": _("本番環境のアカウントが登録されていません。")})
            evidence = services.run_connection_test(actor, report.production_account)
            (messages.success if evidence.ok else messages.error)(request, evidence.detail)
        elif name == "test_webhooks":
            if report.test_account is None:
                raise ValidationFailed({"account": _("テスト環境のアカウントが登録されていません。")})
            evidence = services.send_test_webhooks(actor, report.test_account)
            if "deliveries" in evidence.data:
                messages.info(
                    request, _("テストWebhookを送信しました。数秒後にページを再読み込みすると受信結果が表示されます。")
                )
            else:
                messages.error(request, evidence.detail)
        elif name == "test_purchase":
            if report.test_account is None:
                raise ValidationFailed({"account": _("テスト環境のアカウントが登録されていません。")})
            evidence = services.run_test_purchase(actor, report.test_account)
            (messages.success if evidence.ok else messages.error)(request, evidence.detail)
        elif name in ("live_test_order", "verify_live_test"):
            if report.production_account is None:
                raise ValidationFailed({"account": _("本番環境のアカウントが登録されていません。")})
            if name == "live_test_order":
                services.record_live_test_order(actor, report.production_account, request.POST.get("order_no", ""))
                messages.success(request, _("本番テスト注文の注文番号を登録しました。"))
            else:
                evidence = services.verify_live_test_order(actor, report.production_account)
                (messages.success if evidence.ok else messages.error)(request, evidence.detail)
        else:
            raise Http404(_("不明な操作です。"))
    except ValidationFailed as exc:
        messages.error(request, error_message(exc))
    return redirect(_checklist_url(account))


@require_POST
@staff_view(**OWNER)
def switch(request: HttpRequest, staff: Staff, account_id: str) -> HttpResponse:
    """本番切替 (POST, owners): refused while items are open unless a reason is typed (then audited)."""
    account = _account(staff, account_id)
    production = readiness(account).production_account
    try:
        if production is None:
            raise ValidationFailed({"account": _("本番環境のアカウントが登録されていません。")})
        done = services.switch_to_production(
            staff.actor, production, override_reason=request.POST.get("override_reason", "")
        )
    except ValidationFailed as exc:
        messages.error(request, error_message(exc))
    else:
        if done.overridden:
            messages.warning(
                request, _("確認未了の項目があるまま本番環境に切り替えました(理由は操作ログに記録しました)。")
            )
        else:
            messages.success(request, _("本番環境に切り替えました。本番テスト注文を行い、取消を確認してください。"))
    return redirect(_checklist_url(account))


@staff_view(**OWNER)
def copy_edit(request: HttpRequest, staff: Staff, provider: str) -> HttpResponse:
    provider = _provider_or_404(staff, provider)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        what = request.POST.get("action", "save")
        try:
            if what == "save":
                fields = ("name", "banner_url", "banner_link", "description", "instructions", "notes")
                display.save_copy(staff.actor, staff.shop, provider, **{f: request.POST.get(f, "") for f in fields})
                messages.success(request, _("決済選択画面の文言を保存しました。"))
            elif what == "reset":
                display.reset_copy(staff.actor, staff.shop, provider)
                messages.success(request, _("公式の文言に戻しました。"))
            elif what == "apply":
                methods = display.apply_copy(staff.actor, staff.shop, provider)
                messages.success(request, _("%(n)s件の支払方法に反映しました。") % {"n": len(methods)})
            else:
                raise Http404(_("不明な操作です。"))
            return redirect("golive:copy", provider=provider)
        except ValidationFailed as exc:
            errors = exc.errors
            status = 400
    copy = display.copy_for(staff.shop, provider)
    if errors:
        for field in ("name", "banner_url", "banner_link", "description", "instructions", "notes"):
            setattr(copy, field, request.POST.get(field, getattr(copy, field)))
    methods = display.methods_of(staff.shop, provider)
    context: dict[str, Any] = {
        "provider": provider,
        "provider_name": registry.info(provider).name,
        "kit": kit_for(provider),
        "copy": copy,
        "errors": errors,
        "previews": [_preview(display.display_for(m)) for m in methods],
        "copy_preview": {
            "description": mark_safe(display.sanitize(copy.description)),  # noqa: S308 - sanitised by nh3
            "instructions": mark_safe(display.sanitize(copy.instructions)),  # noqa: S308
            "notes": mark_safe(display.sanitize(copy.notes)),  # noqa: S308
        },
        "guide_snippet": display.guide_page_snippet(staff.shop, provider),
        "legal_snippet": display.legal_notice_snippet(staff.shop, provider),
        "anchor": pick_account(staff.shop, provider, Environment.TEST)
        or pick_account(staff.shop, provider, Environment.PRODUCTION),
    }
    return page(request, staff, "golive/copy.html", context, nav="golive", status=status)


def _preview(shown: dict[str, Any]) -> dict[str, Any]:
    """display_for's HTML fields, marked safe for the template (they are sanitised by nh3)."""
    safe = {k: mark_safe(shown[k]) for k in ("description_html", "instructions_html", "notes_html")}  # noqa: S308
    return {**shown, **safe}


@staff_view(**OWNER)
def pages_edit(request: HttpRequest, staff: Staff) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    fields = ("payment_guide_url", "legal_notice_url", "company", "site_url", "contact_name")
    if request.method == "POST":
        try:
            services.save_pages(staff.actor, staff.shop, **{f: request.POST.get(f, "") for f in fields})
            messages.success(request, _("ページのURLと連絡先を保存しました。"))
            return redirect("golive:pages")
        except ValidationFailed as exc:
            errors = exc.errors
            status = 400
    pages = services.pages_for(staff.shop)
    form = {f: request.POST.get(f, "") if errors else getattr(pages, f) for f in fields}
    context = {"form": form, "errors": errors, "shop": staff.shop}
    return page(request, staff, "golive/pages.html", context, nav="golive", status=status)


@staff_view(**OWNER)
def readiness_mail(request: HttpRequest, staff: Staff, account_id: str) -> HttpResponse:
    account = _account(staff, account_id)
    errors: dict[str, str] = {}
    status = 200
    confirmed: set[int] = set()
    if request.method == "POST":
        confirmed = {int(v) for v in request.POST.getlist("confirm") if v.isdigit()}
        try:
            sent = mail.send(staff.actor, account, confirmed)
            messages.success(request, _("%(to)s に準備完了連絡を送信しました。") % {"to": sent.to})
            return redirect("golive:mail", account_id=account.pk)
        except ValidationFailed as exc:
            errors = exc.errors
            status = 400
    try:
        draft = mail.draft(account)
    except ValidationFailed as exc:
        raise Http404(error_message(exc)) from None
    if request.method != "POST":
        confirmed = {row.index for row in draft.confirmations if row.evidence == "ok"}
    context = {
        "account": account,
        "draft": draft,
        "errors": errors,
        "confirmed": confirmed,
        "sent": mail.last_sent(account),
        "status_labels": STATUS_LABELS,
    }
    return page(request, staff, "golive/mail.html", context, nav="golive", status=status)


@staff_view(**READ)
def agency(request: HttpRequest, staff: Staff) -> HttpResponse:
    context = {"shops": selectors.agency_overview(staff.membership.user_id), "status_labels": STATUS_LABELS}
    return page(request, staff, "golive/agency.html", context, nav="golive")


@require_POST
@staff_view(read=Role.VIEWER, write=Role.VIEWER)
def agency_open(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Open another of the user's shops at its 本番開始チェック (the same switch as the header's)."""
    wanted = request.POST.get("shop", "")
    membership = next((m for m in memberships_of(request) if m.shop_id == wanted), None)
    if membership is None:
        raise Http404(_("そのショップに所属していません。"))
    request.session[SESSION_SHOP_KEY] = membership.shop_id
    backoffice_services.record(
        staff.actor, membership.shop, "shop.switch", target_type="shop", target_id=membership.shop_id
    )
    return redirect("golive:index")
