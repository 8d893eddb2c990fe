"""Request validation (note §2.2–2.3). Every problem is collected; the answer is one
``request_content.malformed`` whose ``description`` lists them, each starting with the wire path
(``order.items[0].quantity: must be a positive integer``).

Rules from the note: ``amount`` (a positive integer), ``currency: "JPY"``, ``store_name``, ``order`` required
(without it: ``request_content.malformed`` [C S10b]), items ``quantity`` and ``unit_price`` (negative = a
discount), ``shipping_address`` = ``zip`` "NNN-NNNN" plus at least one other field, ``metadata`` ≤ 20 keys,
``buyer{name1, email, phone}`` for Checkout, ``token_id`` instead of buyer info for ``POST /payments``.
Kessai's stricter choices ([I]): phone numbers are 10–11 half-width digits; string fields must be strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from kessai.sandbox.paidy.errors import malformed

MAX_METADATA_KEYS = 20
MAX_AMOUNT = 99_999_999
ZIP_RE = re.compile(r"[0-9]{3}-[0-9]{4}")
PHONE_RE = re.compile(r"0[0-9]{9,10}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ADDRESS_FIELDS = ("line1", "line2", "city", "state")
SUSPEND_REASONS = frozenset({"consumer.requested", "merchant.requested", "fraud.detected", "general"})
DELETE_REASONS = SUSPEND_REASONS | {"subscription.expired"}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PaymentData:
    amount: int
    store_name: str
    description: str | None
    buyer: dict[str, Any]
    buyer_data: dict[str, Any] | None
    order: dict[str, Any]
    shipping_address: dict[str, Any] | None
    metadata: dict[str, Any]
    token_id: str | None


def _optional_str(body: dict[str, Any], key: str, path: str, problems: list[str]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{path}: must be a string")
        return None
    return value


def _metadata(value: Any, path: str, problems: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{path}: must be an object")
        return {}
    if len(value) > MAX_METADATA_KEYS:
        problems.append(f"{path}: at most {MAX_METADATA_KEYS} keys")
    return dict(value)


def _buyer(value: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append("buyer: is required")
        return {}
    name1 = value.get("name1")
    if not isinstance(name1, str) or not name1.strip():
        problems.append("buyer.name1: is required")
    name2 = _optional_str(value, "name2", "buyer.name2", problems)
    email = value.get("email")
    if not isinstance(email, str) or not EMAIL_RE.fullmatch(email.strip()):
        problems.append("buyer.email: must be a valid e-mail address")
    phone = value.get("phone")
    if not isinstance(phone, str) or not PHONE_RE.fullmatch(phone.strip()):
        problems.append("buyer.phone: must be 10 or 11 half-width digits starting with 0")
    _optional_str(value, "dob", "buyer.dob", problems)
    buyer = {k: v for k, v in value.items() if k in ("name1", "name2", "email", "phone", "dob")}
    if name2 is None:
        buyer.pop("name2", None)
    return buyer


def _order(value: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append("order: is required")
        return {}
    items = value.get("items")
    cleaned: list[dict[str, Any]] = []
    if not isinstance(items, list) or not items:
        problems.append("order.items: must be a non-empty array")
    else:
        for index, item in enumerate(items):
            path = f"order.items[{index}]"
            if not isinstance(item, dict):
                problems.append(f"{path}: must be an object")
                continue
            quantity = item.get("quantity")
            if not _is_int(quantity) or quantity < 1:
                problems.append(f"{path}.quantity: must be a positive integer")
            if not _is_int(item.get("unit_price")):
                problems.append(f"{path}.unit_price: must be an integer")
            for key in ("id", "title", "description"):
                _optional_str(item, key, f"{path}.{key}", problems)
            cleaned.append({k: item[k] for k in ("id", "title", "description", "quantity", "unit_price") if k in item})
    for key in ("tax", "shipping"):
        amount = value.get(key)
        if amount is not None and (not _is_int(amount) or amount < 0):
            problems.append(f"order.{key}: must be a non-negative integer")
    _optional_str(value, "order_ref", "order.order_ref", problems)
    order: dict[str, Any] = {"items": cleaned}
    for key in ("tax", "shipping", "order_ref"):
        if value.get(key) is not None:
            order[key] = value[key]
    return order


def _shipping_address(value: Any, problems: list[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("shipping_address: must be an object")
        return None
    zip_code = value.get("zip")
    if not isinstance(zip_code, str) or not ZIP_RE.fullmatch(zip_code):
        problems.append('shipping_address.zip: must be "NNN-NNNN"')
    for key in ADDRESS_FIELDS:
        _optional_str(value, key, f"shipping_address.{key}", problems)
    if not any(isinstance(value.get(k), str) and value[k].strip() for k in ADDRESS_FIELDS):
        problems.append("shipping_address: zip and at least one of line1, line2, city, state are required")
    return {k: value.get(k) for k in (*ADDRESS_FIELDS, "zip")}


def validate_payment(body: dict[str, Any], *, checkout: bool) -> PaymentData:
    """The Checkout payload (``checkout=True``: buyer required) or a ``POST /payments`` body (token_id)."""
    problems: list[str] = []
    amount = body.get("amount")
    if not _is_int(amount) or not 1 <= amount <= MAX_AMOUNT:
        problems.append("amount: must be a positive integer")
        amount = 0
    if body.get("currency") != "JPY":
        problems.append('currency: must be "JPY"')
    store_name = body.get("store_name")
    if not isinstance(store_name, str) or not store_name.strip():
        problems.append("store_name: is required")
    description = _optional_str(body, "description", "description", problems)
    token_id: str | None = None
    buyer: dict[str, Any] = {}
    if checkout:
        buyer = _buyer(body.get("buyer"), problems)
    else:
        raw_token = body.get("token_id")
        if not isinstance(raw_token, str) or not raw_token.startswith("tok_"):
            problems.append("token_id: is required (a tok_… id: server-side payments need a recurring token)")
        else:
            token_id = raw_token
    buyer_data = body.get("buyer_data")
    if buyer_data is not None and not isinstance(buyer_data, dict):
        problems.append("buyer_data: must be an object")
        buyer_data = None
    order = _order(body.get("order"), problems)
    address = _shipping_address(body.get("shipping_address"), problems)
    metadata = _metadata(body.get("metadata"), "metadata", problems)
    if problems:
        raise malformed(*problems)
    return PaymentData(
        amount=amount,
        store_name=str(store_name),
        description=description,
        buyer=buyer,
        buyer_data=buyer_data,
        order=order,
        shipping_address=address,
        metadata=metadata,
        token_id=token_id,
    )


def validate_capture(body: dict[str, Any]) -> dict[str, Any]:
    """``{metadata?}`` — an ``amount`` is refused: captures are always the full amount [C]."""
    problems: list[str] = []
    if "amount" in body:
        problems.append("amount: captures take no amount (always the full amount)")
    metadata = _metadata(body.get("metadata"), "metadata", problems)
    if problems:
        raise malformed(*problems)
    return metadata


@dataclass(frozen=True)
class RefundData:
    capture_id: str
    amount: int | None
    reason: str | None
    metadata: dict[str, Any]


def validate_refund(body: dict[str, Any]) -> RefundData:
    """``{capture_id (required), amount? (omitted = full), reason?, metadata?}``."""
    problems: list[str] = []
    capture_id = body.get("capture_id")
    if not isinstance(capture_id, str) or not capture_id:
        problems.append("capture_id: is required")
    amount = body.get("amount")
    if amount is not None and (not _is_int(amount) or amount < 1):
        problems.append("amount: must be a positive integer")
    reason = _optional_str(body, "reason", "reason", problems)
    metadata = _metadata(body.get("metadata"), "metadata", problems)
    if problems:
        raise malformed(*problems)
    return RefundData(capture_id=str(capture_id), amount=amount, reason=reason, metadata=metadata)


def validate_update(body: dict[str, Any]) -> dict[str, Any]:
    """``{order_ref?, description?, metadata?}``; other fields are ignored [C]."""
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for key in ("order_ref", "description"):
        value = _optional_str(body, key, key, problems)
        if value is not None:
            changes[key] = value
    if "metadata" in body:
        changes["metadata"] = _metadata(body.get("metadata"), "metadata", problems)
    if problems:
        raise malformed(*problems)
    return changes


@dataclass(frozen=True)
class TokenAction:
    wallet_id: str | None
    reason_code: str
    reason_description: str


def validate_token_action(body: dict[str, Any], verb: str) -> TokenAction:
    """``{wallet_id?, reason{code, description (non-empty)}}`` [C]."""
    problems: list[str] = []
    wallet_id = _optional_str(body, "wallet_id", "wallet_id", problems)
    reason = body.get("reason")
    allowed = DELETE_REASONS if verb == "delete" else SUSPEND_REASONS
    code = ""
    description = ""
    if not isinstance(reason, dict):
        problems.append("reason: is required")
    else:
        raw_code = reason.get("code")
        code = raw_code if isinstance(raw_code, str) else ""
        if code not in allowed:
            problems.append(f"reason.code: must be one of {', '.join(sorted(allowed))}")
        raw_description = reason.get("description")
        if not isinstance(raw_description, str) or not raw_description.strip():
            problems.append("reason.description: must not be empty")
        else:
            description = raw_description
    if problems:
        raise malformed(*problems)
    return TokenAction(wallet_id=wallet_id, reason_code=code, reason_description=description)
