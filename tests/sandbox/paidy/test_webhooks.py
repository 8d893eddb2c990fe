"""Webhooks to the merchant's URL (§2.4): the event shapes, retries, and reset."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest

from kessai.sandbox.paidy import DEFAULT_PUBLIC_KEY, PaidySandbox
from kessai.sandbox.server import RunningServer, start_in_thread

from .helpers import checkout, token_body


class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200) and keeps the bodies."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, object]] = []
        self.content_types: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(json.loads(environ["wsgi.input"].read(length)))
        self.content_types.append(str(environ.get("CONTENT_TYPE")))
        status = self.statuses.pop(0) if self.statuses else 200
        start_response(f"{status} X", [("Content-Length", "0")])
        return [b""]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    sink = Receiver()
    with start_in_thread(sink) as server:
        yield sink, server


def _point_at(control: httpx.Client, url: str) -> None:
    assert control.post("/merchants", json={"public_key": DEFAULT_PUBLIC_KEY, "webhook_url": url}).status_code == 200


def test_payment_and_token_events_have_the_note_shapes(
    api: httpx.Client, control: httpx.Client, sandbox: PaidySandbox, receiver: tuple[Receiver, RunningServer]
) -> None:
    sink, server = receiver
    _point_at(control, server.url + "/hooks")
    payment = checkout(control)
    pid = payment["id"]
    capture_id = api.post(f"/payments/{pid}/captures", json={}).json()["captures"][0]["id"]
    api.post(f"/payments/{pid}/refunds", json={"capture_id": capture_id, "amount": 100, "reason": "返品"})
    api.put(f"/payments/{pid}", json={"order_ref": "A-9"})
    token = control.post("/tokens", json={"email": "a@example.jp", "phone": "09012345678"}).json()["id"]
    api.post(f"/tokens/{token}/suspend", json={"reason": {"code": "general", "description": "x"}})
    assert sandbox.wait_for_webhooks()

    stamps = [b.pop("timestamp") for b in sink.bodies]
    assert all(isinstance(s, str) and s.endswith("Z") for s in stamps)
    assert sink.bodies == [
        {"payment_id": pid, "event_type": "payment", "status": "authorize_success", "order_ref": "A-1001"},
        {
            "payment_id": pid,
            "capture_id": capture_id,
            "event_type": "payment",
            "status": "capture_success",
            "order_ref": "A-1001",
        },
        {
            "payment_id": pid,
            "capture_id": capture_id,
            "event_type": "payment",
            "status": "refund_success",
            "order_ref": "A-1001",
            "reason": "返品",
        },
        {"payment_id": pid, "event_type": "payment", "status": "update_success", "order_ref": "A-9"},
        {"token_id": token, "status": "activate_success"},
        {"token_id": token, "status": "suspend_success"},
    ]
    assert set(sink.content_types) == {"application/json"}


def test_close_and_token_payment_events(
    api: httpx.Client,
    control: httpx.Client,
    sandbox: PaidySandbox,
    receiver: tuple[Receiver, RunningServer],
    token: str,
) -> None:
    sink, server = receiver
    _point_at(control, server.url)
    pid = api.post("/payments", json=token_body(token)).json()["id"]
    api.post(f"/payments/{pid}/close", json={})
    assert sandbox.wait_for_webhooks()
    assert [b["status"] for b in sink.bodies] == ["authorize_success", "close_success"]


def test_a_rejected_payment_sends_nothing(
    control: httpx.Client, sandbox: PaidySandbox, receiver: tuple[Receiver, RunningServer]
) -> None:
    sink, server = receiver
    _point_at(control, server.url)
    checkout(control, email="rejected.payment@paidy.com")
    assert sandbox.wait_for_webhooks()
    assert sink.bodies == []


def test_failed_deliveries_are_retried(control: httpx.Client, sandbox: PaidySandbox) -> None:
    sink = Receiver(statuses=(500,))
    with start_in_thread(sink) as server:
        _point_at(control, server.url)
        checkout(control)
        assert sandbox.wait_for_webhooks()
    [delivery] = control.get("/webhooks").json()["deliveries"]
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert len(sink.bodies) == 2


def test_an_unreachable_url_fails_after_the_retries(control: httpx.Client, sandbox: PaidySandbox) -> None:
    _point_at(control, "http://127.0.0.1:9/hooks")
    checkout(control)
    answer = control.get("/webhooks", params={"wait": "5"}).json()
    assert answer["idle"] is True
    [delivery] = answer["deliveries"]
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3  # the first try + 2 retries (FAST_RETRIES)
    assert all(a["error"] for a in delivery["attempts"])


def test_without_a_url_nothing_is_sent(control: httpx.Client) -> None:
    checkout(control)
    assert control.get("/webhooks").json()["deliveries"] == []


def test_reset_discards_pending_deliveries(control: httpx.Client, sandbox: PaidySandbox) -> None:
    _point_at(control, "http://127.0.0.1:9/hooks")
    control.post("/settings", json={})
    checkout(control)
    control.post("/reset")
    time.sleep(0.05)
    assert control.get("/webhooks").json()["deliveries"] == []


def test_duplicate_fault_sends_a_delivery_twice(
    api: httpx.Client, control: httpx.Client, sandbox: PaidySandbox, receiver: tuple[Receiver, RunningServer]
) -> None:
    sink, server = receiver
    _point_at(control, server.url + "/hooks")
    control.post("/faults", json={"webhook_duplicate": 1, "webhook_delay_ms": 50})
    pid = checkout(control)["id"]
    api.post(f"/payments/{pid}/captures", json={})
    assert sandbox.wait_for_webhooks()
    statuses = [(b["payment_id"], b["status"]) for b in sink.bodies]
    assert sorted(statuses) == sorted([(pid, "authorize_success")] * 2 + [(pid, "capture_success")])
    deliveries = control.get("/webhooks").json()["deliveries"]
    assert [d["duplicate_of"] for d in deliveries] == [None, 1, None]
    assert control.get("/faults").json()["injected"] == {"webhook_delay": 3, "webhook_duplicate": 1}
