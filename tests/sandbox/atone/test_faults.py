"""Fault injection switched through /_sandbox/faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from kessai.sandbox.atone import AtoneSandbox
from kessai.sandbox.server import RunningServer

from .helpers import create_body, ledger_entry


def test_latency_delays_but_still_stores(
    api: httpx.Client, token: str, control: httpx.Client, sandbox: AtoneSandbox
) -> None:
    assert control.post("/faults", json={"latency_ms": 300}).json()["latency_ms"] == 300
    with pytest.raises(httpx.ReadTimeout):
        api.post("/transactions", json=create_body(token), timeout=0.1)
    deadline = time.monotonic() + 2
    while not sandbox.ledger()["transactions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["movements"]["create"] for e in sandbox.ledger()["transactions"]] == [1]
    started = time.monotonic()
    assert api.get(f"/transactions/{sandbox.ledger()['transactions'][0]['transaction']['id']}").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_http_5xx_for_the_next_n_requests(api: httpx.Client, token: str, control: httpx.Client) -> None:
    control.post("/faults", json={"http_5xx": 2})
    first = api.post("/transactions", json=create_body(token))
    second = api.post("/transactions", json=create_body(token))
    third = api.post("/transactions", json=create_body(token))
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert first.text == "<html><head><title>503</title></head><body><h1>503 Service Unavailable</h1></body></html>"
    assert len(control.get("/ledger").json()["transactions"]) == 1
    assert control.get("/faults").json()["http_5xx"] == {"count": 0, "probability": 0.0, "status": 503}


def test_http_5xx_by_probability_with_a_status(api: httpx.Client, token: str, control: httpx.Client) -> None:
    control.post("/faults", json={"http_5xx": {"probability": 1.0, "status": 502}})
    assert [api.get("/transactions/tr_0000000000000000").status_code for _ in range(3)] == [502, 502, 502]
    assert control.delete("/faults").json() == {
        "latency_ms": 0,
        "http_5xx": {"count": 0, "probability": 0.0, "status": 503},
        "eatn0399": {"count": 0},
        "drop_after_store": {"count": 0},
        "webhook_duplicate": {"count": 0, "probability": 0.0},
        "webhook_delay_ms": 0,
        "injected": {"http_5xx": 3},
    }
    assert api.post("/transactions", json=create_body(token)).status_code == 200


def test_eatn0399_for_the_next_n_requests(api: httpx.Client, token: str, control: httpx.Client) -> None:
    control.post("/faults", json={"eatn0399": {"count": 1}})
    busy = api.post("/transactions", json=create_body(token))
    assert busy.status_code == 400
    message = "只今サービスが大変混み合っております。しばらく時間をおいてから再度お試し下さい。"
    assert busy.json() == {
        "name": "InvalidRequest",
        "message": message,
        "errors": [{"code": "EATN0399", "messages": [message], "params": []}],
    }
    assert control.get("/ledger").json()["transactions"] == []
    assert api.post("/transactions", json=create_body(token)).status_code == 200


def test_faults_come_before_authentication(server_url_client: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"eatn0399": 1})
    assert server_url_client.post("/v1/transactions", json={}).json()["errors"][0]["code"] == "EATN0399"
    assert server_url_client.post("/v1/transactions", json={}).status_code == 401


def test_drop_after_store_on_create(api: httpx.Client, token: str, control: httpx.Client) -> None:
    control.post("/faults", json={"drop_after_store": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/transactions", json=create_body(token))
    [entry] = control.get("/ledger").json()["transactions"]
    assert (entry["state"], entry["movements"]["create"]) == ("authorized", 1)
    requests = control.get("/requests").json()["requests"]
    assert [(r["method"], r["status"], r["dropped"]) for r in requests] == [("POST", None, True)]
    duplicate = api.post("/transactions", json=create_body(token))
    assert duplicate.json()["errors"][0]["code"] == "EATN0398"


def test_drop_after_store_on_settle_makes_a_blind_retry_visible(
    api: httpx.Client, token: str, control: httpx.Client
) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    control.post("/faults", json={"drop_after_store": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        api.patch(f"/transactions/{tx_id}/settle")
    assert ledger_entry(control, tx_id)["movements"]["settle"] == 1
    assert api.patch(f"/transactions/{tx_id}/settle").json()["errors"][0]["code"] == "EATN1201"
    assert api.get(f"/transactions/{tx_id}").json()["sales_settled_datetime"] is not None
    assert ledger_entry(control, tx_id)["movements"]["settle"] == 1


def test_drop_after_store_skips_refused_requests_and_reads(
    api: httpx.Client, token: str, control: httpx.Client
) -> None:
    control.post("/faults", json={"drop_after_store": 1})
    assert api.post("/transactions", json={"amount": 0}).status_code == 400
    assert api.get("/transactions/tr_0000000000000000").status_code == 404
    assert control.get("/faults").json()["drop_after_store"] == {"count": 1}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/transactions", json=create_body(token))
    assert api.post("/transactions", json=create_body(token, shop_transaction_no="next")).status_code == 200


def test_faults_do_not_touch_the_control_endpoint_or_widget(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"http_5xx": 1, "latency_ms": 0})
    assert control.get("/ledger").status_code == 200
    assert api.get("/atone.js").status_code == 200
    assert api.get("/transactions/tr_0000000000000000").status_code == 503


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"bogus": 1}, "unknown fault(s): bogus"),
        ({"http_5xx": {"probability": 2}}, "http_5xx.probability must be between 0 and 1"),
        ({"http_5xx": {"status": 404}}, "http_5xx.status must be one of [500, 502, 503, 504]"),
        ({"latency_ms": -1}, "latency_ms must be a non-negative integer"),
        ({"drop_after_store": "1"}, "drop_after_store must be a non-negative integer"),
        ({"eatn0399": {"times": 1}}, "eatn0399 accepts only count"),
    ],
)
def test_invalid_fault_specs_change_nothing(control: httpx.Client, spec: dict[str, object], error: str) -> None:
    control.post("/faults", json={"eatn0399": 2})
    response = control.post("/faults", json={**spec, "latency_ms": spec.get("latency_ms", 5)})
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert control.get("/faults").json()["latency_ms"] == 0
    assert control.get("/faults").json()["eatn0399"] == {"count": 2}


@pytest.fixture
def server_url_client(server: RunningServer) -> Iterator[httpx.Client]:
    """A client for the same server without credentials."""
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield client
