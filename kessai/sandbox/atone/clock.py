"""The emulator's clock: real time in Asia/Tokyo plus an offset in days set by the control endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def _system_now() -> datetime:
    return datetime.now(JST)


class Clock:
    def __init__(self, base: Callable[[], datetime] | None = None, offset_days: int = 0) -> None:
        self._base = base or _system_now
        self.offset_days = offset_days

    def now(self) -> datetime:
        return (self._base() + timedelta(days=self.offset_days)).astimezone(JST)


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole calendar days in Asia/Tokyo from ``earlier`` to ``later`` (registration day = day 0)."""
    return (later.astimezone(JST).date() - earlier.astimezone(JST).date()).days


def isoformat(moment: datetime) -> str:
    """ISO-8601 with the +09:00 offset, second precision (protocol note §4.5, inferred)."""
    return moment.astimezone(JST).replace(microsecond=0).isoformat()
