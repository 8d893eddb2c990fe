"""Fault injection shared by the emulators, switched by each emulator's ``/_sandbox/faults``.

Every emulator has ``latency_ms`` (sleep before handling: the change is still made, so a client that timed
out does not know the outcome), ``http_5xx`` (a bare 5xx page for the next ``count`` requests or with a
``probability``; nothing stored) and ``drop_after_store`` (for the next N successful changing requests:
store the change, then close the connection without a response). An emulator may add provider-shaped
"next N requests" faults (atone's ``eatn0399``, GMO後払い's ``system_error``) by naming them in ``EXTRA``.

Emulators that send webhooks (``WEBHOOKS = True``: atone, Paidy) also have ``webhook_duplicate`` (``N``,
``{"count": N}`` or ``{"probability": p}``: the delivery is sent twice, as two deliveries with the same body, as an
at-least-once sender does) and ``webhook_delay_ms`` (each delivery leaves after a random delay of up to that many
milliseconds, so deliveries arrive out of order).

``injected`` counts every fault actually applied, by kind (``latency``, ``http_5xx``, ``drop_after_store``,
``webhook_duplicate``, ``webhook_delay`` and the provider-shaped ones), so a fault suite can report what it injected.
It is kept by ``clear`` and reset with the emulator.

The settings are plain data; consuming them happens under the emulator's store lock.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

DEFAULT_5XX_STATUS = 503
ALLOWED_5XX_STATUSES = frozenset({500, 502, 503, 504})


class FaultSpecError(ValueError):
    """The control request describing faults is not valid."""


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{name} must be a non-negative integer")
    return value


def _next_n(value: Any, name: str) -> int:
    """``N`` or ``{"count": N}``."""
    if isinstance(value, dict):
        if set(value) - {"count"}:
            raise FaultSpecError(f"{name} accepts only count")
        return _count(value.get("count", 0), name)
    return _count(value, name)


def _parse_chance(value: Any, name: str) -> tuple[int, float]:
    """``N``, ``{"count": N}`` or ``{"probability": p}``."""
    if not isinstance(value, dict):
        return _count(value, name), 0.0
    if set(value) - {"count", "probability"}:
        raise FaultSpecError(f"{name} accepts count and probability")
    probability = value.get("probability", 0.0)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise FaultSpecError(f"{name}.probability must be between 0 and 1")
    return _count(value.get("count", 0), f"{name}.count"), float(probability)


def _parse_5xx(value: Any) -> tuple[int, float, int]:
    """``N``, ``{"count": N}``, ``{"probability": p}``; either may add ``"status"``."""
    if not isinstance(value, dict):
        return _count(value, "http_5xx"), 0.0, DEFAULT_5XX_STATUS
    if set(value) - {"count", "probability", "status"}:
        raise FaultSpecError("http_5xx accepts count, probability and status")
    count = _count(value.get("count", 0), "http_5xx.count")
    probability = value.get("probability", 0.0)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise FaultSpecError("http_5xx.probability must be between 0 and 1")
    status = value.get("status", DEFAULT_5XX_STATUS)
    if isinstance(status, bool) or status not in ALLOWED_5XX_STATUSES:
        raise FaultSpecError(f"http_5xx.status must be one of {sorted(ALLOWED_5XX_STATUSES)}")
    return count, float(probability), int(status)


class FaultSettings:
    EXTRA: ClassVar[tuple[str, ...]] = ()  # provider-shaped "next N requests" faults
    WEBHOOKS: ClassVar[bool] = False  # the emulator sends webhooks: webhook_duplicate / webhook_delay_ms

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self.latency_ms = 0
        self.http_5xx_count = 0
        self.http_5xx_probability = 0.0
        self.http_5xx_status = DEFAULT_5XX_STATUS
        self.counts: dict[str, int] = dict.fromkeys((*self.EXTRA, "drop_after_store"), 0)
        self.webhook_duplicate_count = 0
        self.webhook_duplicate_probability = 0.0
        self.webhook_delay_ms = 0
        self.injected: Counter[str] = Counter()

    def _known(self) -> set[str]:
        webhooks = {"webhook_duplicate", "webhook_delay_ms"} if self.WEBHOOKS else set()
        return {"latency_ms", "http_5xx", *self.counts, *webhooks}

    def update(self, spec: dict[str, Any]) -> None:
        """Apply a control request; keys not given keep their value. Validates before changing anything."""
        unknown = set(spec) - self._known()
        if unknown:
            raise FaultSpecError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        latency = _count(spec["latency_ms"], "latency_ms") if "latency_ms" in spec else self.latency_ms
        five_xx = (self.http_5xx_count, self.http_5xx_probability, self.http_5xx_status)
        if "http_5xx" in spec:
            five_xx = _parse_5xx(spec["http_5xx"])
        counts = {name: _next_n(spec[name], name) if name in spec else value for name, value in self.counts.items()}
        duplicate = (self.webhook_duplicate_count, self.webhook_duplicate_probability)
        if "webhook_duplicate" in spec:
            duplicate = _parse_chance(spec["webhook_duplicate"], "webhook_duplicate")
        delay = self.webhook_delay_ms
        if "webhook_delay_ms" in spec:
            delay = _count(spec["webhook_delay_ms"], "webhook_delay_ms")
        self.latency_ms = latency
        self.http_5xx_count, self.http_5xx_probability, self.http_5xx_status = five_xx
        self.counts = counts
        self.webhook_duplicate_count, self.webhook_duplicate_probability = duplicate
        self.webhook_delay_ms = delay

    def clear(self) -> None:
        spec: dict[str, Any] = {
            "latency_ms": 0,
            "http_5xx": {"count": 0, "probability": 0},
            **dict.fromkeys(self.counts, 0),
        }
        if self.WEBHOOKS:
            spec.update(webhook_duplicate={"count": 0, "probability": 0}, webhook_delay_ms=0)
        self.update(spec)

    def take_latency(self) -> int:
        """Milliseconds to sleep before handling this request (counted when non-zero)."""
        if self.latency_ms:
            self.injected["latency"] += 1
        return self.latency_ms

    def take_5xx(self) -> int | None:
        """The status to answer with for this request, or None."""
        if self.http_5xx_count > 0:
            self.http_5xx_count -= 1
            self.injected["http_5xx"] += 1
            return self.http_5xx_status
        if self.http_5xx_probability > 0 and self._random.random() < self.http_5xx_probability:
            self.injected["http_5xx"] += 1
            return self.http_5xx_status
        return None

    def take(self, name: str) -> bool:
        """Consume one of the next-N fault ``name`` if armed."""
        if self.counts[name] > 0:
            self.counts[name] -= 1
            self.injected[name] += 1
            return True
        return False

    def take_webhook_duplicate(self) -> bool:
        """Send this webhook delivery twice?"""
        if self.webhook_duplicate_count > 0:
            self.webhook_duplicate_count -= 1
        elif not self.webhook_duplicate_probability or self._random.random() >= self.webhook_duplicate_probability:
            return False
        self.injected["webhook_duplicate"] += 1
        return True

    def webhook_delay(self) -> float:
        """Seconds to hold this delivery back (random up to ``webhook_delay_ms``): deliveries leave out of order."""
        if not self.webhook_delay_ms:
            return 0.0
        self.injected["webhook_delay"] += 1
        return self._random.uniform(0, self.webhook_delay_ms) / 1000

    def take_drop(self) -> bool:
        return self.take("drop_after_store")

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "http_5xx": {
                "count": self.http_5xx_count,
                "probability": self.http_5xx_probability,
                "status": self.http_5xx_status,
            },
            **{name: {"count": value} for name, value in self.counts.items()},
            **(
                {
                    "webhook_duplicate": {
                        "count": self.webhook_duplicate_count,
                        "probability": self.webhook_duplicate_probability,
                    },
                    "webhook_delay_ms": self.webhook_delay_ms,
                }
                if self.WEBHOOKS
                else {}
            ),
            "injected": dict(sorted(self.injected.items())),
        }


class _Delivery(Protocol):
    id: int


D = TypeVar("D", bound=_Delivery)


def webhook_deliveries(faults: FaultSettings, record: Callable[[int | None], D]) -> list[tuple[D, float]]:
    """The deliveries of one webhook and how long to hold each back (call under the store lock).

    ``record(duplicate_of)`` stores one delivery and returns it. With ``webhook_duplicate`` a second one with the
    same body follows; ``webhook_delay_ms`` holds each back at random, so that deliveries leave out of order.
    """
    duplicate = faults.take_webhook_duplicate()
    first = record(None)
    deliveries = [first, record(first.id)] if duplicate else [first]
    return [(delivery, faults.webhook_delay()) for delivery in deliveries]
