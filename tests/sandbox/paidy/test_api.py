"""The Paidy REST API of the emulator against the protocol note (§2.1–2.3): auth, validation, payment
state machine, tokens."""

from __future__ import annotations

import base64

import httpx
import pytest

from kessai.sandbox.paidy import DEFAULT_SECRET_KEY
from kessai.sandbox.server import RunningServer

from .conftest import client
from .helpers import checkout, error, ledger_entry, token_body

# --------------------------------------------------------------------------- auth and headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Paidy-Version": "2018-04-10"},
        {"Authorization": "Bearer sk_test_wrong", "Paidy-Version": "2018-04-10"},
        {"Authorization": f"Token {DEFAULT_SECRET_KEY}", "Paidy-Version": "2018-04-10"},
    ],
)
def test_without_the_secret_key_401_authentication_failed(server: RunningServer, headers: dict[str, str]) -> None:
    with client(server.url, headers) as anonymous:
        response = anonymous.get("/payments/pay_x")
    assert error(response)[:2] == (401, "authentication.failed")


def test_basic_auth_with_the_secret_key_is_accepted(server: RunningServer) -> None:
    basic = "Basic " + base64.b64encode(f"{DEFAULT_SECRET_KEY}:".encode()).decode()
    with client(server.url, {"Authorization": basic, "Paidy-Version": "2018-04-10"}) as basic_client:
        assert basic_client.get("/tokens").status_code == 200


def test_paidy_version_is_required(server: RunningServer) -> None:
    with client(server.url, {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}) as no_version:
        response = no_version.get("/tokens")
    status, code, description = error(response)
    assert (status, code) == (400, "request_content.malformed")
    assert description.startswith("Paidy-Version:")


def test_a_body_must_be_json(api: httpx.Client) -> None:
    response = api.post("/payments", content=b"amount=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert error(response) == (400, "request_content.malformed", "Content-Type: must be application/json")
    assert error(api.post("/payments", content=b"{", headers={"Content-Type": "application/json"}))[1] == (
        "request_content.malformed"
    )


def test_unknown_paths_are_404(api: httpx.Client) -> None:
    assert error(api.get("/payments"))[:2] == (404, "resource.not_found")
    assert error(api.post("/tokens/tok_x/freeze", json={}))[:2] == (404, "resource.not_found")


# --------------------------------------------------------------------------- POST /payments (token)


def test_a_token_payment_is_authorized_with_the_note_shape(api: httpx.Client, token: str) -> None:
    response = api.post("/payments", json=token_body(token, metadata={"sub": "sub_1"}))

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("pay_")
    assert (body["status"], body["amount"], body["currency"], body["test"], body["tier"]) == (
        "AUTHORIZED",
        13824,
        "JPY",
        True,
        "classic",
    )
    assert body["buyer"] == {"email": "successful.payment@paidy.com", "phone": "08000000001"}
    assert (body["order"]["order_ref"], body["metadata"], body["captures"], body["refunds"]) == (
        "A-1001",
        {"sub": "sub_1"},
        [],
        [],
    )
    assert body["created_at"].endswith("Z")
    assert body["expires_at"] > body["created_at"]


def test_without_order_request_content_malformed(api: httpx.Client, token: str) -> None:
    body = token_body(token)
    del body["order"]
    assert error(api.post("/payments", json=body)) == (400, "request_content.malformed", "order: is required")


def test_every_broken_rule_is_listed_with_its_wire_path(api: httpx.Client) -> None:
    body = token_body(
        "not-a-token",
        amount=0,
        currency="USD",
        store_name="",
        order={"items": [{"quantity": 0, "unit_price": "1"}], "tax": -1},
        shipping_address={"zip": "1070052"},
        metadata={f"k{i}": i for i in range(21)},
    )
    status, code, description = error(api.post("/payments", json=body))
    assert (status, code) == (400, "request_content.malformed")
    assert description.split("; ") == [
        "amount: must be a positive integer",
        'currency: must be "JPY"',
        "store_name: is required",
        "token_id: is required (a tok_… id: server-side payments need a recurring token)",
        "order.items[0].quantity: must be a positive integer",
        "order.items[0].unit_price: must be an integer",
        "order.tax: must be a non-negative integer",
        'shipping_address.zip: must be "NNN-NNNN"',
        "shipping_address: zip and at least one of line1, line2, city, state are required",
        "metadata: at most 20 keys",
    ]
    assert api.get("/tokens").json() == []


def test_a_negative_unit_price_is_a_discount(api: httpx.Client, token: str) -> None:
    items = [{"id": "P-1", "quantity": 1, "unit_price": 14824}, {"id": "off", "quantity": 1, "unit_price": -1000}]
    response = api.post("/payments", json=token_body(token, order={"items": items}))
    assert response.status_code == 200


def test_an_unknown_or_inactive_token(api: httpx.Client, token: str, control: httpx.Client) -> None:
    unknown = api.post("/payments", json=token_body("tok_unknown"))
    assert error(unknown) == (400, "request_content.malformed", "token_id: unknown token tok_unknown")
    control.post(f"/tokens/{token}/suspend")
    assert error(api.post("/payments", json=token_body(token))) == (
        400,
        "token.not_active",
        "token_id: the token is SUSPENDED",
    )


def test_the_rejection_buyer_is_rejected(api: httpx.Client, control: httpx.Client) -> None:
    rejected = control.post("/tokens", json={"email": "rejected.payment@paidy.com", "phone": "08000000001"}).json()
    body = api.post("/payments", json=token_body(rejected["id"])).json()
    assert body["status"] == "REJECTED"
    assert ledger_entry(control, body["id"])["movements"] == {
        "authorize": 0,
        "reject": 1,
        "capture": 0,
        "refund": 0,
        "close": 0,
    }


# --------------------------------------------------------------------------- the state machine


def test_capture_is_always_the_full_amount_and_closes(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    response = api.post(f"/payments/{payment['id']}/captures", json={"metadata": {"k": "v"}})
    body = response.json()
    assert (body["status"], len(body["captures"])) == ("CLOSED", 1)
    capture = body["captures"][0]
    assert capture["id"].startswith("cap_")
    assert (capture["amount"], capture["metadata"], capture["items"][0]["id"]) == (13824, {"k": "v"}, "P-1")


def test_a_capture_with_an_amount_is_refused(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    response = api.post(f"/payments/{payment['id']}/captures", json={"amount": 100})
    assert error(response) == (
        400,
        "request_content.malformed",
        "amount: captures take no amount (always the full amount)",
    )


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ("captures", "captures", "payment.invalid_status"),
        ("captures", "close", "payment.invalid_status"),
        ("close", "close", "payment.invalid_status"),
        ("close", "captures", "payment.invalid_status"),
    ],
)
def test_illegal_moves_are_refused(
    api: httpx.Client, control: httpx.Client, first: str, second: str, code: str
) -> None:
    payment = checkout(control)
    assert api.post(f"/payments/{payment['id']}/{first}", json={}).status_code == 200
    status, got, description = error(api.post(f"/payments/{payment['id']}/{second}", json={}))
    assert (status, got) == (400, code)
    assert description.startswith("status:")
    movements = ledger_entry(control, payment["id"])["movements"]
    assert movements["capture"] + movements["close"] == 1


def test_a_rejected_payment_cannot_move(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control, email="rejected.payment@paidy.com")
    for path in ("captures", "close"):
        assert error(api.post(f"/payments/{payment['id']}/{path}", json={}))[1] == "payment.invalid_status"
    assert error(api.put(f"/payments/{payment['id']}", json={"order_ref": "x"}))[1] == "payment.invalid_status"


def test_refunds_only_after_capture_and_up_to_what_is_left(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    pid = payment["id"]
    assert error(api.post(f"/payments/{pid}/refunds", json={"capture_id": "cap_x", "amount": 1}))[1] == (
        "payment.invalid_status"
    )
    capture_id = api.post(f"/payments/{pid}/captures", json={}).json()["captures"][0]["id"]

    assert error(api.post(f"/payments/{pid}/refunds", json={"capture_id": "cap_other", "amount": 1}))[2] == (
        "capture_id: cap_other is not a capture of this payment"
    )
    assert error(api.post(f"/payments/{pid}/refunds", json={"amount": 1}))[2] == "capture_id: is required"
    first = api.post(f"/payments/{pid}/refunds", json={"capture_id": capture_id, "amount": 1000, "reason": "返品"})
    too_much = api.post(f"/payments/{pid}/refunds", json={"capture_id": capture_id, "amount": 12825})
    rest = api.post(f"/payments/{pid}/refunds", json={"capture_id": capture_id})
    nothing_left = api.post(f"/payments/{pid}/refunds", json={"capture_id": capture_id})

    assert [r["amount"] for r in first.json()["refunds"]] == [1000]
    assert error(too_much) == (400, "refund.amount_exceeded", "amount: 12825 exceeds the refundable amount 12824")
    assert [r["amount"] for r in rest.json()["refunds"]] == [1000, 12824]
    assert error(nothing_left)[1] == "refund.amount_exceeded"
    assert ledger_entry(control, pid)["movements"]["refund"] == 2


def test_capture_after_expires_at_is_refused_but_close_works(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    control.post("/settings", json={"clock_offset_days": 30})
    status, code, description = error(api.post(f"/payments/{payment['id']}/captures", json={}))
    assert (status, code) == (400, "payment.expired")
    assert description.startswith("expires_at: the authorization expired at ")
    assert ledger_entry(control, payment["id"])["state"] == "expired"
    assert api.post(f"/payments/{payment['id']}/close", json={}).json()["status"] == "CLOSED"


def test_update_changes_only_order_ref_description_and_metadata(api: httpx.Client, control: httpx.Client) -> None:
    payment = checkout(control)
    body = api.put(
        f"/payments/{payment['id']}",
        json={"order_ref": "A-2", "description": "メモ", "metadata": {"a": 1}, "amount": 1},
    ).json()
    assert (body["order"]["order_ref"], body["description"], body["metadata"], body["amount"]) == (
        "A-2",
        "メモ",
        {"a": 1},
        13824,
    )


def test_another_merchants_payment_is_not_found(
    api: httpx.Client, control: httpx.Client, server: RunningServer
) -> None:
    control.post("/merchants", json={"public_key": "pk_test_b", "secret_key": "sk_test_b"})
    payment = checkout(control)
    with client(server.url, {"Authorization": "Bearer sk_test_b", "Paidy-Version": "2018-04-10"}) as other:
        assert error(other.get(f"/payments/{payment['id']}")) == (
            404,
            "resource.not_found",
            f"payment {payment['id']} not found",
        )
    assert api.get(f"/payments/{payment['id']}").status_code == 200


# --------------------------------------------------------------------------- tokens


def test_token_object_shape(api: httpx.Client, token: str) -> None:
    body = api.get(f"/tokens/{token}").json()
    assert body["id"] == token
    assert (body["status"], body["kind"], body["wallet_id"], body["version_nr"], body["test"]) == (
        "ACTIVE",
        "recurring",
        "default",
        1,
        True,
    )
    assert body["merchant_id"].startswith("mer_")
    assert body["consumer_id"].startswith("con_")
    assert body["origin"]["email"] == "successful.payment@paidy.com"
    assert [t["id"] for t in api.get("/tokens").json()] == [token]


def _reason(code: str = "merchant.requested") -> dict[str, object]:
    return {"reason": {"code": code, "description": "テスト"}}


def test_token_lifecycle(api: httpx.Client, token: str) -> None:
    suspended = api.post(f"/tokens/{token}/suspend", json=_reason()).json()
    resumed = api.post(f"/tokens/{token}/resume", json=_reason()).json()
    deleted = api.post(f"/tokens/{token}/delete", json=_reason("subscription.expired")).json()

    assert (suspended["status"], suspended["suspensions"][0]["authority"], suspended["version_nr"]) == (
        "SUSPENDED",
        "merchant",
        2,
    )
    assert (resumed["status"], resumed["version_nr"]) == ("ACTIVE", 3)
    assert (deleted["status"], deleted["version_nr"]) == ("DELETED", 4)
    assert deleted["deleted_at"] is not None
    assert error(api.post(f"/tokens/{token}/delete", json=_reason()))[1] == "token.invalid_status"
    assert error(api.post(f"/tokens/{token}/resume", json=_reason()))[1] == "token.invalid_status"


def test_only_the_party_that_suspended_can_resume(api: httpx.Client, control: httpx.Client, token: str) -> None:
    consumer = control.post(f"/tokens/{token}/suspend").json()
    assert consumer["suspensions"][-1]["authority"] == "consumer"
    status, code, description = error(api.post(f"/tokens/{token}/resume", json=_reason()))
    assert (status, code) == (400, "token.invalid_status")
    assert description == "authority: suspended by the consumer; only they can resume it"
    assert control.post(f"/tokens/{token}/resume").json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({}, "reason: is required"),
        (
            {"reason": {"code": "subscription.expired", "description": "x"}},
            "reason.code: must be one of consumer.requested, fraud.detected, general, merchant.requested",
        ),
        ({"reason": {"code": "general", "description": " "}}, "reason.description: must not be empty"),
        ({"wallet_id": "other", **_reason()}, "wallet_id: the token belongs to wallet default"),
    ],
)
def test_token_action_bodies_are_validated(
    api: httpx.Client, token: str, body: dict[str, object], description: str
) -> None:
    assert error(api.post(f"/tokens/{token}/suspend", json=body)) == (400, "request_content.malformed", description)
    assert api.get(f"/tokens/{token}").json()["status"] == "ACTIVE"


def test_a_custom_wallet_needs_its_wallet_id(api: httpx.Client, control: httpx.Client) -> None:
    token = control.post(
        "/tokens", json={"email": "a@example.jp", "phone": "09012345678", "wallet_id": "family"}
    ).json()["id"]
    assert error(api.post(f"/tokens/{token}/suspend", json=_reason()))[2] == (
        "wallet_id: required (and must match) for a token of a custom wallet"
    )
    assert api.post(f"/tokens/{token}/suspend", json={"wallet_id": "family", **_reason()}).status_code == 200
