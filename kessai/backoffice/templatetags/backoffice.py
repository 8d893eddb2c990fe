"""Template filters for the back-office: yen, JST, state and provider labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from kessai.common.jst import to_jst
from kessai.payments.money import format_yen
from kessai.payments.state import ACTION_LABELS, STATE_LABELS, Action, PaymentState
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
def jst_minute(moment: datetime | None) -> str:
    return jst(moment, "%Y-%m-%d %H:%M")


@register.filter
def state_label(state: str | None) -> str:
    try:
        return str(STATE_LABELS[PaymentState(state or "")])
    except ValueError:
        return state or ""


@register.filter
def action_label(kind: str | None) -> str:
    try:
        return str(ACTION_LABELS[Action(kind or "")])
    except ValueError:
        return kind or ""


@register.filter
def provider_name(code: str | None) -> str:
    try:
        return registry.info(code or "").name
    except (UnknownProvider, KeyError):
        return code or ""


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    if mapping is None:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def percent(rate: float | None) -> str:
    return f"{(rate or 0.0) * 100:.1f}%"


@register.filter
def line_yen(item: Any) -> str:
    try:
        return format_yen(int(item["unit_price"]) * int(item["quantity"]))
    except (KeyError, TypeError, ValueError):
        return ""
