"""Helpers shared by the back-office views (rendering with the shop context, error messages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from kessai.backoffice.access import Staff
from kessai.backoffice.selectors import error_banner_since
from kessai.payments.state import InvalidTransition
from kessai.providers.base import ProviderError
from kessai.shops.errors import ValidationFailed


def page(
    request: HttpRequest,
    staff: Staff,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    nav: str = "",
    status: int = 200,
) -> HttpResponse:
    ctx = {"staff": staff, "nav": nav, "error_since": error_banner_since(staff.shop), **(context or {})}
    return render(request, template, ctx, status=status)


def error_message(exc: Exception) -> str:
    """The Japanese message of a service error, for staff."""
    if isinstance(exc, ProviderError):
        return exc.message or _("決済会社でエラーが発生しました。")
    if isinstance(exc, InvalidTransition):
        return exc.message
    if isinstance(exc, ValidationFailed):
        return " ".join(exc.errors.values())
    return str(exc)


def flash_error(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, error_message(exc))


def int_or_raw(value: str) -> int | str:
    """Form text → int when it is a (full-width tolerant) integer, else the raw text for the validator."""
    from kessai.common.text import normalize

    text = normalize(value or "").replace(",", "")
    if text.lstrip("-").isdigit():
        return int(text)
    return value
