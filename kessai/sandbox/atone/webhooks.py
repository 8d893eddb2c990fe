"""Webhook sender: 決済Webhook after every credit decision, 認証Webhook after authentication.

Deliveries are POSTed as JSON from one background thread (started on first use). A delivery that
gets a non-2xx answer or a connection error is retried after each of ``webhook_retry_delays``
seconds; when they are exhausted it is marked ``failed`` and the 「Webhook失敗」 notice goes to the
store's notification address (:mod:`kessai.sandbox.atone.mail`). Webhooks are unsigned (decision 4).

Lock order: ``Store.lock`` may be held while enqueueing (which takes the sender's condition); the
sender thread never takes ``Store.lock`` while holding its condition.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from kessai.sandbox.atone.config import MerchantConfig
from kessai.sandbox.atone.mail import send_failure_notice
from kessai.sandbox.atone.state import DeliveryAttempt, DeliveryStatus, Store, WebhookDelivery, WebhookKind
from kessai.sandbox.faults import webhook_deliveries

logger = logging.getLogger("kessai.sandbox.atone.webhooks")

USER_AGENT = "atone-sandbox-webhook/1 (kessai)"


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    generation: int = field(compare=False)
    delivery: WebhookDelivery = field(compare=False)


class WebhookSender:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._condition = threading.Condition()
        self._queue: list[_Scheduled] = []
        self._seq = 0
        self._in_flight = 0
        self._generation = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- producer side -------------------------------------------------------------------------

    def enqueue(self, merchant: MerchantConfig, kind: WebhookKind, payload: dict[str, Any]) -> WebhookDelivery | None:
        """Record and schedule a delivery; None when the store has no URL for this kind."""
        url = merchant.payment_webhook_url if kind is WebhookKind.PAYMENT else merchant.authentication_webhook_url
        if not url:
            return None

        def record(duplicate_of: int | None) -> WebhookDelivery:
            delivery = WebhookDelivery(
                id=len(self._store.deliveries) + 1,
                merchant=merchant.public_key,
                kind=kind,
                url=url,
                payload=payload,
                created_at=self._store.now(),
                duplicate_of=duplicate_of,
            )
            self._store.deliveries.append(delivery)
            return delivery

        with self._store.lock:
            scheduled = webhook_deliveries(self._store.faults, record)
        for delivery, delay in scheduled:
            self._schedule(delivery, delay=delay, generation=None)
        return scheduled[0][0]

    def _schedule(self, delivery: WebhookDelivery, delay: float, generation: int | None) -> None:
        with self._condition:
            if self._stopping or (generation is not None and generation != self._generation):
                return
            self._seq += 1
            heapq.heappush(self._queue, _Scheduled(time.monotonic() + delay, self._seq, self._generation, delivery))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="atone-sandbox-webhooks", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def reset(self) -> None:
        """Forget every scheduled delivery (used by ``/_sandbox/reset``)."""
        with self._condition:
            for item in self._queue:
                item.delivery.status = DeliveryStatus.DISCARDED
            self._queue.clear()
            self._generation += 1
            self._condition.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is scheduled or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._stopping = True
            self._queue.clear()
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- sender thread -------------------------------------------------------------------------

    def _next(self) -> _Scheduled | None:
        with self._condition:
            while not self._stopping:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._queue)
                    self._condition.wait(wait)
                else:
                    self._condition.wait()
            return None

    def _run(self) -> None:
        config = self._store.config
        timeout = httpx.Timeout(config.webhook_timeout_seconds)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            while (item := self._next()) is not None:
                try:
                    self._attempt(client, item)
                finally:
                    with self._condition:
                        self._in_flight -= 1
                        self._condition.notify_all()

    def _attempt(self, client: httpx.Client, item: _Scheduled) -> None:
        delivery = item.delivery
        body = json.dumps(delivery.payload, ensure_ascii=False).encode("utf-8")
        status_code: int | None = None
        error: str | None = None
        try:
            response = client.post(
                delivery.url,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
            )
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delays = self._store.config.webhook_retry_delays
        with self._store.lock:
            delivery.attempts.append(DeliveryAttempt(at=self._store.now(), status_code=status_code, error=error))
            attempts = len(delivery.attempts)
            if status_code is not None and 200 <= status_code < 300:
                delivery.status = DeliveryStatus.DELIVERED
                return
            if attempts <= len(delays):
                retry_in = delays[attempts - 1]
            else:
                delivery.status = DeliveryStatus.FAILED
                retry_in = None
                merchant = self._store.merchants.get(delivery.merchant)
                notify_to = merchant.failure_notification_email if merchant else None
        if retry_in is not None:
            logger.info(
                "webhook %s to %s failed (attempt %d); retry in %.2fs",
                delivery.id,
                delivery.url,
                attempts,
                retry_in,
            )
            self._schedule(delivery, delay=retry_in, generation=item.generation)
            return
        logger.warning("webhook %s to %s failed after %d attempts", delivery.id, delivery.url, attempts)
        notice = send_failure_notice(self._store.config, notify_to, delivery)
        with self._store.lock:
            delivery.failure_notice = notice
