"""kessai worker — background tasks (django-tasks DB backend) plus the scheduler loop.

Run as many as you like, on as many hosts as you like: tasks and periodic jobs claim their work with row locks
(docs/deploy.md, "The worker fleet"). ``--metrics-port N`` serves this process's Prometheus metrics at
``http://HOST:N/metrics`` — provider calls made by billing, the janitor and tasks happen here, not in the web
processes — guarded like the web's ``/metrics`` (``KESSAI_METRICS_TOKEN``, else loopback only).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.compat import task_finished

from kessai.common import metrics, scheduler

log = logging.getLogger(__name__)


def job_interval(value: str) -> tuple[str, float]:
    """``JOB=SECONDS`` of ``--every``."""
    name, sep, seconds = value.partition("=")
    try:
        if not sep or not name:
            raise ValueError(value)
        return name.strip(), float(seconds)
    except ValueError:
        raise CommandError(f"--every expects JOB=SECONDS (e.g. billing-run-due=30), got {value!r}") from None


def shutdown_grace() -> float:
    """Seconds the worker waits on SIGTERM for its scheduler thread: a provider call in flight (its timeout), then
    that charge's bookkeeping and the hand-back of the rest."""
    return 2 * float(settings.KESSAI_PROVIDER_TIMEOUT) + 5


def count_task(sender: object, task_result: Any, **kwargs: Any) -> None:
    """``task_finished`` of django-tasks → ``kessai_tasks_total`` (observability only, no domain flow)."""
    task = task_result.task
    metrics.TASKS.labels(task.queue_name, task.name, str(task_result.status)).inc()


def run_task_loop(interval: float) -> None:
    """django-tasks' ``db_worker`` until it stops on a signal. It raises when the database goes away (a
    PostgreSQL restart or failover — seen in the fault suite): the worker then waits for the database and
    starts the loop again instead of exiting, as the scheduler thread beside it already does. A task that was
    running is left to its own recovery (every job here is idempotent and swept)."""
    delay = 0.5
    while True:
        started = time.monotonic()
        try:
            call_command("db_worker", queue_name="*", interval=interval, reload=False, verbosity=1)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() - started > 60:
                delay = 0.5  # a new outage, not the same one
            log.warning("database unavailable: the task loop starts again in %.1f s", delay, exc_info=True)
            connections.close_all()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (janitor, billing, webhook delivery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-scheduler", action="store_true", help="only run queued tasks")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls of the task queue")
        parser.add_argument(
            "--every",
            action="append",
            default=[],
            metavar="JOB=SECONDS",
            help="override a periodic job's interval (repeatable; 0 turns it off in this worker), "
            "e.g. --every billing-run-due=30",
        )
        parser.add_argument(
            "--metrics-port", type=int, default=None, help="serve this worker's Prometheus metrics on this port"
        )
        parser.add_argument(
            "--metrics-host", default="127.0.0.1", help="interface of the metrics endpoint (default 127.0.0.1)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        every = dict(job_interval(v) for v in opts["every"])
        try:
            scheduler.intervals(every)
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        endpoint = None
        if opts["metrics_port"] is not None:
            endpoint = metrics.serve_worker_metrics(
                opts["metrics_host"], opts["metrics_port"], token=settings.KESSAI_METRICS_TOKEN
            )
        task_finished.connect(count_task, dispatch_uid="kessai-worker-task-metrics")
        stop = threading.Event()
        thread = None
        if not opts["no_scheduler"]:
            thread = threading.Thread(
                target=scheduler.run_loop, args=(stop,), kwargs={"every": every}, name="kessai-scheduler", daemon=True
            )
            thread.start()
        try:
            run_task_loop(opts["interval"])
        finally:
            # SIGTERM ended the task loop: a 継続課金 pass in the scheduler thread lets its provider calls in flight
            # finish (bounded by the provider timeout), hands back the cycles it claimed but did not start, and
            # returns; the thread is waited for that long.
            scheduler.request_stop()
            stop.set()
            if thread is not None:
                thread.join(timeout=shutdown_grace())
            if endpoint is not None:
                endpoint.stop()
