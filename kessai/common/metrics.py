"""Prometheus metrics: provider calls (count and latency by provider, operation and outcome) counted in
process, plus backlog gauges read from the database on each scrape (queue depth, webhook backlog,
operations in doubt).

With several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (``kessai serve`` does) so every worker's
counters are summed on scrape.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from kessai.providers.base import Capabilities, Provider, ProviderError

PROVIDER_CALLS = Counter(
    "kessai_provider_calls_total",
    "Provider API calls by provider, operation and outcome",
    ["provider", "operation", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "kessai_provider_latency_seconds",
    "Provider API call latency",
    ["provider", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

_TIMED = frozenset(
    {
        "authorize",
        "charge_token",
        "capture",
        "cancel",
        "change_amount",
        "report_shipment",
        "refund",
        "fetch",
        "test_connection",
    }
)


def outcome_of(exc: BaseException | None) -> str:
    """ok | declined | pending | request_invalid | auth_error | unavailable | unsupported | error"""
    if exc is None:
        return "ok"
    if isinstance(exc, ProviderError):
        name = type(exc).__name__.removeprefix("Provider")
        return {
            "Declined": "declined",
            "Pending": "pending",
            "RequestInvalid": "request_invalid",
            "AuthError": "auth_error",
            "Unavailable": "unavailable",
            "UnsupportedOperation": "unsupported",
        }.get(name, "error")
    return "error"


class InstrumentedProvider:
    """Wraps an adapter: every call is timed and counted. Behaviour is unchanged."""

    code: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, inner: Provider) -> None:
        self._inner = inner
        self.code = inner.code  # type: ignore[misc]
        self.capabilities = inner.capabilities  # type: ignore[misc]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _TIMED or not callable(attr):
            return attr
        return self._timed(name, attr)

    def _timed(self, operation: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        provider = self._inner.code

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                PROVIDER_LATENCY.labels(provider, operation).observe(time.perf_counter() - started)
                PROVIDER_CALLS.labels(provider, operation, outcome_of(error)).inc()

        return call


class BacklogCollector(Collector):
    """Gauges computed from the database at scrape time (indexed counts only)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        from kessai.payments.models import Operation
        from kessai.webhooks.models import InboundWebhook, WebhookDelivery

        queue = GaugeMetricFamily("kessai_task_queue_depth", "Background tasks waiting to run", labels=["queue"])
        for row in DBTaskResult.objects.ready().values("queue_name").order_by().annotate(n=Count("id")):
            queue.add_metric([row["queue_name"]], row["n"])
        yield queue
        inbound = GaugeMetricFamily("kessai_inbound_webhook_backlog", "Provider webhooks stored but not applied")
        inbound.add_metric([], InboundWebhook.objects.filter(status="received").count())
        yield inbound
        outbound = GaugeMetricFamily("kessai_outbound_webhook_backlog", "Shop webhook deliveries pending")
        outbound.add_metric([], WebhookDelivery.objects.filter(status="pending").count())
        yield outbound
        doubt = GaugeMetricFamily(
            "kessai_operations_in_doubt", "Operations whose outcome is not known yet", labels=["result"]
        )
        for result in ("pending", "unknown"):
            doubt.add_metric([result], Operation.objects.filter(result=result).count())
        yield doubt


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        for collector in (PROVIDER_CALLS, PROVIDER_LATENCY):
            registry.register(collector)
    registry.register(BacklogCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
