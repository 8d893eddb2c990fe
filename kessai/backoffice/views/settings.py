"""Settings: 外部連携アカウント管理, 支払方法, 手数料設定, セキュリティ. Owners change; operators read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_otp import user_has_device

from kessai.backoffice import capabilities, services
from kessai.backoffice.access import Staff, staff_view
from kessai.backoffice.forms import credential_fields, submitted_credentials
from kessai.backoffice.views.common import error_message, int_or_raw, page
from kessai.payments.models import CaptureMode
from kessai.providers import registry
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import Environment, FeeRule, Membership, PaymentMethod, ProviderAccount, Role

SETTINGS = {"read": Role.OPERATOR, "write": Role.OWNER}
FEE_ROWS = 5


def _account_audit(account: ProviderAccount) -> dict[str, Any]:
    return {
        "provider": account.provider,
        "environment": account.environment,
        "credentials": shop_services.masked_credentials(account),
        "options": dict(account.options or {}),
        "base_url": account.base_url,
        "active": account.active,
    }


def _accounts_by_env(staff: Staff, provider: str) -> dict[str, ProviderAccount | None]:
    found: dict[str, ProviderAccount | None] = {Environment.TEST: None, Environment.PRODUCTION: None}
    for account in ProviderAccount.objects.filter(shop=staff.shop, provider=provider).order_by("created_at"):
        found[account.environment] = account
    return found


# --------------------------------------------------------------------------- 外部連携アカウント管理


@staff_view(**SETTINGS)
def accounts(request: HttpRequest, staff: Staff) -> HttpResponse:
    stored: dict[str, list[ProviderAccount]] = {}
    for account in ProviderAccount.objects.filter(shop=staff.shop).order_by("provider", "environment"):
        stored.setdefault(account.provider, []).append(account)
    rows = [
        {
            "info": info,
            "accounts": stored.get(info.code, []),
            "active": next((a for a in stored.get(info.code, []) if a.active), None),
        }
        for info in registry.all_providers()
    ]
    return page(request, staff, "backoffice/settings/accounts.html", {"rows": rows}, nav="accounts")


def _env_panel(
    staff: Staff,
    provider: str,
    environment: str,
    account: ProviderAccount | None,
    *,
    submitted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    other_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    schema = registry.schema(provider)
    masked = shop_services.masked_credentials(account) if account else {}
    return {
        "environment": environment,
        "label": Environment(environment).label,
        "account": account,
        "fields": credential_fields(schema, environment, masked=masked, submitted=submitted, errors=errors),
        "webhook_urls": shop_services.webhook_urls(account) if account else {},
        "capture": (account.option("capture", CaptureMode.MANUAL) if account else CaptureMode.MANUAL),
        "errors": other_errors or {},
        "sandbox": environment == Environment.TEST and django_settings.KESSAI_ALLOW_SANDBOX,
    }


@staff_view(**SETTINGS)
def account_detail(request: HttpRequest, staff: Staff, provider: str) -> HttpResponse:
    if not registry.is_known(provider):
        raise Http404(_("未対応の決済会社です。"))
    by_env = _accounts_by_env(staff, provider)
    panels = {env: _env_panel(staff, provider, env, acct) for env, acct in by_env.items()}
    status = 200
    test_result = None
    if request.method == "POST":
        env = request.POST.get("environment", "")
        if env not in Environment.values:
            raise Http404(_("環境が正しくありません。"))
        account = by_env[env]
        if request.POST.get("action") == "test" and account is not None:
            test_result = services.run_connection_test(staff.actor, account)
            panels[env]["test_result"] = test_result
        else:
            result = _save_account(request, staff, provider, env, account)
            if isinstance(result, ProviderAccount):
                messages.success(
                    request,
                    _("%(name)s(%(env)s)の設定を保存しました。")
                    % {"name": registry.info(provider).name, "env": Environment(env).label},
                )
                return redirect("backoffice:account_detail", provider=provider)
            panels[env] = result
            status = 400
    context = {
        "info": registry.info(provider),
        "caps": capabilities.for_provider(provider),
        "panels": [panels[Environment.TEST], panels[Environment.PRODUCTION]],
        "capture_modes": CaptureMode.choices,
    }
    return page(request, staff, "backoffice/settings/account_detail.html", context, nav="accounts", status=status)


def _save_account(
    request: HttpRequest, staff: Staff, provider: str, env: str, account: ProviderAccount | None
) -> ProviderAccount | dict[str, Any]:
    schema = registry.schema(provider)
    credentials = submitted_credentials(schema, request.POST, editing=account is not None)
    capture = request.POST.get("capture", CaptureMode.MANUAL)
    options = {"capture": capture if capture in CaptureMode.values else CaptureMode.MANUAL}
    base_url = request.POST.get("base_url", "").strip() if env == Environment.TEST else ""
    active = request.POST.get("active") == "on"
    before = _account_audit(account) if account else None
    try:
        if account is None:
            saved = shop_services.create_provider_account(
                staff.shop,
                provider=provider,
                environment=env,
                credentials=credentials,
                options=options,
                base_url=base_url,
                active=active,
            )
        else:
            saved = shop_services.update_provider_account(
                account, credentials=credentials, options=options, base_url=base_url, active=active
            )
    except ValidationFailed as exc:
        field_errors = {
            k.removeprefix("credentials."): v for k, v in exc.errors.items() if k.startswith("credentials.")
        }
        other = {k: v for k, v in exc.errors.items() if not k.startswith("credentials.")}
        return _env_panel(staff, provider, env, account, submitted=credentials, errors=field_errors, other_errors=other)
    services.record(
        staff.actor,
        staff.shop,
        "provider_account.create" if account is None else "provider_account.update",
        target_type="provider_account",
        target_id=saved.pk,
        before=before,
        after=_account_audit(saved),
    )
    return saved


# --------------------------------------------------------------------------- 支払方法


def _methods(staff: Staff) -> list[PaymentMethod]:
    return list(
        PaymentMethod.objects.filter(shop=staff.shop).select_related("provider_account").order_by("sort", "created_at")
    )


def _method_audit(m: PaymentMethod) -> dict[str, Any]:
    return {
        "name": m.name,
        "code": m.code,
        "description": m.description,
        "banner_url": m.banner_url,
        "banner_link": m.banner_link,
        "active": m.active,
        "sort": m.sort,
    }


@staff_view(**SETTINGS)
def payment_methods(request: HttpRequest, staff: Staff) -> HttpResponse:
    errors: dict[str, str] = {}
    form: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                form = {
                    k: request.POST.get(k, "")
                    for k in ("account", "code", "name", "description", "banner_url", "banner_link")
                }
                account = ProviderAccount.objects.filter(shop=staff.shop, pk=form["account"]).first()
                if account is None:
                    raise ValidationFailed({"account": _("外部連携アカウントを選択してください。")})
                method = shop_services.create_payment_method(
                    staff.shop,
                    provider_account=account,
                    code=form["code"],
                    name=form["name"],
                    description=form["description"],
                    banner_url=form["banner_url"],
                    banner_link=form["banner_link"],
                )
                services.record(
                    staff.actor,
                    staff.shop,
                    "payment_method.create",
                    target_type="payment_method",
                    target_id=method.pk,
                    after=_method_audit(method),
                )
                messages.success(request, _("支払方法「%(name)s」を追加しました。") % {"name": method.name})
            elif action == "reorder" or request.POST.get("move"):
                _reorder(request, staff)
                messages.success(request, _("支払方法の並び順を保存しました。"))
            else:
                raise ValidationFailed({"action": _("不明な操作です。")})
            return redirect("backoffice:payment_methods")
        except ValidationFailed as exc:
            errors = exc.errors
            status = 400
    context = {
        "methods": _methods(staff),
        "accounts": list(ProviderAccount.objects.filter(shop=staff.shop).order_by("provider", "environment")),
        "errors": errors,
        "form": form,
    }
    return page(request, staff, "backoffice/settings/payment_methods.html", context, nav="methods", status=status)


def _reorder(request: HttpRequest, staff: Staff) -> None:
    ids = [m.pk for m in _methods(staff)]
    before = list(ids)
    move = request.POST.get("move", "")
    if move:
        method_id, _sep, direction = move.rpartition(":")
        if method_id in ids:
            i = ids.index(method_id)
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(ids):
                ids[i], ids[j] = ids[j], ids[i]
    else:
        ids = request.POST.getlist("order")
    shop_services.reorder_payment_methods(staff.shop, ids)
    services.record(
        staff.actor,
        staff.shop,
        "payment_method.reorder",
        target_type="payment_method",
        before={"order": before},
        after={"order": ids},
    )


def _method_or_404(staff: Staff, method_id: str) -> PaymentMethod:
    method = PaymentMethod.objects.filter(shop=staff.shop, pk=method_id).select_related("provider_account").first()
    if method is None:
        raise Http404(_("支払方法が見つかりません。"))
    return method


@staff_view(**SETTINGS)
def payment_method_edit(request: HttpRequest, staff: Staff, method_id: str) -> HttpResponse:
    method = _method_or_404(staff, method_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        before = _method_audit(method)
        action = request.POST.get("action", "save")
        try:
            if action == "delete":
                shop_services.delete_payment_method(method)
                services.record(
                    staff.actor,
                    staff.shop,
                    "payment_method.delete",
                    target_type="payment_method",
                    target_id=method_id,
                    before=before,
                )
                messages.success(request, _("支払方法を削除しました。"))
                return redirect("backoffice:payment_methods")
            if action in ("activate", "stop"):
                shop_services.update_payment_method(method, active=action == "activate")
            else:
                shop_services.update_payment_method(
                    method,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    banner_url=request.POST.get("banner_url", "").strip(),
                    banner_link=request.POST.get("banner_link", "").strip(),
                    active=request.POST.get("active") == "on",
                )
            services.record(
                staff.actor,
                staff.shop,
                f"payment_method.{action}",
                target_type="payment_method",
                target_id=method.pk,
                before=before,
                after=_method_audit(method),
            )
            messages.success(request, _("支払方法「%(name)s」を更新しました。") % {"name": method.name})
            return redirect("backoffice:payment_methods")
        except ValidationFailed as exc:
            if action in ("delete", "activate", "stop"):
                messages.error(request, error_message(exc))
                return redirect("backoffice:payment_methods")
            errors = exc.errors
            method.refresh_from_db()
    return page(
        request,
        staff,
        "backoffice/settings/payment_method_edit.html",
        {"method": method, "errors": errors},
        nav="methods",
        status=400 if errors else 200,
    )


# --------------------------------------------------------------------------- 手数料設定


@staff_view(**SETTINGS)
def fees(request: HttpRequest, staff: Staff) -> HttpResponse:
    codes = sorted(set(ProviderAccount.objects.filter(shop=staff.shop).values_list("provider", flat=True)))
    provider = request.GET.get("provider") or request.POST.get("provider") or (codes[0] if codes else "")
    if provider and not registry.is_known(provider):
        raise Http404(_("未対応の決済会社です。"))
    rule = FeeRule.objects.filter(shop=staff.shop, provider=provider).first() if provider else None
    rows: list[dict[str, Any]] = [dict(t) for t in (rule.tiers if rule else [])]
    errors: dict[str, str] = {}
    allow_gaps = False
    if request.method == "POST" and provider:
        raw_rows = zip(
            request.POST.getlist("min_amount"),
            request.POST.getlist("max_amount"),
            request.POST.getlist("fee"),
            strict=False,
        )
        rows = [{"min_amount": a, "max_amount": b, "fee": c} for a, b, c in raw_rows if (a + b + c).strip()]
        allow_gaps = request.POST.get("allow_gaps") == "on"
        tiers: list[Mapping[str, object]] = [{k: int_or_raw(str(v)) for k, v in row.items()} for row in rows]
        before = {"tiers": rule.tiers} if rule else None
        try:
            saved = shop_services.set_fee_rule(staff.shop, provider, tiers, allow_gaps=allow_gaps)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            services.record(
                staff.actor,
                staff.shop,
                "fee_rule.set",
                target_type="fee_rule",
                target_id=provider,
                before=before,
                after={"tiers": saved.tiers},
            )
            messages.success(request, _("手数料設定を保存しました。"))
            return redirect(f"{request.path}?provider={provider}")
    while len(rows) < FEE_ROWS:
        rows.append({"min_amount": "", "max_amount": "", "fee": ""})
    row_errors = [
        {field: errors.get(f"tiers[{i}].{field}", "") for field in ("min_amount", "max_amount", "fee")}
        for i in range(len(rows))
    ]
    context = {
        "providers": [(c, registry.info(c).name) for c in codes if registry.is_known(c)],
        "provider": provider,
        "rows": list(zip(rows, row_errors, strict=True)),
        "errors": errors,
        "allow_gaps": allow_gaps,
    }
    return page(request, staff, "backoffice/settings/fees.html", context, nav="fees", status=400 if errors else 200)


# --------------------------------------------------------------------------- セキュリティ


@staff_view(read=Role.OWNER, write=Role.OWNER)
def security(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method == "POST":
        services.set_require_otp(staff.actor, staff.shop, request.POST.get("require_otp") == "on")
        messages.success(request, _("セキュリティ設定を保存しました。"))
        return redirect("backoffice:security")
    members = list(Membership.objects.filter(shop=staff.shop).select_related("user").order_by("user__username"))
    context = {
        "require_otp": services.requires_otp(staff.shop),
        "members": [{"m": m, "otp": user_has_device(m.user)} for m in members],
    }
    return page(request, staff, "backoffice/settings/security.html", context, nav="security")
