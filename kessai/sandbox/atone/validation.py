"""Field rules of the ``payment`` object (protocol note §3.2) and the server-side create fields (§4.1).

Every broken rule is collected, so one answer lists all field errors (``errors`` has one entry per
code and parameter). ``params`` holds the plain field name, as in the provider's example.

Inferred, not documented (see docs/sandbox-atone.md):
- Σ item_price × item_count must equal ``amount`` (EATN0398);
- destination fields reuse the customer codes (dest_zip_code → EATN0346, …);
- 全角 is not enforced for names: atone's own go-live check uses the name 「NPテスト」 with half-width "NP".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.errors import AtoneError, Code, ErrorDetail, detail
from kessai.sandbox.atone.ids import TOKEN_RE, TRANSACTION_ID_RE

MAX_AMOUNT = 9_999_999
MAX_ITEM_PRICE = 999_999
MAX_ITEM_COUNT = 99_999
MAX_ITEMS = 9999
MAX_DEST_CUSTOMERS = 9
MAX_SUBTRACT_POINT = 9_999_999
KNOWN_TRANSACTION_OPTIONS = frozenset({1, 2, 3})

INTEGER_RE = re.compile(r"^-?[0-9]+$")
ASCII_VISIBLE_RE = re.compile(r"^[\x21-\x7e]+$")
ZIP_RE = re.compile(r"^(?:[0-9]{7}|[0-9]{3}-[0-9]{4})$")
MOBILE_RE = re.compile(r"^0[789]0-?[0-9]{4}-?[0-9]{4}$")
TEL_PLAIN_RE = re.compile(r"^0[0-9]{9,10}$")
TEL_HYPHEN_RE = re.compile(r"^0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BIRTHDAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NEWLINES = frozenset("\r\n")


def parse_int(value: Any, minimum: int, maximum: int) -> int | None:
    """An ``int`` (never a bool) or a string of half-width digits within [minimum, maximum]."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and INTEGER_RE.match(value):
        number = int(value)
    else:
        return None
    return number if minimum <= number <= maximum else None


def has_control_chars(text: str, allow_newlines: bool = False) -> bool:
    return any(unicodedata.category(c) == "Cc" and not (allow_newlines and c in NEWLINES) for c in text)


def valid_text(value: Any, max_length: int, ascii_only: bool = False, allow_newlines: bool = False) -> bool:
    if not isinstance(value, str) or not value or len(value) > max_length:
        return False
    if ascii_only:
        return bool(ASCII_VISIBLE_RE.match(value))
    return not has_control_chars(value, allow_newlines)


def valid_tel(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if TEL_PLAIN_RE.match(value):
        return True
    return bool(TEL_HYPHEN_RE.match(value)) and len(value.replace("-", "")) in (10, 11)


def valid_mobile(value: Any) -> bool:
    return isinstance(value, str) and bool(MOBILE_RE.match(value))


def valid_birthday(value: Any) -> bool:
    if not isinstance(value, str) or not BIRTHDAY_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_bool(value: Any) -> bool | None:
    """``sales_settled``: the JSON boolean or the strings "true"/"false" (both seen in plugins)."""
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    return None


@dataclass(frozen=True)
class TextRule:
    code: Code
    max_length: int
    required: bool = False


CUSTOMER_TEXT_RULES: dict[str, TextRule] = {
    "customer_name": TextRule(Code.CUSTOMER_NAME, 100, required=True),
    "customer_family_name": TextRule(Code.FAMILY_NAME, 50),
    "customer_given_name": TextRule(Code.GIVEN_NAME, 50),
    "customer_name_kana": TextRule(Code.CUSTOMER_NAME_KANA, 128),
    "customer_family_name_kana": TextRule(Code.FAMILY_NAME_KANA, 64),
    "customer_given_name_kana": TextRule(Code.GIVEN_NAME_KANA, 64),
    "company_name": TextRule(Code.COMPANY_NAME, 100),
    "department": TextRule(Code.DEPARTMENT, 30),
    "address": TextRule(Code.ADDRESS, 255),
}
DEST_TEXT_RULES: dict[str, TextRule] = {
    "dest_customer_name": TextRule(Code.CUSTOMER_NAME, 100, required=True),
    "dest_customer_name_kana": TextRule(Code.CUSTOMER_NAME_KANA, 128),
    "dest_company_name": TextRule(Code.COMPANY_NAME, 100),
    "dest_department": TextRule(Code.DEPARTMENT, 30),
    "dest_address": TextRule(Code.ADDRESS, 255, required=True),
}
CUSTOMER_FIELDS = (
    *CUSTOMER_TEXT_RULES,
    "phone_number",
    "birthday",
    "sex_division",
    "zip_code",
    "tel",
    "email",
    "total_purchase_count",
    "total_purchase_amount",
)
DEST_FIELDS = (*DEST_TEXT_RULES, "dest_zip_code", "dest_tel")


@dataclass(frozen=True)
class PaymentData:
    """A validated payment, normalised (amounts as ``int``, ``sales_settled`` as ``bool``)."""

    amount: int
    shop_transaction_no: str
    sales_settled: bool
    description_trans: str | None
    subtract_point: int | None
    transaction_options: tuple[int, ...] | None
    customer: dict[str, Any]
    dest_customers: list[dict[str, Any]]
    items: list[dict[str, Any]]


class _Collector:
    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, code: Code, param: str, message: str | None = None) -> None:
        found = detail(code, param, message)
        if found not in self.details:
            self.details.append(found)


def _present(payload: dict[str, Any], key: str) -> bool:
    return payload.get(key) is not None


def _check_text(out: _Collector, source: dict[str, Any], key: str, rule: TextRule, target: dict[str, Any]) -> None:
    if not _present(source, key):
        if rule.required:
            out.add(rule.code, key)
        return
    if valid_text(source[key], rule.max_length):
        target[key] = source[key]
    else:
        out.add(rule.code, key)


def _validate_customer(out: _Collector, raw: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {}
    if not isinstance(raw, dict):
        out.add(Code.CUSTOMER_NAME, "customer_name")
        return customer
    for key, rule in CUSTOMER_TEXT_RULES.items():
        _check_text(out, raw, key, rule, customer)
    checks: list[tuple[str, Code, bool]] = [
        ("phone_number", Code.PHONE_NUMBER, valid_mobile(raw.get("phone_number"))),
        ("birthday", Code.BIRTHDAY, valid_birthday(raw.get("birthday"))),
        ("sex_division", Code.SEX_DIVISION_OR_CONTRACT, raw.get("sex_division") in ("1", "2", 1, 2)),
        (
            "zip_code",
            Code.ZIP_CODE,
            isinstance(raw.get("zip_code"), str) and bool(ZIP_RE.match(raw["zip_code"])),
        ),
        ("tel", Code.TEL, valid_tel(raw.get("tel"))),
        ("email", Code.EMAIL, valid_text(raw.get("email"), 255) and bool(EMAIL_RE.match(raw["email"]))),
    ]
    for key, code, ok in checks:
        if not _present(raw, key):
            continue
        if ok:
            customer[key] = str(raw[key])
        else:
            out.add(code, key)
    for key, code, maximum in (
        ("total_purchase_count", Code.TOTAL_PURCHASE_COUNT, 9_999_999),
        ("total_purchase_amount", Code.TOTAL_PURCHASE_AMOUNT, 99_999_999),
    ):
        if not _present(raw, key):
            continue
        number = parse_int(raw[key], 0, maximum)
        if number is None:
            out.add(code, key)
        else:
            customer[key] = number
    return customer


def _validate_dest_customers(out: _Collector, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        out.add(Code.BAD_REQUEST, "dest_customers")
        return []
    if len(raw) > MAX_DEST_CUSTOMERS:
        out.add(Code.DEST_CUSTOMERS_TOO_MANY, "dest_customers")
        return []
    result: list[dict[str, Any]] = []
    for source in raw:
        dest: dict[str, Any] = {}
        for key, rule in DEST_TEXT_RULES.items():
            _check_text(out, source, key, rule, dest)
        zip_code = source.get("dest_zip_code")
        if isinstance(zip_code, str) and ZIP_RE.match(zip_code):
            dest["dest_zip_code"] = zip_code
        else:
            out.add(Code.ZIP_CODE, "dest_zip_code")
        if _present(source, "dest_tel"):
            if valid_tel(source["dest_tel"]):
                dest["dest_tel"] = source["dest_tel"]
            else:
                out.add(Code.TEL, "dest_tel")
        result.append(dest)
    return result


def _validate_items(out: _Collector, raw: Any) -> list[dict[str, Any]] | None:
    """The items, or None when any item is invalid (the amount sum is then not checked)."""
    if not isinstance(raw, list) or not raw:
        out.add(Code.ITEMS_EMPTY, "items")
        return None
    if len(raw) > MAX_ITEMS:
        out.add(Code.ITEMS_TOO_MANY, "items")
        return None
    before = len(out.details)
    items: list[dict[str, Any]] = []
    for source in raw:
        if not isinstance(source, dict):
            out.add(Code.BAD_REQUEST, "items")
            continue
        item: dict[str, Any] = {}
        if valid_text(source.get("shop_item_id"), 100, ascii_only=True):
            item["shop_item_id"] = source["shop_item_id"]
        else:
            out.add(Code.SHOP_ITEM_ID, "shop_item_id")
        if valid_text(source.get("item_name"), 100):
            item["item_name"] = source["item_name"]
        else:
            out.add(Code.ITEM_NAME, "item_name")
        price = parse_int(source.get("item_price"), -MAX_ITEM_PRICE, MAX_ITEM_PRICE)
        if price is None:
            out.add(Code.ITEM_PRICE, "item_price")
        item["item_price"] = price
        count = parse_int(source.get("item_count"), 1, MAX_ITEM_COUNT)
        if count is None:
            out.add(Code.ITEM_COUNT, "item_count")
        item["item_count"] = count
        url = source.get("item_url")
        if url is not None and not valid_text(url, 1000):
            out.add(Code.ITEM_URL, "item_url")
        item["item_url"] = url
        items.append(item)
    return items if len(out.details) == before else None


def validate_payment(body: dict[str, Any]) -> PaymentData:
    """Apply every §3.2 rule; raise one :class:`AtoneError` listing all broken rules."""
    out = _Collector()
    amount = parse_int(body.get("amount"), 1, MAX_AMOUNT)
    if amount is None:
        out.add(Code.AMOUNT, "amount")
    shop_transaction_no = body.get("shop_transaction_no")
    if not valid_text(shop_transaction_no, 100, ascii_only=True):
        out.add(Code.SHOP_TRANSACTION_NO, "shop_transaction_no")
    sales_settled = parse_bool(body["sales_settled"]) if _present(body, "sales_settled") else False
    if sales_settled is None:
        out.add(Code.SALES_SETTLED, "sales_settled")
    description = body.get("description_trans")
    if description is not None and not (
        isinstance(description, str)
        and len(description) <= 255
        and not has_control_chars(description, allow_newlines=True)
    ):
        out.add(Code.DESCRIPTION_TRANS, "description_trans")
    subtract_point = None
    if _present(body, "subtract_point"):
        subtract_point = parse_int(body["subtract_point"], 0, MAX_SUBTRACT_POINT)
        if subtract_point is None:
            out.add(Code.SUBTRACT_POINT, "subtract_point")
    options = _validate_transaction_options(out, body.get("transaction_options"))
    customer = _validate_customer(out, body.get("customer"))
    dest_customers = _validate_dest_customers(out, body.get("dest_customers"))
    items = _validate_items(out, body.get("items"))
    if amount is not None and items is not None:
        total = sum(int(i["item_price"]) * int(i["item_count"]) for i in items)
        if total != amount:
            out.add(Code.BAD_REQUEST, "amount", errors.AMOUNT_MISMATCH)
    if out.details:
        raise AtoneError(details=out.details)
    if amount is None or items is None or sales_settled is None:  # narrowed: every None was reported
        raise AtoneError(details=[detail(Code.BAD_REQUEST)])
    return PaymentData(
        amount=amount,
        shop_transaction_no=str(shop_transaction_no),
        sales_settled=sales_settled,
        description_trans=description,
        subtract_point=subtract_point,
        transaction_options=options,
        customer=customer,
        dest_customers=dest_customers,
        items=items,
    )


def _validate_transaction_options(out: _Collector, raw: Any) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in raw)
        or not set(raw) <= KNOWN_TRANSACTION_OPTIONS
    ):
        out.add(Code.BAD_REQUEST, "transaction_options", errors.TRANSACTION_OPTIONS_INVALID)
        return None
    return tuple(raw)


@dataclass(frozen=True)
class ServerSideFields:
    authentication_token: str
    updated_transactions: tuple[str, ...]
    related_transaction: str | None


def validate_server_side(body: dict[str, Any]) -> ServerSideFields:
    """``authentication_token`` (EATN0301/0302), ``updated_transactions``, ``related_transaction``."""
    token = body.get("authentication_token")
    if token is None or token == "":
        raise errors.fail(Code.TOKEN_MISSING, "authentication_token")
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise errors.fail(Code.TOKEN_MALFORMED, "authentication_token")
    updated = body.get("updated_transactions")
    if updated is None:
        updated = []
    if not isinstance(updated, list) or not all(isinstance(t, str) and TRANSACTION_ID_RE.match(t) for t in updated):
        raise errors.fail(Code.BAD_REQUEST, "updated_transactions", errors.UPDATED_TRANSACTIONS_INVALID)
    related = body.get("related_transaction")
    if related is not None and not (isinstance(related, str) and TRANSACTION_ID_RE.match(related)):
        raise errors.fail(Code.BAD_REQUEST, "related_transaction", errors.RELATED_TRANSACTION_INVALID)
    return ServerSideFields(
        authentication_token=token,
        updated_transactions=tuple(dict.fromkeys(updated)),
        related_transaction=related,
    )
