"""The control endpoint /_sandbox: faults, ledger, settings, merchants, review, reset."""

from __future__ import annotations

import time

import httpx
import pytest

from kessai.sandbox.np_atobarai import NpSandboxConfig
from tests.sandbox.np_atobarai.helpers import TLS, Np, register_item, running


def test_overview_lists_merchants_settings_and_faults(np: Np) -> None:
    body = np.control("GET", "").json()
    assert body["api_base_url"] == np.url + "/v1/"
    assert body["merchants"] == [
        {
            "merchant_code": "akt0000001",
            "sp_code": "kessai-demo-np-sp01",
            "terminal_id": "kessai-demo-np-terminal",
            "name": "Kessai デモ店舗",
        }
    ]
    assert body["settings"]["credit_limit"] == 55_000
    assert body["faults"]["drop_after_store"] == {"count": 0}


def test_5xx_faults_answer_html_and_store_nothing(np: Np) -> None:
    assert np.control("POST", "/faults", {"http_5xx": {"count": 2, "status": 502}}).status_code == 200
    first = np.post("transactions", [register_item()])
    second = np.post("transactions", [register_item()])
    third = np.post("transactions", [register_item()])
    assert (first.status_code, second.status_code, third.status_code) == (502, 502, 200)
    assert first.headers["content-type"].startswith("text/html")
    assert len(np.app.ledger()["transactions"]) == 1


def test_probabilistic_5xx_is_reproducible_with_a_seed() -> None:
    outcomes = []
    for _ in range(2):
        for np in running(NpSandboxConfig(random_seed=7)):
            np.control("POST", "/faults", {"http_5xx": {"probability": 0.5}})
            outcomes.append([np.post("authorizations/find", []).status_code for _ in range(8)])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {400, 503}


def test_drop_after_store_applies_to_changes_only(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    np.control("POST", "/faults", {"drop_after_store": 1})
    assert np.find(np_id)["authori_result"] == "00"  # a lookup changes nothing: not dropped
    with pytest.raises(httpx.HTTPError):
        np.ship(np_id)
    assert np.app.transaction(np_id)["life"] == "shipped"
    assert np.app.store.requests[-1].to_json()["dropped"] is True
    assert np.ship(np_id)[1]["errors"][0]["codes"] == ["E0100115"]


def test_latency(np: Np) -> None:
    np.control("POST", "/faults", {"latency_ms": 300})
    started = time.monotonic()
    np.post("authorizations/find", [])
    assert time.monotonic() - started >= 0.3
    assert np.control("DELETE", "/faults").json()["latency_ms"] == 0


@pytest.mark.parametrize(
    "spec",
    [
        {"nope": 1},
        {"latency_ms": -1},
        {"http_5xx": {"status": 404}},
        {"http_5xx": {"probability": 2}},
        {"drop_after_store": {"n": 1}},
    ],
)
def test_bad_fault_specs_are_400_and_change_nothing(np: Np, spec: dict[str, object]) -> None:
    response = np.control("POST", "/faults", spec)
    assert response.status_code == 400
    assert np.control("GET", "/faults").json()["latency_ms"] == 0


def test_ledger_counts_every_movement_per_transaction(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    np.one("transactions/update", {"np_transaction_id": np_id, "billed_amount": 13824}, method="PATCH")
    np.ship(np_id)
    np.ship(np_id)  # refused: not a movement
    ledger = np.control("GET", "/ledger").json()
    [entry] = ledger["transactions"]
    assert entry["movements"] == {"register": 1, "update": 1, "cancel": 0, "shipment": 1, "reregister": 0}
    assert (entry["state"], entry["authori_result"], entry["terminal_id"]) == (
        "shipped",
        "00",
        "kessai-demo-np-terminal",
    )
    assert [m["kind"] for m in ledger["movements"]] == ["register", "update", "shipment"]
    requests = np.control("GET", "/requests").json()["requests"]
    assert [(r["path"], r["status"], r["codes"]) for r in requests][-1] == ("/v1/shipments", 400, ["E0100115"])


def test_settings_change_at_run_time_and_are_validated(np: Np) -> None:
    body = np.control("POST", "/settings", {"credit_limit": 10_000, "review_resolve_lookups": None}).json()
    assert (body["credit_limit"], body["review_resolve_lookups"]) == (10_000, None)
    assert np.register()["authori_ng"] == "NG001"
    assert np.control("POST", "/settings", {"credit_limit": 0}).status_code == 400
    assert np.control("POST", "/settings", {"colour": "blue"}).status_code == 400


def test_review_endpoint_finishes_a_manual_review(np: Np) -> None:
    from tests.sandbox.np_atobarai.helpers import customer

    np_id = np.register(customer=customer(address="東京都 審査"))["np_transaction_id"]
    done = np.control("POST", f"/transactions/{np_id}/review", {"authori_result": "20", "authori_ng": "NG002"})
    assert done.json()["transaction"]["authori_result"] == "20"
    assert (np.find(np_id)["authori_result"], np.find(np_id)["authori_ng"]) == ("20", "NG002")
    assert np.control("POST", f"/transactions/{np_id}/review", {"authori_result": "40"}).status_code == 400
    assert np.control("POST", "/transactions/99999999999/pay").status_code == 404
    assert np.control("POST", f"/transactions/{np_id}/pay").json() == {"error": "refused", "codes": ["EKSB0302"]}


def test_merchants_can_be_added_and_used(np: Np) -> None:
    added = np.control("POST", "/merchants", {"merchant_code": "akt0000002", "sp_code": "sp2", "terminal_id": "t2"})
    assert added.status_code == 200
    assert np.control("POST", "/merchants", {"merchant_code": "akt0000003"}).status_code == 400
    assert np.control("POST", "/merchants", {"merchant_code": "x", "sp_code": 1, "terminal_id": "t"}).status_code == 400
    from tests.sandbox.np_atobarai.helpers import basic, headers

    response = np.post(
        "transactions",
        [register_item()],
        headers=headers(Authorization=basic("akt0000002", "sp2"), **{"X-NP-Terminal-Id": "t2"}),
    )
    assert response.status_code == 200


def test_reset_returns_to_the_start(np: Np) -> None:
    np.register()
    np.control("POST", "/faults", {"latency_ms": 5})
    np.control("POST", "/settings", {"credit_limit": 1})
    assert np.control("POST", "/reset").json() == {"reset": True}
    assert np.app.ledger()["transactions"] == []
    assert np.control("GET", "/settings").json()["credit_limit"] == 55_000
    assert np.control("GET", "/faults").json()["latency_ms"] == 0


def test_unknown_control_paths(np: Np) -> None:
    assert np.control("GET", "/nothing").status_code == 404
    assert np.control("PUT", "/faults").status_code == 405
    with httpx.Client(verify=TLS) as http:
        bad = http.post(np.url + "/_sandbox/faults", content=b"{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
