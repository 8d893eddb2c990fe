"""The integrator of the fault suite: a REST client that behaves as docs/api.md asks.

- every POST carries an ``Idempotency-Key``; when no answer comes back (connection refused or reset while the web
  process is being killed, a 500 while PostgreSQL restarts, a read timeout) the *same* request is sent again with
  the *same* key until an answer comes or ``patience`` runs out;
- ``409 idempotency_key_in_use`` (the first try is still running, or died with it) and ``409
  operation_in_progress`` (nothing was attempted) are retried the same way;
- ``504 provider_unavailable`` and ``409 outcome_unknown`` are answers: never retried blindly (the workload
  refreshes, or leaves it to the janitor).

A request still without an answer is kept as *in doubt*; :meth:`Api.resolve_in_doubt` sends each one again after
the faults stop (once the key's lease ran out, a retry takes the key over), so that every request ends with an
answer — the suite counts those that never get one as lost.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM = "application/problem+json"
RETRY_CODES = frozenset({"idempotency_key_in_use", "operation_in_progress"})


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer within patience (in doubt)
    body: Any = None
    tries: int = 1

    @property
    def code(self) -> str:
        return str(self.body.get("code", "")) if isinstance(self.body, dict) else ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Pending:
    """A request left without an answer, to be sent again with its key."""

    kind: str
    path: str
    body: Any
    key: str


class Api:
    def __init__(self, base_url: str, api_key: str, *, patience: float = 30.0, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept-Language": "en"}
        self.patience = patience
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self.retries: Counter[str] = Counter()  # why a request was sent again
        self.in_doubt: list[Pending] = []

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=self.timeout)
            self._local.client = client
        return client

    def _count(self, reason: str) -> None:
        with self._lock:
            self.retries[reason] += 1

    def _send(self, method: str, path: str, body: Any, key: str | None, patience: float) -> Answer:
        deadline = time.monotonic() + patience
        tries, delay = 0, 0.2
        while True:
            tries += 1
            headers = {"Idempotency-Key": key} if key else {}
            reason = ""
            try:
                response = self._client().request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
                self._local.client = None  # a fresh connection after a reset
            else:
                problem = response.headers.get("content-type", "").startswith(PROBLEM)
                data = response.json() if problem or "json" in response.headers.get("content-type", "") else None
                code = data.get("code", "") if isinstance(data, dict) else ""
                if response.status_code >= 500 and not problem:
                    reason = f"http_{response.status_code}"
                elif response.status_code == 500:
                    reason = "http_500"
                elif response.status_code == 409 and code in RETRY_CODES:
                    reason = code
                else:
                    return Answer(response.status_code, data, tries)
            self._count(reason)
            if time.monotonic() + delay > deadline:
                return Answer(None, {"reason": reason}, tries)
            time.sleep(delay)
            delay = min(delay * 1.6, 2.0)

    def post(self, kind: str, path: str, body: Any, key: str, *, patience: float | None = None) -> Answer:
        answer = self._send("POST", path, body, key, self.patience if patience is None else patience)
        if answer.status is None:
            with self._lock:
                self.in_doubt.append(Pending(kind, path, body, key))
        return answer

    def get(self, path: str, *, patience: float | None = None) -> Answer:
        return self._send("GET", path, None, None, self.patience if patience is None else patience)

    def resolve_in_doubt(self, patience: float) -> tuple[list[tuple[Pending, Answer]], list[Pending]]:
        """Send every in-doubt request again (same key) until it has an answer; returns the answers and the
        requests still without one."""
        with self._lock:
            pending, self.in_doubt = self.in_doubt, []
        answered, lost = [], []
        for request in pending:
            answer = self._send("POST", request.path, request.body, request.key, patience)
            if answer.status is None:
                lost.append(request)
            else:
                answered.append((request, answer))
        return answered, lost
