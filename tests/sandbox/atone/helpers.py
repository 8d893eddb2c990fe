"""Request builders and small HTTP helpers shared by the atone emulator tests."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx

from kessai.sandbox.atone.checksum import compute_checksum

PHONE = "090-1234-5678"


def basic(secret: str, colon: bool = False) -> str:
    raw = secret + (":" if colon else "")
    return "Basic " + base64.b64encode(raw.encode()).decode()


BASE_PAYMENT: dict[str, Any] = {
    "amount": 13824,
    "shop_transaction_no": "A-1001",
    "sales_settled": False,
    "description_trans": "ギフト包装あり",
    "customer": {
        "customer_name": "山田 太郎",
        "customer_family_name": "山田",
        "customer_given_name": "太郎",
        "customer_name_kana": "ヤマダ タロウ",
        "phone_number": "090-1234-5678",
        "zip_code": "107-0052",
        "address": "東京都港区赤坂1-2-3",
        "email": "taro@example.jp",
        "tel": "03-1234-5678",
    },
    "dest_customers": [
        {"dest_customer_name": "山田 花子", "dest_zip_code": "107-0052", "dest_address": "東京都港区赤坂1-2-3"}
    ],
    "items": [
        {"shop_item_id": "P-1", "item_name": "1人掛けソファ", "item_price": 12800, "item_count": 1},
        {"shop_item_id": "ship", "item_name": "送料", "item_price": 1024, "item_count": 1},
    ],
}


def payment(amount: int | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid payment; ``amount`` also rewrites the items so that Σ price × count still matches."""
    body = copy.deepcopy(BASE_PAYMENT)
    if amount is not None:
        body["amount"] = amount
        body["items"] = [{"shop_item_id": "P-1", "item_name": "商品", "item_price": amount, "item_count": 1}]
    body.update(overrides)
    return body


def with_customer(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body["customer"] = {**body["customer"], **fields}
    return body


def create_body(token: str, amount: int | None = None, **overrides: Any) -> dict[str, Any]:
    return {**payment(amount, **overrides), "authentication_token": token}


def signed_payment(secret: str, body: dict[str, Any], include_all_keys: bool = False) -> dict[str, Any]:
    """Add ``checksum`` the way the working plugins do (without shop_transaction_no and
    transaction_options), or over every key when ``include_all_keys``."""
    hashed = (
        dict(body)
        if include_all_keys
        else {k: v for k, v in body.items() if k not in ("shop_transaction_no", "transaction_options")}
    )
    return {**body, "checksum": compute_checksum(hashed, secret)}


def error_codes(response: httpx.Response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def ledger_entry(control: httpx.Client, transaction_id: str) -> dict[str, Any]:
    entries = control.get("/ledger").json()["transactions"]
    return next(e for e in entries if e["transaction"]["id"] == transaction_id)
