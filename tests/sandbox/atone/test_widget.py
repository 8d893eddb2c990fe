"""The fake widget over HTTP: atone.js, the modal page and the modal's confirm/prefill endpoints."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY, AtoneSandbox
from kessai.sandbox.server import RunningServer

from .helpers import PHONE, create_body, error_codes, ledger_entry, payment, signed_payment, with_customer
from .receivers import WebhookReceiver, webhook_receiver


def confirm(api: httpx.Client, body: dict[str, Any], phone: str = PHONE, pre_token: str = "") -> httpx.Response:
    """What the modal's 「お支払いを確定する」 button sends."""
    return api.post(
        "/modal/api/confirm",
        json={"pub_key": DEFAULT_PUBLIC_KEY, "pre_token": pre_token, "phone_number": phone, "payment": body},
    )


def test_atone_js_is_served_with_the_api(api: httpx.Client, server: RunningServer) -> None:
    response = api.get("/atone.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    script = response.text
    for needle in (
        "window.Atone = {",
        "config: function (opts, ready)",
        "start: function ()",
        "merge: function (opts)",
    ):
        assert needle in script
    for callback in ('"authenticated"', '"succeeded"', '"failed"', '"cancelled"', '"error"'):
        assert callback in script
    assert f'"{server.url}/v1/"' in script
    assert "__ATONE_SANDBOX_BASE__" not in script


def test_modal_page_has_stable_test_ids(api: httpx.Client) -> None:
    response = api.get("/modal")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert re.search(
        r'<button[^>]*id="atone-confirm"[^>]*data-testid="atone-confirm"[^>]*>お支払いを確定する</button>', html
    )
    assert re.search(r'<button[^>]*id="atone-close"[^>]*data-testid="atone-close"[^>]*aria-label="閉じる"', html)
    assert 'data-testid="atone-phone"' in html
    assert 'data-testid="atone-result-close">閉じる</button>' in html
    assert "与信NG" in html


def test_confirm_authenticates_and_registers(api: httpx.Client, control: httpx.Client, sandbox: AtoneSandbox) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, payment(transaction_options=[1]))
    response = confirm(api, body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert re.fullmatch(r"tk_[A-Za-z0-9]{24}", data["authentication_token"])
    assert data["response"] == {"id": data["response"]["id"], "authorization_result": 1, "subtract_point": 0}
    entry = ledger_entry(control, data["response"]["id"])
    assert (entry["channel"], entry["state"]) == ("widget", "authorized")
    assert entry["transaction"]["authentication_token"] == data["authentication_token"]
    assert entry["transaction"]["customer"]["user_no"] == data["user_no"]
    # the token works server-side (recurring charges)
    again = api.post("/transactions", json=create_body(data["authentication_token"], shop_transaction_no="A-1002"))
    assert again.json()["authorization_result"] == 1


def test_checksum_over_every_key_is_accepted_too(api: httpx.Client) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, payment(transaction_options=[1]), include_all_keys=True)
    assert confirm(api, body).status_code == 200


def test_subtract_point_is_echoed(api: httpx.Client) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, payment(subtract_point=3))
    assert confirm(api, body).json()["response"]["subtract_point"] == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda: {**signed_payment(DEFAULT_SECRET_KEY, payment()), "amount": 1},
        lambda: signed_payment("another-secret-key-123", payment()),
        lambda: payment(),
        lambda: {**signed_payment(DEFAULT_SECRET_KEY, payment()), "checksum": 42},
    ],
    ids=["tampered", "wrong-key", "missing", "not-a-string"],
)
def test_bad_checksum_is_eatn0351(api: httpx.Client, control: httpx.Client, make: Any) -> None:
    response = confirm(api, make())
    assert response.status_code == 400
    assert response.json() == {
        "name": "InvalidRequest",
        "message": "不正なチェックサムです。",
        "errors": [{"code": "EATN0351", "messages": ["不正なチェックサムです。"], "params": ["checksum"]}],
    }
    assert control.get("/ledger").json()["transactions"] == []


def test_unknown_public_key_is_eatn0304(api: httpx.Client) -> None:
    response = api.post(
        "/modal/api/confirm",
        json={"pub_key": "nope", "phone_number": PHONE, "payment": signed_payment(DEFAULT_SECRET_KEY, payment())},
    )
    assert response.json()["errors"] == [
        {"code": "EATN0304", "messages": ["店舗公開可能鍵が存在しません。"], "params": ["shop_public_key"]}
    ]


def test_ng_outcome_shape(api: httpx.Client) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, with_customer(payment(), customer_name="NPテスト"))
    data = confirm(api, body).json()
    assert data["response"] == {
        "id": data["response"]["id"],
        "authorization_result": 2,
        "authorization_result_ng_reason": 9,
        "subtract_point": 0,
    }


def test_invalid_phone_is_eatn0305_and_nothing_happens(api: httpx.Client, control: httpx.Client) -> None:
    response = confirm(api, signed_payment(DEFAULT_SECRET_KEY, payment()), phone="03-1234-5678")
    assert response.json()["errors"] == [
        {"code": "EATN0305", "messages": ["携帯電話番号を正しく入力して下さい。"], "params": ["phone_number"]}
    ]
    assert control.get("/ledger").json()["transactions"] == []
    assert control.get("/webhooks").json()["deliveries"] == []


def test_field_rules_apply_to_the_widget(api: httpx.Client) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, payment(amount=0))
    assert error_codes(confirm(api, body)) == ["EATN0331"]


def test_duplicate_order_number_is_refused_in_the_widget(api: httpx.Client) -> None:
    body = signed_payment(DEFAULT_SECRET_KEY, payment())
    assert confirm(api, body).status_code == 200
    assert confirm(api, body).json()["errors"][0]["messages"] == ["加盟店取引IDが重複しています。"]


def test_same_phone_same_token_and_prefill(api: httpx.Client) -> None:
    first = confirm(api, signed_payment(DEFAULT_SECRET_KEY, payment(shop_transaction_no="W-1"))).json()
    second = confirm(
        api, signed_payment(DEFAULT_SECRET_KEY, payment(shop_transaction_no="W-2")), phone="０９０１２３４５６７８"
    ).json()
    assert second["authentication_token"] == first["authentication_token"]
    assert second["user_no"] == first["user_no"]
    other = confirm(api, signed_payment(DEFAULT_SECRET_KEY, payment(shop_transaction_no="W-3")), phone="080-0000-0000")
    assert other.json()["authentication_token"] != first["authentication_token"]
    prefill = api.post(
        "/modal/api/prefill", json={"pub_key": DEFAULT_PUBLIC_KEY, "pre_token": first["authentication_token"]}
    )
    assert prefill.json() == {"phone_number": "09012345678"}
    unknown = api.post("/modal/api/prefill", json={"pub_key": DEFAULT_PUBLIC_KEY, "pre_token": "tk_x"})
    assert unknown.json() == {"phone_number": None}
    wrong_store = api.post("/modal/api/prefill", json={"pub_key": "nope", "pre_token": first["authentication_token"]})
    assert wrong_store.json() == {"phone_number": None}


def test_confirm_fires_authentication_then_payment_webhooks(
    api: httpx.Client, control: httpx.Client, sandbox: AtoneSandbox
) -> None:
    receiver = WebhookReceiver()
    with webhook_receiver(receiver) as hooks:
        control.post(
            "/merchants",
            json={
                "public_key": DEFAULT_PUBLIC_KEY,
                "payment_webhook_url": hooks.url + "/payment",
                "authentication_webhook_url": hooks.url + "/authentication",
            },
        )
        data = confirm(api, signed_payment(DEFAULT_SECRET_KEY, payment())).json()
        assert sandbox.wait_for_webhooks(5)
    assert [(h.path, h.body.get("id") or h.body.get("authentication_token")) for h in receiver.received] == [
        ("/authentication", data["authentication_token"]),
        ("/payment", data["response"]["id"]),
    ]


def test_modal_endpoints_need_json(api: httpx.Client) -> None:
    assert error_codes(api.post("/modal/api/confirm", content=b"x", headers={"Content-Type": "text/plain"})) == [
        "EATN0352"
    ]
    assert error_codes(api.post("/modal/api/confirm", content=b"{", headers={"Content-Type": "application/json"})) == [
        "EATN0397"
    ]
    assert api.get("/modal/api/confirm").status_code == 405
    assert api.get("/nothing-here").status_code == 404
