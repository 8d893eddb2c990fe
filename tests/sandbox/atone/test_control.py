"""The control endpoint /_sandbox/…: merchants, settings, authenticate, reset, ledger."""

from __future__ import annotations

import httpx
import pytest

from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY, AtoneSandbox
from kessai.sandbox.server import RunningServer

from .helpers import PHONE, basic, create_body

DEFAULT_MERCHANT = {
    "public_key": DEFAULT_PUBLIC_KEY,
    "secret_key": DEFAULT_SECRET_KEY,
    "name": "Kessai デモ店舗",
    "payment_webhook_url": None,
    "authentication_webhook_url": None,
    "failure_notification_email": None,
    "contract_valid": True,
    "transaction_options": [1, 2, 3],
}
SECOND = {"public_key": "second-store-pk-000001", "secret_key": "second-store-sk-000001"}


def test_overview(control: httpx.Client, server: RunningServer) -> None:
    overview = control.get("").json()
    assert overview["service"] == "atone sandbox (Kessai)"
    assert overview["api_base_url"] == server.url + "/v1/"
    assert overview["widget_url"] == server.url + "/v1/atone.js"
    assert overview["merchants"] == [DEFAULT_MERCHANT]
    assert (overview["settings"]["clock_offset_days"], overview["settings"]["buyer_limit"]) == (0, 50_000)
    assert overview["faults"]["latency_ms"] == 0


def test_register_a_second_merchant_with_isolated_data(
    server: RunningServer, control: httpx.Client, token: str
) -> None:
    created = control.post("/merchants", json={**SECOND, "name": "二号店"}).json()
    assert created == {**DEFAULT_MERCHANT, **SECOND, "name": "二号店"}
    with httpx.Client(base_url=server.url + "/v1", headers={"Authorization": basic(SECOND["secret_key"])}) as second:
        buyer = control.post("/authenticate", json={"phone_number": PHONE, "public_key": SECOND["public_key"]}).json()
        assert buyer["public_key"] == SECOND["public_key"]
        assert buyer["authentication_token"] != token
        tx_id = second.post("/transactions", json=create_body(buyer["authentication_token"])).json()["id"]
        with httpx.Client(base_url=server.url + "/v1", headers={"Authorization": basic(DEFAULT_SECRET_KEY)}) as first:
            assert first.get(f"/transactions/{tx_id}").status_code == 404
            assert first.patch(f"/transactions/{tx_id}/settle").status_code == 404
            # the same order number is fine in another store
            assert first.post("/transactions", json=create_body(token)).status_code == 200
    assert [m["public_key"] for m in control.get("/merchants").json()["merchants"]] == [
        DEFAULT_PUBLIC_KEY,
        SECOND["public_key"],
    ]


def test_update_keeps_fields_not_given(control: httpx.Client) -> None:
    control.post("/merchants", json={"public_key": DEFAULT_PUBLIC_KEY, "payment_webhook_url": "http://127.0.0.1:9/p"})
    updated = control.post(
        "/merchants", json={"public_key": DEFAULT_PUBLIC_KEY, "failure_notification_email": "ops@example.jp"}
    ).json()
    assert updated == {
        **DEFAULT_MERCHANT,
        "payment_webhook_url": "http://127.0.0.1:9/p",
        "failure_notification_email": "ops@example.jp",
    }
    cleared = control.post("/merchants", json={"public_key": DEFAULT_PUBLIC_KEY, "payment_webhook_url": None}).json()
    assert cleared["payment_webhook_url"] is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"secret_key": "x"}, "public_key is required"),
        ({"public_key": "new-store"}, "secret_key is required for a new merchant"),
        (
            {"public_key": "new-store", "secret_key": DEFAULT_SECRET_KEY},
            "another merchant already uses this secret_key",
        ),
        (
            {"public_key": DEFAULT_PUBLIC_KEY, "payment_webhook_url": "ftp://x"},
            "payment_webhook_url must be an http(s) URL",
        ),
        (
            {"public_key": DEFAULT_PUBLIC_KEY, "failure_notification_email": "ops"},
            "failure_notification_email must be a mail address",
        ),
        ({"public_key": DEFAULT_PUBLIC_KEY, "contract_valid": "no"}, "contract_valid must be a boolean"),
        (
            {"public_key": DEFAULT_PUBLIC_KEY, "transaction_options": [4]},
            "transaction_options must be a list drawn from [1, 2, 3]",
        ),
        ({"public_key": DEFAULT_PUBLIC_KEY, "colour": "red"}, "unknown merchant field(s): colour"),
    ],
)
def test_invalid_merchant_changes_nothing(control: httpx.Client, body: dict[str, object], error: str) -> None:
    response = control.post("/merchants", json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert control.get("/merchants").json()["merchants"] == [DEFAULT_MERCHANT]


def test_settings_round_trip_and_validation(control: httpx.Client) -> None:
    settings = control.post("/settings", json={"clock_offset_days": 91, "buyer_limit": 10_000}).json()
    assert (settings["clock_offset_days"], settings["buyer_limit"]) == (91, 10_000)
    assert settings["now"].endswith("+09:00")
    for body, error in (
        ({"buyer_limit": 0}, "buyer_limit must be an integer >= 1"),
        ({"clock_offset_days": "1"}, "clock_offset_days must be an integer"),
        ({"speed": 2}, "unknown setting(s): speed"),
    ):
        assert control.post("/settings", json=body).json() == {"error": error}
    assert control.get("/settings").json()["buyer_limit"] == 10_000


def test_authenticate_reuses_the_token_per_phone(control: httpx.Client) -> None:
    first = control.post("/authenticate", json={"phone_number": "090-1234-5678"}).json()
    same = control.post("/authenticate", json={"phone_number": "09012345678"}).json()
    other = control.post("/authenticate", json={"phone_number": "080-1234-5678"}).json()
    assert same == first
    assert other["authentication_token"] != first["authentication_token"]
    assert (first["user_no"], other["user_no"]) == ("1000000001", "1000000002")


def test_authenticate_errors(control: httpx.Client) -> None:
    assert control.post("/authenticate", json={}).json() == {"error": "phone_number is required"}
    assert control.post("/authenticate", json={"phone_number": PHONE, "public_key": "nope"}).json() == {
        "error": "unknown public_key 'nope'"
    }
    bad_phone = control.post("/authenticate", json={"phone_number": "03-1234-5678"})
    assert bad_phone.status_code == 400
    assert bad_phone.json()["atone"]["errors"][0]["code"] == "EATN0305"
    assert control.post("/tokens/revoke", json={"authentication_token": "tk_x"}).json() == {
        "error": "unknown authentication_token"
    }


def test_reset_returns_to_the_start(
    control: httpx.Client, api: httpx.Client, token: str, sandbox: AtoneSandbox
) -> None:
    api.post("/transactions", json=create_body(token))
    control.post("/merchants", json=SECOND)
    control.post("/faults", json={"eatn0399": 3, "latency_ms": 1})
    control.post("/settings", json={"clock_offset_days": 5, "buyer_limit": 7})
    assert control.post("/reset").json() == {"reset": True}
    ledger = control.get("/ledger").json()
    assert (ledger["transactions"], ledger["movements"]) == ([], [])
    assert control.get("/requests").json() == {"requests": []}
    assert control.get("/merchants").json()["merchants"] == [DEFAULT_MERCHANT]
    assert control.get("/faults").json()["eatn0399"] == {"count": 0}
    settings = control.get("/settings").json()
    assert (settings["clock_offset_days"], settings["buyer_limit"]) == (0, 50_000)
    assert api.post("/transactions", json=create_body(token)).json()["errors"][0]["code"] == "EATN0303"
    assert sandbox.store.buyers == {}


def test_control_errors(control: httpx.Client) -> None:
    assert control.get("/nothing").status_code == 404
    assert control.put("/faults").status_code == 405
    bad = control.post("/faults", content=b"{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("the body is not valid JSON")
    assert control.post("/faults", json=[1]).json() == {"error": "the body must be a JSON object"}


def test_in_process_helpers(sandbox: AtoneSandbox) -> None:
    buyer = sandbox.authenticate(PHONE)
    tx = sandbox.operations.create(sandbox.default_merchant, create_body(buyer.authentication_token), None)
    assert sandbox.ledger()["transactions"][0]["transaction"] == tx
    assert sandbox.set_faults(drop_after_store=2)["drop_after_store"] == {"count": 2}
    sandbox.reset()
    assert sandbox.ledger()["transactions"] == []
