"""Request hygiene before anything is parsed or stored, for every operation (a ninja "view" decorator):

* unknown query parameters are refused (422 ``unknown_field``), as Stripe does: a mistyped filter
  (``?stat=captured``) must not silently return every order; so is a parameter given twice
  (422 ``repeated_field``: ``?state=a&state=b`` would otherwise silently use the last one);
* text that no database can store — NUL characters, lone UTF-16 surrogates — is refused
  (422 ``invalid_character``) wherever it appears: path, query, JSON body.

Unauthenticated requests pass through untouched to get their 401.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext

from kessai.api import problems
from kessai.api.auth import api_key_from_request


def _declared_query_names(run: Callable[..., HttpResponseBase]) -> set[str]:
    operation = getattr(inspect.unwrap(run), "__self__", None)
    names: set[str] = set()
    for model in getattr(operation, "models", []):
        if getattr(model, "__ninja_param_source__", None) == "query":
            names.update(getattr(model, "__ninja_flatten_map__", None) or model.model_fields)
    return names


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_strings(value: Any, path: str = "") -> Iterator[str]:
    """Field pointers (``customer.name``, ``items[0].sku``) of strings that cannot be stored."""
    if isinstance(value, str):
        if not _storable(value):
            yield path
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_strings(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            pointer = f"{path}.{key}" if path else str(key)
            if not _storable(str(key)):
                yield path or "(body)"
            else:
                yield from _bad_strings(item, pointer)


def _unstorable_fields(request: HttpRequest) -> list[str]:
    fields = ["(path)"] if not _storable(request.path) else []
    for key, values in request.GET.lists():
        if not _storable(key) or not all(_storable(v) for v in values):
            fields.append(key if _storable(key) else "(query)")
    if request.body:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            body = None  # ninja answers 400 invalid_json
        fields.extend(_bad_strings(body))
    return fields


def sanitize_request(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if api_key_from_request(request) is None:
            return run(request, *args, **kwargs)
        unstorable = _unstorable_fields(request)
        if unstorable:
            message = gettext("使用できない文字(NUL文字・不正なサロゲート)が含まれています。")
            fields = [problems.FieldProblem(name, "invalid_character", message) for name in unstorable]
            return problems.problem_response(422, "invalid_character", detail=message, errors=fields)
        unknown = sorted(set(request.GET) - _declared_query_names(run))
        if unknown:
            message = gettext("不明な項目です。")
            fields = [problems.FieldProblem(name, "unknown_field", message) for name in unknown]
            detail = gettext("不明なクエリパラメータがあります: %(names)s") % {"names": ", ".join(unknown)}
            return problems.problem_response(422, "validation_error", detail=detail, errors=fields)
        repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
        if repeated:
            message = gettext("この項目は1回だけ指定してください。")
            fields = [problems.FieldProblem(name, "repeated_field", message) for name in repeated]
            detail = gettext("同じクエリパラメータが複数回指定されています: %(names)s") % {"names": ", ".join(repeated)}
            return problems.problem_response(422, "validation_error", detail=detail, errors=fields)
        return run(request, *args, **kwargs)

    return wrapper
