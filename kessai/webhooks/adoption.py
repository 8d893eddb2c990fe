"""What a provider's confirmed transaction says of the order, for adopting a transaction the hub never
recorded (the buyer's browser did not come back): lines, buyer and destinations in the hub's order shape.

Read from the provider's own transaction data (``TransactionSnapshot.raw``) with the provider package's
parsers where it has them; anything unreadable is left out (the service balances the lines to the
transaction's amount and flags the payment 要確認 anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kessai.common.text import normalize
from kessai.providers.atone.api_types import MalformedResponse, Transaction
from kessai.providers.base import TransactionSnapshot

OrderFields = dict[str, Any]


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return normalize(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def atone_order(raw: Mapping[str, Any]) -> OrderFields:
    """The atone transaction object (protocol note §4.5): ``items``, ``customer``, ``dest_customers``."""
    try:
        tx = Transaction.parse(raw)
    except MalformedResponse:
        return {}
    items = [
        {"sku": i.shop_item_id, "name": normalize(i.item_name), "unit_price": i.item_price, "quantity": i.item_count}
        for i in tx.items
        if i.item_count > 0
    ]
    customer_raw = raw.get("customer")
    customer_data: Mapping[str, Any] = customer_raw if isinstance(customer_raw, Mapping) else {}
    customer = {
        "name": normalize(tx.customer.customer_name),
        "name_kana": _text(customer_data, "customer_name_kana"),
        "email": _text(customer_data, "email"),
        "phone": _text(customer_data, "phone_number") or _text(customer_data, "tel"),
        "zip_code": _text(customer_data, "zip_code"),
        "address": _text(customer_data, "address"),
        "company": _text(customer_data, "company_name"),
    }
    destinations = [
        {
            "name": _text(d, "dest_customer_name"),
            "name_kana": _text(d, "dest_customer_name_kana"),
            "zip_code": _text(d, "dest_zip_code"),
            "address": _text(d, "dest_address"),
            "phone": _text(d, "dest_tel"),
            "company": _text(d, "dest_company_name"),
        }
        for d in (raw.get("dest_customers") or [])
        if isinstance(d, Mapping)
    ]
    return {"items": items, "customer": customer, "destinations": destinations}


READERS: dict[str, Callable[[Mapping[str, Any]], OrderFields]] = {
    "atone": atone_order,
}


def order_fields(provider: str, snapshot: TransactionSnapshot) -> OrderFields:
    reader = READERS.get(provider)
    return reader(snapshot.raw) if reader is not None else {}
