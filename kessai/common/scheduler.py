"""The worker's scheduler loop: runs periodic jobs (janitor, due billing cycles, webhook deliveries).

Jobs are dotted paths to plain functions; each must be idempotent and safe to run on several
workers at once (they claim work with row locks, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    path: str  # "module:function"
    every_seconds: float

    def load(self) -> Callable[[], object]:
        module, _, attr = self.path.partition(":")
        fn: Callable[[], object] = getattr(importlib.import_module(module), attr)
        return fn


JOBS: list[PeriodicJob] = [
    PeriodicJob("janitor", "kessai.payments.tasks:refresh_in_doubt_payments", 60.0),
    PeriodicJob("held_payments", "kessai.payments.tasks:refresh_held_payments", 300.0),
]


def register(job: PeriodicJob) -> None:
    if all(existing.name != job.name for existing in JOBS):
        JOBS.append(job)


def run_loop(stop: threading.Event, *, tick: float = 1.0) -> None:
    next_run = {job.name: 0.0 for job in JOBS}
    while not stop.is_set():
        now = time.monotonic()
        for job in list(JOBS):
            if now < next_run.get(job.name, 0.0):
                continue
            next_run[job.name] = now + job.every_seconds
            try:
                close_old_connections()
                result = job.load()()
                log.debug("job %s: %s", job.name, result)
            except Exception:  # a failing job must not stop the others; it is logged and retried
                log.exception("periodic job %s failed", job.name)
        stop.wait(tick)
