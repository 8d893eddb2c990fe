"""Fault injection (/_sandbox/faults) and the control endpoint: ledger, requests, merchants, settings."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest

from kessai.sandbox.paidy import PaidySandbox

from .helpers import checkout, ledger_entry, token_body


def test_latency_delays_but_still_stores(
    api: httpx.Client, control: httpx.Client, sandbox: PaidySandbox, token: str
) -> None:
    assert control.post("/faults", json={"latency_ms": 300}).json()["latency_ms"] == 300
    with pytest.raises(httpx.ReadTimeout):
        api.post("/payments", json=token_body(token), timeout=0.1)
    deadline = time.monotonic() + 2
    while not sandbox.ledger()["payments"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["movements"]["authorize"] for e in sandbox.ledger()["payments"]] == [1]


def test_http_5xx_for_the_next_n_requests_stores_nothing(api: httpx.Client, control: httpx.Client, token: str) -> None:
    control.post("/faults", json={"http_5xx": 2})
    statuses = [api.post("/payments", json=token_body(token)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert len(control.get("/ledger").json()["payments"]) == 1
    assert control.get("/faults").json()["http_5xx"] == {"count": 0, "probability": 0.0, "status": 503}


def test_http_5xx_by_probability_with_a_status_and_delete_clears(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"http_5xx": {"probability": 1.0, "status": 502}})
    response = api.get("/tokens")
    assert (response.status_code, response.headers["content-type"]) == (502, "text/html; charset=utf-8")
    assert control.delete("/faults").json() == {
        "latency_ms": 0,
        "http_5xx": {"count": 0, "probability": 0.0, "status": 503},
        "drop_after_store": {"count": 0},
        "webhook_duplicate": {"count": 0, "probability": 0.0},
        "webhook_delay_ms": 0,
        "injected": {"http_5xx": 1},
    }
    assert api.get("/tokens").status_code == 200


def test_drop_after_store_on_capture(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    control.post("/faults", json={"drop_after_store": {"count": 1}})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/payments/{payment['id']}/captures", json={})
    assert ledger_entry(control, payment["id"])["movements"]["capture"] == 1
    assert api.get(f"/payments/{payment['id']}").json()["status"] == "CLOSED"  # a GET is never dropped
    retry = api.post(f"/payments/{payment['id']}/captures", json={})
    assert retry.json()["code"] == "payment.invalid_status"  # the blind retry is visible, not a second capture
    requests = control.get("/requests").json()["requests"]
    assert [(r["method"], r["status"], r["dropped"]) for r in requests] == [
        ("POST", None, True),
        ("GET", 200, False),
        ("POST", 400, False),
    ]


@pytest.mark.parametrize(
    "spec",
    [{"latency_ms": -1}, {"http_5xx": {"status": 404}}, {"http_5xx": {"probability": 2}}, {"eatn0399": 1}],
)
def test_invalid_fault_specs_are_refused(control: httpx.Client, spec: dict[str, object]) -> None:
    response = control.post("/faults", json=spec)
    assert response.status_code == 400
    assert "error" in response.json()


def test_overview_and_index(server_url: str, control: httpx.Client) -> None:
    overview = control.get("").json()
    assert overview["api_base_url"] == server_url + "/"
    assert overview["checkout_script_url"] == server_url + "/apps/"
    assert overview["merchants"][0]["public_key"] == "pk_test_kessai_demo_paidy01"
    assert httpx.get(server_url + "/").json()["service"] == "Paidy sandbox (Kessai)"


def test_merchant_upsert_validates(control: httpx.Client) -> None:
    assert control.post("/merchants", json={"public_key": "pk_x"}).status_code == 400
    assert (
        control.post("/merchants", json={"public_key": "pk_x", "secret_key": "sk_test_kessai_demo_paidy01"}).status_code
        == 400
    )
    assert (
        control.post("/merchants", json={"public_key": "pk_x", "secret_key": "s", "webhook_url": "ftp://x"}).status_code
        == 400
    )
    created = control.post("/merchants", json={"public_key": "pk_x", "secret_key": "s", "authorization_days": 7}).json()
    assert (created["authorization_days"], created["webhook_url"]) == (7, None)


def test_authorization_days_set_expires_at(control: httpx.Client) -> None:
    control.post("/merchants", json={"public_key": "pk_test_kessai_demo_paidy01", "authorization_days": 1})
    payment = checkout(control)
    created = datetime.fromisoformat(payment["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(payment["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(days=1)
    control.post("/settings", json={"clock_offset_days": 1})
    assert ledger_entry(control, payment["id"])["state"] == "expired"


def test_reset_returns_to_the_start(control: httpx.Client, token: str) -> None:
    checkout(control)
    control.post("/faults", json={"latency_ms": 10})
    control.post("/reset")
    ledger = control.get("/ledger").json()
    assert (ledger["payments"], ledger["tokens"], ledger["movements"]) == ([], [], [])
    assert control.get("/faults").json()["latency_ms"] == 0
    assert control.post("/settings", json={"nope": 1}).status_code == 400
    assert control.get("/nowhere").status_code == 404
