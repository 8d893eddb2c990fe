"""The worker's scheduler loop: runs periodic jobs (janitor, due billing cycles, webhook deliveries).

Jobs are dotted paths to plain functions; each must be idempotent and safe to run on several
workers at once (they claim work with row locks, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL). There is no
leader: every ``kessai worker`` runs every job (docs/deploy.md, "The worker fleet", says why that is safe).
Each run is counted in ``kessai_scheduler_job_runs_total`` and timed (kessai.common.metrics).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import close_old_connections

from kessai.common.metrics import SCHEDULER_DURATION, SCHEDULER_LAST_SUCCESS, SCHEDULER_RUNS

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


# Set when the process is asked to stop (SIGTERM to ``kessai worker`` or ``kessai billing run-due``): a long job
# (the 継続課金 pass) takes no new work at its next safe point and hands back what it claimed but has not started,
# instead of leaving it to wait for its lease.
_stop_requested = threading.Event()


def request_stop() -> None:
    _stop_requested.set()


def stop_requested() -> bool:
    return _stop_requested.is_set()


def clear_stop() -> None:
    """For a process that goes on after a stop request was handled (tests)."""
    _stop_requested.clear()


def register(job: PeriodicJob) -> None:
    if all(existing.name != job.name for existing in JOBS):
        JOBS.append(job)


def intervals(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Seconds between runs of each job: the registered interval, or the override (``kessai worker --every
    JOB=SECONDS``). An unknown job name is refused; 0 (or less) turns the job off in this worker."""
    every = {job.name: job.every_seconds for job in JOBS}
    unknown = sorted(set(overrides or {}) - set(every))
    if unknown:
        raise KeyError(f"unknown periodic job(s): {', '.join(unknown)}; known: {', '.join(sorted(every))}")
    every.update(overrides or {})
    return every


def run_job(job: PeriodicJob) -> bool:
    """One run of one job, counted and timed; False when it raised (logged, retried at its next turn)."""
    started = time.perf_counter()
    try:
        close_old_connections()
        result = job.load()()
        log.debug("job %s: %s", job.name, result)
    except Exception:  # a failing job must not stop the others; it is logged and retried
        log.exception("periodic job %s failed", job.name)
        SCHEDULER_RUNS.labels(job.name, "error").inc()
        return False
    finally:
        SCHEDULER_DURATION.labels(job.name).observe(time.perf_counter() - started)
    SCHEDULER_RUNS.labels(job.name, "ok").inc()
    SCHEDULER_LAST_SUCCESS.labels(job.name).set(time.time())
    return True


def run_loop(stop: threading.Event, *, tick: float = 1.0, every: Mapping[str, float] | None = None) -> None:
    """Until ``stop`` is set: each job when its interval has passed (every job once at start)."""
    seconds = intervals(every)
    tick = min([tick, *(s for s in seconds.values() if s > 0)])
    next_run = {job.name: 0.0 for job in JOBS}
    while not stop.is_set():
        now = time.monotonic()
        for job in list(JOBS):
            interval = seconds.get(job.name, job.every_seconds)
            if interval <= 0 or now < next_run.get(job.name, 0.0):
                continue
            next_run[job.name] = now + interval
            run_job(job)
        stop.wait(tick)
