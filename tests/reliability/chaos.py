"""The fault schedule of the suite: a thread that, while the workload runs, injects one *episode* after another.

| episode | what |
| --- | --- |
| ``latency_spike`` | one emulator answers late, within ``KESSAI_PROVIDER_TIMEOUT``, for a few seconds |
| ``timeout`` | one emulator answers later than the timeout for a few seconds: the hub gives up, the change is made |
| ``http_5xx`` | one emulator answers a bare 5xx page (nothing stored) with some probability for a few seconds |
| ``drop_after_store`` | one emulator stores the next 1–4 changes, then closes the connection without an answer |
| ``provider_error`` | atone's EATN0399 (混雑) / GMO後払い's SY0001 (システムエラー) for the next 1–3 requests |
| ``kill_web`` | SIGKILL of the web process group (gunicorn master and workers), then a restart |
| ``kill_worker`` | SIGKILL of the worker (tasks, janitor, webhook sweeper), then a restart |
| ``pg_restart`` | ``pg_ctl restart -m immediate`` of the PostgreSQL cluster (a crash and recovery) |

Duplicated and reordered webhooks are not episodes: the atone and Paidy emulators run with ``webhook_duplicate``
and ``webhook_delay_ms`` for the whole load phase (:func:`webhook_faults`).

The order and parameters of the episodes come from the run's seed; how they meet the requests does not.
A process that died on its own (not killed by an episode) is restarted and counted in ``unexpected_exits``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.processes import PostgresCluster, Service
from tests.reliability.providers import Profile

log = logging.getLogger(__name__)

EPISODES: dict[str, int] = {
    "latency_spike": 14,
    "timeout": 14,
    "http_5xx": 14,
    "drop_after_store": 16,
    "provider_error": 8,
    "kill_web": 6,
    "kill_worker": 5,
    "pg_restart": 3,
}


def webhook_faults(profiles: Sequence[Profile], *, duplicate: float = 0.25, delay_ms: int = 2_000) -> None:
    """Duplicated and reordered deliveries from every emulator that sends webhooks."""
    for profile in profiles:
        if profile.capabilities.webhooks:
            profile.control(
                "POST", "/faults", {"webhook_duplicate": {"probability": duplicate}, "webhook_delay_ms": delay_ms}
            )


@dataclass
class Chaos:
    rng: random.Random
    profiles: Sequence[Profile]
    web: Service
    worker: Service
    provider_timeout: float
    postgres: PostgresCluster | None = None
    pause: tuple[float, float] = (0.5, 2.5)
    episodes: Counter[str] = field(default_factory=Counter)
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
        self.clear_faults()
        self.ensure_alive()

    def clear_faults(self) -> None:
        for profile in self.profiles:
            profile.control("DELETE", "/faults")

    def ensure_alive(self) -> None:
        for service in (self.web, self.worker):
            if not service.alive:
                self.unexpected_exits[service.name.split("-")[0]] += 1
                service.start(timeout=120)

    # -- the schedule -------------------------------------------------------------------------------------

    def _run(self) -> None:
        kinds = [k for k in EPISODES if k != "pg_restart" or self.postgres is not None]
        weights = [EPISODES[k] for k in kinds]
        first = self.rng.sample(kinds, len(kinds))  # every kind once, early, so a short run has them all
        while not self.stop.wait(self.rng.uniform(*self.pause)):
            kind = first.pop() if first else self.rng.choices(kinds, weights=weights)[0]
            try:
                self.ensure_alive()
                getattr(self, f"_{kind}")()
                self.episodes[kind] += 1
            except Exception as exc:  # keep the schedule going; the run reports what failed
                log.exception("chaos episode %s failed", kind)
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def _profile(self, *, extra: str | None = None) -> Profile:
        candidates = [p for p in self.profiles if extra is None or extra in p.provider_faults]
        return self.rng.choice(candidates)

    def _window(self, profile: Profile, spec: dict[str, Any], seconds: float, reset: dict[str, Any]) -> None:
        profile.control("POST", "/faults", spec)
        self.stop.wait(seconds)
        profile.control("POST", "/faults", reset)

    def _latency_spike(self) -> None:
        top = max(100, int(self.provider_timeout * 1000 * 0.6))
        latency = self.rng.randrange(100, top + 1)
        self._window(self._profile(), {"latency_ms": latency}, self.rng.uniform(2, 5), {"latency_ms": 0})

    def _timeout(self) -> None:
        latency = int(self.provider_timeout * 1000) + self.rng.randrange(300, 1_500)
        self._window(self._profile(), {"latency_ms": latency}, self.rng.uniform(1, 3), {"latency_ms": 0})

    def _http_5xx(self) -> None:
        spec = {"probability": round(self.rng.uniform(0.15, 0.4), 2), "status": self.rng.choice((500, 502, 503, 504))}
        self._window(self._profile(), {"http_5xx": spec}, self.rng.uniform(2, 4), {"http_5xx": {"probability": 0}})

    def _drop_after_store(self) -> None:
        self._profile().control("POST", "/faults", {"drop_after_store": self.rng.randrange(1, 5)})

    def _provider_error(self) -> None:
        candidates = [p for p in self.profiles if p.provider_faults]
        if not candidates:
            return
        profile = self.rng.choice(candidates)
        profile.control("POST", "/faults", {profile.provider_faults[0]: self.rng.randrange(1, 4)})

    def _kill_web(self) -> None:
        self.web.kill()
        time.sleep(self.rng.uniform(0, 1))
        self.web.start(timeout=120)

    def _kill_worker(self) -> None:
        self.worker.kill()
        time.sleep(self.rng.uniform(0, 2))
        self.worker.start()

    def _pg_restart(self) -> None:
        assert self.postgres is not None
        self.postgres.restart()

    def injected(self) -> dict[str, dict[str, int]]:
        """What each emulator counted as injected (``/_sandbox/faults`` → ``injected``)."""
        return {p.code: dict(p.control("GET", "/faults").get("injected", {})) for p in self.profiles}
