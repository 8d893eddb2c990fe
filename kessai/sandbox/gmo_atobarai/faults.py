"""Fault injection for the XML API (``/auto/*.do``), switched by ``/_sandbox/faults``.

Applied in this order to every API request (not to ``/_sandbox/``):

1. ``latency_ms``: sleep before the request is handled (the change is still made afterwards, so a
   client that timed out does not know the outcome);
2. ``http_5xx``: answer a bare 5xx HTML page (not XML) for the next ``count`` requests, or with
   ``probability``; nothing is stored;
3. ``system_error``: answer ``<result>NG</result>`` with SY0001 (HTTP 200) for the next N requests;
   nothing is stored;
4. ``drop_after_store``: for the next N *successful changing* requests (every path but getauthor.do),
   store the change, then close the connection without any response.

The settings are plain data; consuming them happens under the store lock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

DEFAULT_5XX_STATUS = 503
ALLOWED_5XX_STATUSES = frozenset({500, 502, 503, 504})
KNOWN_FAULTS = frozenset({"latency_ms", "http_5xx", "system_error", "drop_after_store"})
NO_FAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "http_5xx": {"count": 0, "probability": 0},
    "system_error": 0,
    "drop_after_store": 0,
}


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


@dataclass
class FaultSettings:
    latency_ms: int = 0
    http_5xx_count: int = 0
    http_5xx_probability: float = 0.0
    http_5xx_status: int = DEFAULT_5XX_STATUS
    system_error_count: int = 0
    drop_after_store_count: int = 0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault injection, not cryptography

    def update(self, spec: dict[str, Any]) -> None:
        """Apply a control request; keys not given keep their value. Validates before changing."""
        unknown = set(spec) - KNOWN_FAULTS
        if unknown:
            raise FaultSpecError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        latency = _count(spec["latency_ms"], "latency_ms") if "latency_ms" in spec else self.latency_ms
        count, probability, status = self.http_5xx_count, self.http_5xx_probability, self.http_5xx_status
        if "http_5xx" in spec:
            count, probability, status = _parse_5xx(spec["http_5xx"])
        system = _next_n(spec["system_error"], "system_error") if "system_error" in spec else self.system_error_count
        drop = (
            _next_n(spec["drop_after_store"], "drop_after_store")
            if "drop_after_store" in spec
            else self.drop_after_store_count
        )
        self.latency_ms = latency
        self.http_5xx_count, self.http_5xx_probability, self.http_5xx_status = count, probability, status
        self.system_error_count = system
        self.drop_after_store_count = drop

    def take_5xx(self) -> int | None:
        """The status to answer with for this request, or None."""
        if self.http_5xx_count > 0:
            self.http_5xx_count -= 1
            return self.http_5xx_status
        if self.http_5xx_probability > 0 and self._random.random() < self.http_5xx_probability:
            return self.http_5xx_status
        return None

    def take_system_error(self) -> bool:
        if self.system_error_count > 0:
            self.system_error_count -= 1
            return True
        return False

    def take_drop(self) -> bool:
        if self.drop_after_store_count > 0:
            self.drop_after_store_count -= 1
            return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "http_5xx": {
                "count": self.http_5xx_count,
                "probability": self.http_5xx_probability,
                "status": self.http_5xx_status,
            },
            "system_error": {"count": self.system_error_count},
            "drop_after_store": {"count": self.drop_after_store_count},
        }
