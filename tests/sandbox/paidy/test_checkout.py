"""The Checkout stand-in (/apps/): the script, the modal's authorize endpoint, the callback shape (§2.1, §2.5)."""

from __future__ import annotations

import httpx
import pytest

from kessai.sandbox.paidy import DEFAULT_PUBLIC_KEY
from kessai.sandbox.server import RunningServer

from .conftest import client
from .helpers import ledger_entry, payload


@pytest.fixture
def apps(server: RunningServer) -> httpx.Client:
    return client(server.url + "/apps")


def _approve(apps: httpx.Client, **overrides: object) -> httpx.Response:
    body: dict[str, object] = {
        "api_key": DEFAULT_PUBLIC_KEY,
        "payload": payload(),
        "email": "successful.payment@paidy.com",
        "phone": "08000000001",
        "otp": "8888",
    }
    body.update(overrides)
    return apps.post("/authorize", json=body)


def test_the_script_defines_paidy_configure_and_launch(apps: httpx.Client) -> None:
    response = apps.get("/")
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "window.Paidy = { configure:" in response.text
    assert "Handler.prototype.launch" in response.text


def test_cors_preflight(apps: httpx.Client) -> None:
    response = apps.options("/authorize")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Content-Type" in response.headers["access-control-allow-headers"]


def test_approval_authorizes_and_the_callback_is_lower_case(apps: httpx.Client, control: httpx.Client) -> None:
    response = _approve(apps)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    callback = response.json()["callback"]
    assert set(callback) == {"id", "amount", "currency", "created_at", "status"}
    assert (callback["status"], callback["amount"], callback["currency"]) == ("authorized", 13824, "JPY")
    entry = ledger_entry(control, callback["id"])
    assert (entry["channel"], entry["payment"]["status"]) == ("checkout", "AUTHORIZED")


def test_the_documented_rejection_email_is_rejected(apps: httpx.Client) -> None:
    callback = _approve(apps, email="rejected.payment@paidy.com").json()["callback"]
    assert callback["status"] == "rejected"


def test_the_email_and_phone_typed_in_the_modal_win(apps: httpx.Client, control: httpx.Client) -> None:
    callback = _approve(apps, email="hanako@example.jp", phone="09011112222").json()["callback"]
    buyer = ledger_entry(control, callback["id"])["payment"]["buyer"]
    assert (buyer["email"], buyer["phone"], buyer["name1"]) == ("hanako@example.jp", "09011112222", "山田 太郎")


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"otp": "1234"}, 400, "認証コードが正しくありません。"),
        ({"api_key": "pk_test_unknown"}, 401, "加盟店の公開キーが正しくありません。"),
        (
            {"phone": "123"},
            400,
            "入力内容を確認してください。（buyer.phone: must be 10 or 11 half-width digits starting with 0）",
        ),
        ({"payload": payload(order=None)}, 400, "入力内容を確認してください。（order: is required）"),
    ],
)
def test_refusals_keep_the_modal_open_with_a_japanese_message(
    apps: httpx.Client, control: httpx.Client, overrides: dict[str, object], status: int, message: str
) -> None:
    response = _approve(apps, **overrides)
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert control.get("/ledger").json()["payments"] == []


def test_the_token_flow_creates_an_active_token_not_a_payment(apps: httpx.Client, control: httpx.Client) -> None:
    response = _approve(apps, token={"wallet_id": "default", "type": "recurring", "description": "定期便"})
    callback = response.json()["callback"]
    assert callback["id"].startswith("tok_")
    assert callback["status"] == "active"
    ledger = control.get("/ledger").json()
    assert ledger["payments"] == []
    assert [(t["id"], t["status"], t["description"]) for t in ledger["tokens"]] == [
        (callback["id"], "ACTIVE", "定期便")
    ]


def test_control_checkout_is_the_modal_without_a_browser(control: httpx.Client) -> None:
    answer = control.post("/checkout", json={"payload": payload()}).json()
    assert answer["callback"]["status"] == "authorized"
    assert answer["payment"]["order"]["order_ref"] == "A-1001"
    token_answer = control.post("/checkout", json={"payload": payload(), "token": True}).json()
    assert token_answer["token"]["status"] == "ACTIVE"
    assert control.post("/checkout", json={"payload": payload(), "nope": 1}).status_code == 400
