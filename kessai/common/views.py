"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from kessai.common import metrics
from kessai.common.client_ip import client_ip


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. With ``KESSAI_METRICS_TOKEN`` set, a matching bearer token is required;
    without it, only loopback callers are served. A reverse proxy on the same host makes every request look
    like loopback unless it is listed in ``KESSAI_TRUSTED_PROXIES`` (then the forwarded client address counts):
    block ``/metrics`` there (deploy/nginx/kessai.conf) and set the token in production."""
    refused = metrics.scrape_refusal(
        client_ip(request), request.headers.get("Authorization", ""), settings.KESSAI_METRICS_TOKEN
    )
    if refused is not None:
        return HttpResponse(status=refused)
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
