"""Login (django-axes lockout), TOTP two-factor authentication (django-otp), logout and shop switching."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from kessai.backoffice import services
from kessai.backoffice.access import SESSION_SHOP_KEY, client_ip, memberships_of
from kessai.shops.errors import ValidationFailed


def _actor(request: HttpRequest) -> services.Actor:
    return services.Actor(request.user, client_ip(request))


class LoginView(auth_views.LoginView):
    template_name = "backoffice/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.record(_actor(self.request), None, "login", target_type="user", target_id=str(self.request.user.pk))
        return response


def locked_out(request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None) -> HttpResponse:
    """django-axes: what a locked-out login attempt sees (in Japanese)."""
    limit = get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else 0
    message = _(
        "ログインに%(limit)s回失敗したため、アカウントをロックしました。%(minutes)s分後に再度お試しいただくか、"
        "ショップのオーナーにお問い合わせください。"
    ) % {"limit": limit, "minutes": minutes}
    return render(request, "backoffice/login.html", {"locked_message": message, "form": None}, status=429)


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        services.record(_actor(request), None, "logout", target_type="user", target_id=str(request.user.pk))
    return auth_views.LogoutView.as_view(next_page="/login/")(request)


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


@login_required
def login_otp(request: HttpRequest) -> HttpResponse:
    """Second step: the 6-digit code from the authenticator app."""
    if not user_has_device(request.user) or request.user.is_verified():  # type: ignore[union-attr]
        return redirect(_safe_next(request))
    error = ""
    if request.method == "POST":
        token = "".join(ch for ch in request.POST.get("token", "") if ch.isdigit())
        device = match_token(request.user, token) if token else None
        if device is not None:
            otp_login(request, device)
            services.record(_actor(request), None, "login.otp", target_type="user", target_id=str(request.user.pk))
            return redirect(_safe_next(request))
        error = _("確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。")
    return render(
        request,
        "backoffice/login_otp.html",
        {"error": error, "next": _safe_next(request)},
        status=400 if error else 200,
    )


@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    """二段階認証の設定: show the otpauth URI and secret, confirm with a code; or turn it off."""
    if user_has_device(request.user) and not request.user.is_verified():  # type: ignore[union-attr]
        return redirect(f"/login/otp/?next={request.path}")
    actor = _actor(request)
    enabled = services.confirmed_totp_device(request.user) is not None
    error = ""
    if request.method == "POST" and request.POST.get("action") == "disable" and enabled:
        try:
            services.disable_totp(actor, [m.shop for m in memberships_of(request)])
        except ValidationFailed as exc:
            error = " ".join(exc.errors.values())
        else:
            messages.success(request, _("二段階認証を解除しました。"))
            return redirect("backoffice:otp_setup")
    elif request.method == "POST" and not enabled:
        device = services.pending_totp_device(request.user)
        if services.confirm_totp_device(actor, device, request.POST.get("token", "")):
            otp_login(request, device)
            messages.success(request, _("二段階認証を有効にしました。次回からログイン時に確認コードが必要です。"))
            return redirect("backoffice:dashboard")
        error = _("確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。")
    context: dict[str, Any] = {"enabled": enabled, "error": error, "required": request.GET.get("required") == "1"}
    if not enabled:
        device = services.pending_totp_device(request.user)
        context.update(config_url=device.config_url, secret=services.totp_secret(device))
    return render(request, "backoffice/otp_setup.html", context, status=400 if error else 200)


@login_required
@require_POST
def switch_shop(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("shop", "")
    membership = next((m for m in memberships_of(request) if m.shop_id == wanted), None)
    if membership is None:
        messages.error(request, _("そのショップに所属していません。"))
        return redirect("backoffice:dashboard")
    request.session[SESSION_SHOP_KEY] = membership.shop_id
    services.record(_actor(request), membership.shop, "shop.switch", target_type="shop", target_id=membership.shop_id)
    messages.success(request, _("ショップを「%(name)s」に切り替えました。") % {"name": membership.shop.name})
    return redirect("backoffice:dashboard")
