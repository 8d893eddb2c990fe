"""Prometheus metrics: provider calls (count and latency by provider, operation and outcome) counted in
process, the worker's periodic jobs, background tasks and 継続課金 outcomes, plus backlog gauges read from the
database on each scrape (queue depth, webhook backlog, operations in doubt).

Two kinds of scrape target, both guarded the same way (:func:`scrape_refusal`):

- web: ``GET /metrics`` on every ``kessai serve``. Its gunicorn workers share ``PROMETHEUS_MULTIPROC_DIR``
  (``kessai serve`` sets it) so every worker's counters are summed on scrape; the backlog gauges are here.
- worker: ``kessai worker --metrics-port N`` serves its own process's counters (:func:`serve_worker_metrics`):
  the provider calls made by billing, the janitor and tasks happen in workers, on any host.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any, ClassVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from kessai.providers.base import Capabilities, Provider, ProviderError

log = logging.getLogger(__name__)

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

SCHEDULER_RUNS = Counter(
    "kessai_scheduler_job_runs_total",
    "Periodic job runs of kessai worker's scheduler, by job and outcome (ok | error)",
    ["job", "outcome"],
)
SCHEDULER_DURATION = Histogram(
    "kessai_scheduler_job_duration_seconds",
    "Duration of one periodic job run",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0),
)
SCHEDULER_LAST_SUCCESS = Gauge(
    "kessai_scheduler_job_last_success_timestamp_seconds",
    "Unix time of the last run of each periodic job that ended without an error",
    ["job"],
    multiprocess_mode="max",
)
TASKS = Counter(
    "kessai_tasks_total",
    "Background tasks (django-tasks) run by this worker, by queue, task and status",
    ["queue", "task", "status"],
)
BILLING_CYCLES = Counter(
    "kessai_billing_cycles_total",
    "継続課金 cycles settled by the scheduler's due runs in this process, by outcome (charged | failed | skipped)",
    ["outcome"],
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


def scrape_refusal(remote_addr: str | None, authorization: str, token: str) -> int | None:
    """``None`` when a scrape may be served, else the HTTP status to answer. With a token configured
    (``KESSAI_METRICS_TOKEN``) a matching ``Authorization: Bearer`` is required from everyone; without
    one, only loopback callers are served."""
    if token:
        given = authorization.removeprefix("Bearer ").strip()
        return None if hmac.compare_digest(given.encode(), token.encode()) else 401
    return None if remote_addr in {"127.0.0.1", "::1"} else 403


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


# --------------------------------------------------------------------------- the worker's own endpoint

_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


def worker_metrics_app(token: str, registry: CollectorRegistry = REGISTRY) -> Callable[..., Iterable[bytes]]:
    """The WSGI app of ``kessai worker --metrics-port``: ``GET /metrics`` with this process's registry
    (provider calls, scheduler jobs, tasks, billing outcomes, process CPU/memory)."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, body, content_type = 200, b"", "text/plain; charset=utf-8"
        if environ.get("PATH_INFO", "") != "/metrics":
            status = 404
        else:
            refused = scrape_refusal(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION", ""), token)
            if refused is not None:
                status = refused
            else:
                body, content_type = generate_latest(registry), CONTENT_TYPE_LATEST
        start_response(
            f"{status} {_REASONS[status]}", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class MetricsEndpoint:
    """A running ``/metrics`` server in a daemon thread; ``url`` shows where, ``stop()`` ends it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self.port = int(server.server_address[1])
        self.url = f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_worker_metrics(host: str, port: int, *, token: str = "") -> MetricsEndpoint:
    """Start the worker's metrics endpoint (``port`` 0 = any free port) in a daemon thread."""
    server = make_server(host, port, worker_metrics_app(token), _ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="kessai-metrics", daemon=True)
    thread.start()
    endpoint = MetricsEndpoint(server, thread, host)
    log.info("worker metrics at %s", endpoint.url)
    return endpoint
