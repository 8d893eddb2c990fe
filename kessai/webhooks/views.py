"""Inbound provider webhooks over HTTP: thin — authorise, store, acknowledge (see :mod:`.inbound`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kessai.webhooks import inbound
from kessai.webhooks.models import InboundStatus


@csrf_exempt  # the provider posts without our CSRF token; the URL's token authorises it
@require_POST
def provider_webhook(request: HttpRequest, provider: str, account_id: str, kind: str) -> HttpResponse:
    if kind not in inbound.KINDS:
        return HttpResponseNotFound("not found", content_type="text/plain")
    account = inbound.authorised_account(provider, account_id, request.GET.get("token", ""))
    if account is None:
        return HttpResponseNotFound("not found", content_type="text/plain")
    row = inbound.receive(account, kind, dict(request.headers), request.body)
    return JsonResponse({"received": True, "duplicate": row.status == InboundStatus.DUPLICATE})
