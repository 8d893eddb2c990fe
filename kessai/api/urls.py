"""Mounted at /api/v1/ (kessai.config.urls). Everything under it answers in problem+json, including
unknown paths (404) and wrong methods (405)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt

from kessai.api import problems
from kessai.api.api import api


def _problem_405(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(problems.CONTENT_TYPE):
            return problems.problem_response(405, "method_not_allowed", headers={"Allow": response.get("Allow", "")})
        return response

    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problems.problem_response(404, "not_found")


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _app, _namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern = URLPattern(pattern.pattern, _problem_405(pattern.callback), pattern.default_args, pattern.name)
        wrapped.append(pattern)
    return [*wrapped, re_path(r"^(?P<rest>.*)$", not_found)]


app_name = "api"
urlpatterns = _patterns()
