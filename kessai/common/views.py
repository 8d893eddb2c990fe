"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

import hmac
import os

from django.http import HttpRequest, HttpResponse, JsonResponse

from kessai.common import metrics


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. With ``KESSAI_METRICS_TOKEN`` set, a matching bearer token is required;
    without it, only loopback callers are served (put the scraper on the host or behind the proxy)."""
    token = os.environ.get("KESSAI_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse(status=401)
    elif request.META.get("REMOTE_ADDR") not in {"127.0.0.1", "::1"}:
        return HttpResponse(status=403)
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
