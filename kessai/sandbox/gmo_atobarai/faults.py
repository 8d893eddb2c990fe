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

from kessai.sandbox.faults import FaultSettings as _SharedFaultSettings
from kessai.sandbox.faults import FaultSpecError

__all__ = ["FaultSettings", "FaultSpecError"]


class FaultSettings(_SharedFaultSettings):
    EXTRA = ("system_error",)

    def take_system_error(self) -> bool:
        return self.take("system_error")
