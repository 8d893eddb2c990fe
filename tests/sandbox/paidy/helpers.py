"""Request builders shared by the Paidy emulator tests."""

from __future__ import annotations

import copy
from typing import Any

import httpx

PAYLOAD: dict[str, Any] = {
    "amount": 13824,
    "currency": "JPY",
    "store_name": "Kessai テスト店",
    "buyer": {
        "name1": "山田 太郎",
        "name2": "ヤマダ タロウ",
        "email": "successful.payment@paidy.com",
        "phone": "08000000001",
    },
    "order": {
        "items": [
            {"id": "P-1", "title": "1人掛けソファ", "quantity": 1, "unit_price": 12800},
            {"id": "ship", "title": "送料", "quantity": 1, "unit_price": 1024},
        ],
        "order_ref": "A-1001",
    },
    "shipping_address": {"line1": "赤坂1-2-3", "city": "港区", "state": "東京都", "zip": "107-0052"},
}


def payload(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(PAYLOAD)
    body.update(overrides)
    return body


def token_body(token: str, **overrides: Any) -> dict[str, Any]:
    body = payload(**overrides)
    body.pop("buyer", None)
    body["token_id"] = token
    return body


def checkout(control: httpx.Client, **fields: Any) -> dict[str, Any]:
    """What the modal does: returns the payment object."""
    response = control.post("/checkout", json={"payload": payload(), **fields})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["payment"]
    return result


def ledger_entry(control: httpx.Client, payment_id: str) -> dict[str, Any]:
    entries = control.get("/ledger").json()["payments"]
    return next(e for e in entries if e["payment"]["id"] == payment_id)


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"reference", "status", "code", "title", "description"}
    assert body["status"] == response.status_code
    return response.status_code, body["code"], body["description"]
