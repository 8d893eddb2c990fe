"""Fault injection for the REST API (``/v1/transactions…``), switched by ``/_sandbox/faults``.

Applied in this order to every REST request:

1. ``latency_ms``: sleep before the request is handled (the change is still made afterwards, so a
   client that timed out does not know the outcome);
2. ``http_5xx``: answer a bare 5xx page (not JSON) for the next ``count`` requests, or with
   ``probability``; nothing is stored;
3. ``eatn0399``: answer EATN0399 (service temporarily unavailable) for the next N requests;
   nothing is stored;
4. ``drop_after_store``: for the next N *successful mutating* requests (create, settle, refund),
   store the change, then close the connection without any response.

Webhooks: ``webhook_duplicate`` (a delivery sent twice) and ``webhook_delay_ms`` (deliveries held back a random
0–N ms, so they leave out of order); see :mod:`kessai.sandbox.faults`.

The settings are plain data; consuming them happens under the store lock.
"""

from __future__ import annotations

from kessai.sandbox.faults import FaultSettings as _SharedFaultSettings
from kessai.sandbox.faults import FaultSpecError

__all__ = ["FaultSettings", "FaultSpecError"]


class FaultSettings(_SharedFaultSettings):
    EXTRA = ("eatn0399",)
    WEBHOOKS = True

    def take_eatn0399(self) -> bool:
        return self.take("eatn0399")
