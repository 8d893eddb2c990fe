"""Japan Standard Time helpers: stored UTC, shown Asia/Tokyo."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def now_jst() -> datetime:
    return datetime.now(tz=JST)


def today_jst() -> date:
    return now_jst().date()


def to_jst(moment: datetime) -> datetime:
    return moment.astimezone(JST)


def format_jst(moment: datetime | None) -> str:
    """``2026/11/23 21:15:04`` as Japanese back-offices print it."""
    return "" if moment is None else to_jst(moment).strftime("%Y/%m/%d %H:%M:%S")
