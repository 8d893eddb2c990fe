"""The emulator's clock: real time in Asia/Tokyo plus an offset in seconds set by the control endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def _system_now() -> datetime:
    return datetime.now(JST)


class Clock:
    def __init__(self, base: Callable[[], datetime] | None = None, offset_seconds: float = 0.0) -> None:
        self._base = base or _system_now
        self.offset_seconds = offset_seconds

    def now(self) -> datetime:
        return (self._base() + timedelta(seconds=self.offset_seconds)).astimezone(JST)


def isoformat(moment: datetime) -> str:
    """ISO-8601 with the +09:00 offset, second precision (``authori_required_date`` [C S5])."""
    return moment.astimezone(JST).replace(microsecond=0).isoformat()
