"""The hosted checkout ``/pay/<token>``: thin views — they read through selectors and act through services.

The provider's widget runs in the buyer's browser; its callbacks post back here:

- ``authenticated(token, user_no)`` → ``POST …/authenticated``: the buyer's token is kept for the
  customer (sent as ``pre_token`` next time, used for server-side charges);
- ``succeeded(response)`` / ``failed(response)`` → ``POST …/result`` ``{provider_ref}``: only a hint —
  ``services.confirm_checkout`` asks the provider before anything is recorded;
- ``cancelled()`` records nothing; ``error(...)`` is shown to the buyer in Japanese.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kessai.checkout import links, page, selectors
from kessai.payments import services
from kessai.payments.models import Payment
from kessai.payments.state import InvalidTransition, PaymentState
from kessai.providers.base import ProviderError, ProviderRequestInvalid, ProviderUnavailable
from kessai.shops.errors import ValidationFailed
from kessai.shops.keyring import KeyRingError

log = logging.getLogger(__name__)

ACTOR = "checkout"
PROVIDER_REF_RE = re.compile(r"[A-Za-z0-9_\-]{1,100}")
TOKEN_RE = re.compile(r"[\x21-\x7e]{1,200}")


def _payment(token: str) -> Payment:
    payment = selectors.payment_for_checkout(token)
    if payment is None:
        raise Http404
    return payment


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _messages() -> dict[str, str]:
    """Texts the page's script shows (translated here, like every user-visible string)."""
    return {
        "confirming": _("お支払いの結果を確認しています…"),
        "cancelled": _("お支払いは完了していません。もう一度お試しいただくか、他のお支払い方法をお選びください。"),
        "error": _("エラーが発生しました。"),
        "network": _("通信エラーが発生しました。時間をおいて再度お試しください。"),
        "unavailable": _("お支払い画面を読み込めませんでした。ページを再読み込みしてください。"),
        "retry_failed": _(
            "お支払いの結果を確認できませんでした。しばらくしてからページを再読み込みしてください。"
            "同じご注文で重ねてお支払いいただく必要はありません。"
        ),
    }


def _render(request: HttpRequest, view: page.Page, *, status: int = 200, message: str = "") -> HttpResponse:
    payment = view.payment
    config: dict[str, Any] | None = None
    if view.widget is not None:
        config = {
            "provider": payment.provider,
            "widget": view.widget,
            "urls": {
                "result": f"{links.checkout_path(payment)}/result",
                "authenticated": f"{links.checkout_path(payment)}/authenticated",
                "page": links.checkout_path(payment),
            },
            "messages": _messages(),
        }
    response = render(
        request,
        "checkout/pay.html",
        {"page": view, "payment": payment, "shop": payment.shop, "config": config, "message": message},
        status=status,
    )
    response["Content-Security-Policy"] = page.content_security_policy(view.script_url, view.image_urls)
    response["Cache-Control"] = "no-store"
    return response


def _with_widget(view: page.Page) -> page.Page:
    payment = view.payment
    if payment.state != PaymentState.CREATED or view.notice:
        return view
    if not page.browser_checkout(payment.provider):
        return view
    try:
        widget = services.checkout_widget(payment)
    except (ProviderError, KeyRingError) as exc:
        log.warning("checkout widget unavailable for %s: %s", payment.pk, exc)
        view.notice = _("現在このお支払い方法はご利用いただけません。他のお支払い方法をお選びください。")
        return view
    view.script_url = str(widget.pop("script_url"))
    view.widget = widget
    return view


@require_GET
def pay(request: HttpRequest, token: str) -> HttpResponse:
    payment = _payment(token)
    return _render(request, _with_widget(page.build(payment)))


@require_POST
def authenticated(request: HttpRequest, token: str) -> JsonResponse:
    """The widget's ``authenticated(authentication_token, user_no)``: keep the buyer's token."""
    payment = _payment(token)
    data = _json_body(request)
    buyer_token, user_no = data.get("authentication_token"), data.get("user_no", "")
    if not isinstance(buyer_token, str) or not TOKEN_RE.fullmatch(buyer_token):
        return JsonResponse({"message": _("認証情報の形式が正しくありません。")}, status=400)
    services.remember_buyer_token(payment, buyer_token, str(user_no)[:100] if user_no else "")
    return JsonResponse({"ok": True})


@require_POST
def result(request: HttpRequest, token: str) -> JsonResponse:
    """The widget's ``succeeded`` / ``failed``: the reported transaction id is confirmed with the provider."""
    payment = _payment(token)
    page_url = links.checkout_path(payment)
    provider_ref = _json_body(request).get("provider_ref")
    if not isinstance(provider_ref, str) or not PROVIDER_REF_RE.fullmatch(provider_ref):
        return JsonResponse({"message": _("決済IDの形式が正しくありません。")}, status=400)
    try:
        confirmed = services.confirm_checkout(payment, provider_ref=provider_ref, actor=ACTOR)
    except ProviderUnavailable:
        return JsonResponse({"message": _messages()["confirming"], "retry": True}, status=503)
    except ProviderRequestInvalid:
        return JsonResponse({"message": _("お支払いの結果を確認できませんでした。")}, status=400)
    except ProviderError:
        return JsonResponse({"message": _("お支払いの結果を確認できませんでした。")}, status=502)
    except InvalidTransition:
        current = Payment.objects.get(pk=payment.pk)
        if current.state == PaymentState.AUTHORIZING:  # the provider's webhook is confirming it right now
            return JsonResponse({"message": _messages()["confirming"], "retry": True}, status=409)
        return JsonResponse({"state": current.state, "redirect": page_url})
    return JsonResponse({"state": confirmed.state, "redirect": page_url})


@require_POST
def choose_method(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer picked another payment method (or, after 与信NG, tries again): a new payment."""
    payment = _payment(token)
    method_id = request.POST.get("payment_method", "")
    if payment.payment_method_id == method_id and payment.state == PaymentState.CREATED:
        return redirect(links.checkout_path(payment))
    if method_id not in {m.id for m in page.methods_for(payment)}:
        view = _with_widget(page.build(payment))
        return _render(request, view, status=400, message=_("指定されたお支払い方法は利用できません。"))
    try:
        started = services.start_payment(payment.order, method_ref=method_id, actor=ACTOR)
        new_payment = started.payment
    except ValidationFailed as exc:
        view = _with_widget(page.build(payment))
        return _render(request, view, status=400, message=" ".join(exc.errors.values()))
    except ProviderError:
        # A server-side authorization answered NG or failed: the new payment shows its own result.
        new_payment = Payment.objects.filter(order=payment.order).order_by("-created_at", "-id").first() or payment
    return redirect(links.checkout_path(new_payment))
