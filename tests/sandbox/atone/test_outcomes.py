"""Test-environment credit outcomes (Kessai decision 3)."""

from __future__ import annotations

import httpx
import pytest

from kessai.sandbox.atone import AtoneSandboxConfig

from .helpers import create_body, ledger_entry, with_customer


@pytest.mark.parametrize("name", ["NPテスト", "NPテスト 太郎", "ＮＰテスト", "株式会社NPテスト商事"])
def test_np_test_name_is_ng_reason_9(api: httpx.Client, token: str, control: httpx.Client, name: str) -> None:
    tx = api.post("/transactions", json=with_customer(create_body(token), customer_name=name)).json()
    assert (tx["authorization_result"], tx["authorization_result_ng_reason"]) == (2, 9)
    assert tx["id"].startswith("tr_")
    entry = ledger_entry(control, tx["id"])
    assert (entry["state"], entry["movements"]["create"]) == ("declined", 1)


def test_ng_with_sales_settled_is_not_captured(api: httpx.Client, token: str, control: httpx.Client) -> None:
    body = with_customer(create_body(token, sales_settled=True), customer_name="NPテスト")
    tx = api.post("/transactions", json=body).json()
    assert tx["sales_settled_datetime"] is None
    assert ledger_entry(control, tx["id"])["movements"]["settle"] == 0


def test_ng_cannot_be_settled_or_cancelled(api: httpx.Client, token: str) -> None:
    tx_id = api.post("/transactions", json=with_customer(create_body(token), customer_name="NPテスト")).json()["id"]
    settle = api.patch(f"/transactions/{tx_id}/settle").json()["errors"]
    assert [(e["code"], e["messages"]) for e in settle] == [("EATN0398", ["与信NGの取引は売上確定できません。"])]
    cancel = api.patch(f"/transactions/{tx_id}/refund").json()["errors"]
    assert [(e["code"], e["messages"]) for e in cancel] == [("EATN0398", ["与信NGの取引は取消・払戻できません。"])]


def test_amount_over_the_default_limit_is_ng_reason_1(api: httpx.Client, token: str) -> None:
    at_limit = api.post("/transactions", json=create_body(token, amount=50_000, shop_transaction_no="L-1")).json()
    over = api.post("/transactions", json=create_body(token, amount=50_001, shop_transaction_no="L-2")).json()
    assert (at_limit["authorization_result"], at_limit["authorization_result_ng_reason"]) == (1, None)
    assert (over["authorization_result"], over["authorization_result_ng_reason"]) == (2, 1)


def test_name_marker_wins_over_the_amount(api: httpx.Client, token: str) -> None:
    body = with_customer(create_body(token, amount=99_999), customer_name="NPテスト")
    assert api.post("/transactions", json=body).json()["authorization_result_ng_reason"] == 9


def test_buyer_limit_set_through_the_control_endpoint(api: httpx.Client, token: str, control: httpx.Client) -> None:
    assert control.post("/settings", json={"buyer_limit": 30_000}).json()["buyer_limit"] == 30_000
    tx = api.post("/transactions", json=create_body(token, amount=30_001)).json()
    assert tx["authorization_result_ng_reason"] == 1


@pytest.mark.parametrize("sandbox_config", [AtoneSandboxConfig(buyer_limit=100_000)])
def test_buyer_limit_from_the_config(api: httpx.Client, token: str) -> None:
    assert api.post("/transactions", json=create_body(token, amount=99_999)).json()["authorization_result"] == 1
