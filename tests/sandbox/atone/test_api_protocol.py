"""HTTP-level rules of the REST API: Basic auth, Content-Type, JSON, method override, routing."""

from __future__ import annotations

import json

import httpx
import pytest

from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY
from kessai.sandbox.server import RunningServer

from .helpers import basic, create_body, error_codes, ledger_entry

AUTH_FAILED = {
    "name": "Unauthorized",
    "message": "認証に失敗しました。",
    "errors": [{"code": "EATN0306", "messages": ["認証に失敗しました。"], "params": ["Authorization"]}],
}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + "a25vd24tbm90",  # base64("known-not")
        basic("wrong-secret-key-00000"),
        basic(DEFAULT_PUBLIC_KEY),
        "Bearer " + DEFAULT_SECRET_KEY,
        "Basic !!!not-base64!!!",
        "Basic",
    ],
)
def test_authentication_failure_is_401_eatn0306(server: RunningServer, token: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(server.url + "/v1/transactions", json=create_body(token), headers=headers)
    assert response.status_code == 401
    assert response.json() == AUTH_FAILED


def test_secret_with_trailing_colon_is_accepted(server: RunningServer, token: str) -> None:
    headers = {"Authorization": basic(DEFAULT_SECRET_KEY, colon=True)}
    response = httpx.post(server.url + "/v1/transactions", json=create_body(token), headers=headers)
    assert response.status_code == 200
    assert response.json()["authorization_result"] == 1


def test_content_type_must_be_json(api: httpx.Client, token: str, control: httpx.Client) -> None:
    response = api.post(
        "/transactions",
        content=json.dumps(create_body(token)).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "name": "InvalidRequest",
        "message": "Content-Typeはapplication/jsonを設定して下さい。",
        "errors": [
            {
                "code": "EATN0352",
                "messages": ["Content-Typeはapplication/jsonを設定して下さい。"],
                "params": ["Content-Type"],
            }
        ],
    }
    assert control.get("/ledger").json()["transactions"] == []


def test_content_type_with_charset_is_json(api: httpx.Client, token: str) -> None:
    response = api.post(
        "/transactions",
        content=json.dumps(create_body(token)).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"{", b"", b"\xff\xfe", b'{"amount": 1,}'])
def test_malformed_json_is_eatn0397(api: httpx.Client, body: bytes) -> None:
    response = api.post("/transactions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "name": "InvalidRequest",
        "message": "JSONの形式が不正です。",
        "errors": [{"code": "EATN0397", "messages": ["JSONの形式が不正です。"], "params": []}],
    }


def test_a_json_array_is_a_bad_request(api: httpx.Client) -> None:
    response = api.post("/transactions", json=[1, 2])
    assert response.status_code == 400
    assert error_codes(response) == ["EATN0398"]


def test_method_override_get_with_id_in_body(api: httpx.Client, token: str) -> None:
    created = api.post("/transactions", json=create_body(token)).json()
    response = api.post("/transactions", json={"id": created["id"]}, headers={"X-HTTP-Method-Override": "GET"})
    assert response.status_code == 200
    assert response.json() == created


def test_method_override_get_on_the_item_path(api: httpx.Client, token: str) -> None:
    created = api.post("/transactions", json=create_body(token)).json()
    response = api.post(f"/transactions/{created['id']}", headers={"X-HTTP-Method-Override": "get"})
    assert response.json() == created


def test_method_override_get_without_id_is_refused(api: httpx.Client) -> None:
    response = api.post("/transactions", json={}, headers={"X-HTTP-Method-Override": "GET"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"code": "EATN0398", "messages": ["取引IDを設定して下さい。"], "params": ["id"]}
    ]


def test_method_override_patch_settles_and_refunds(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    override = {"X-HTTP-Method-Override": "PATCH"}
    settled = api.post(f"/transactions/{tx_id}/settle", json={"id": tx_id}, headers=override)
    assert settled.status_code == 200
    assert settled.json()["sales_settled_datetime"] is not None
    cancelled = api.post(f"/transactions/{tx_id}/refund", json={"id": tx_id}, headers=override)
    assert cancelled.json()["amount_refund_total"] == 13824
    assert ledger_entry(control, tx_id)["movements"] == {"create": 1, "settle": 1, "refund": 0, "cancel": 1}
    methods = [(r["method"], r["path"], r["status"]) for r in control.get("/requests").json()["requests"]]
    assert methods == [
        ("POST", "/v1/transactions", 200),
        ("PATCH", f"/v1/transactions/{tx_id}/settle", 200),
        ("PATCH", f"/v1/transactions/{tx_id}/refund", 200),
    ]


def test_an_unknown_override_is_refused(api: httpx.Client) -> None:
    response = api.post("/transactions", json={}, headers={"X-HTTP-Method-Override": "DELETE"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["params"] == ["X-HTTP-Method-Override"]


def test_real_verbs_work_and_an_empty_patch_body_needs_no_content_type(api: httpx.Client, token: str) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    assert api.get(f"/transactions/{tx_id}").json()["id"] == tx_id
    assert api.patch(f"/transactions/{tx_id}/settle").status_code == 200


def test_unknown_transaction_is_404(api: httpx.Client) -> None:
    response = api.get("/transactions/tr_0000000000000000")
    assert response.status_code == 404
    assert response.json() == {
        "name": "NotFound",
        "message": "指定された取引が存在しません。",
        "errors": [{"code": "EATN0398", "messages": ["指定された取引が存在しません。"], "params": ["id"]}],
    }


def test_unknown_path_and_wrong_method(api: httpx.Client) -> None:
    assert api.get("/transactions/tr_0000000000000000/nothing").status_code == 404
    assert api.delete("/transactions/tr_0000000000000000").status_code == 405
    listing = api.get("/transactions")
    assert listing.status_code == 400  # no list endpoint: a GET on the collection needs {"id"}
    assert listing.json()["errors"][0]["params"] == ["id"]


def test_terminal_id_header_is_recorded(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token), headers={"X-NP-Terminal-Id": "4000000400"}).json()["id"]
    assert ledger_entry(control, tx_id)["terminal_id"] == "4000000400"


def test_index_and_unknown_root_paths(server: RunningServer) -> None:
    index = httpx.get(server.url + "/").json()
    assert index == {
        "service": "atone sandbox (Kessai)",
        "api_base_url": server.url + "/v1/",
        "widget_url": server.url + "/v1/atone.js",
        "control_url": server.url + "/_sandbox",
    }
    assert httpx.get(server.url + "/v2/transactions").status_code == 404
