"""Template filters of the billing screens (yen, JST, labels)."""

from __future__ import annotations

from datetime import datetime

from django import template

from kessai.common.jst import to_jst
from kessai.payments.money import format_yen
from kessai.payments.state import STATE_LABELS, PaymentState
from kessai.providers import registry
from kessai.providers.credentials import UnknownProvider

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    return "" if amount is None else format_yen(int(amount))


@register.filter
def jst(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return "" if moment is None else to_jst(moment).strftime(fmt)


@register.filter
def jst_date(moment: datetime | None) -> str:
    return jst(moment, "%Y-%m-%d")


@register.filter
def payment_state(state: str | None) -> str:
    try:
        return str(STATE_LABELS[PaymentState(state or "")])
    except ValueError:
        return state or ""


@register.filter
def provider_name(code: str | None) -> str:
    try:
        return registry.info(code or "").name
    except (UnknownProvider, KeyError):
        return code or ""
