"""Fault injection for the REST API, switched by ``/_sandbox/faults``.

Applied in this order to every REST request (not to ``/apps/`` nor ``/_sandbox/``):

1. ``latency_ms``: sleep before the request is handled (the change is still made afterwards, so a
   client that timed out does not know the outcome);
2. ``http_5xx``: answer a bare 5xx page (not JSON) for the next ``count`` requests, or with
   ``probability``; nothing is stored;
3. ``drop_after_store``: for the next N *successful mutating* requests (POST, PUT), store the change,
   then close the connection without any response.

Webhooks: ``webhook_duplicate`` (a delivery sent twice) and ``webhook_delay_ms`` (deliveries held back a random
0–N ms, so they leave out of order); see :mod:`kessai.sandbox.faults`.

The settings are plain data; consuming them happens under the store lock.
"""

from __future__ import annotations

from kessai.sandbox.faults import FaultSettings as _SharedFaultSettings
from kessai.sandbox.faults import FaultSpecError

__all__ = ["FaultSettings", "FaultSpecError"]


class FaultSettings(_SharedFaultSettings):
    EXTRA = ()
    WEBHOOKS = True
