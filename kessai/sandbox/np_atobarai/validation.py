"""Field validation of request items (protocol note §1.3, §1.5), returning NP's codes.

Each function returns the list of codes for one item (empty = valid), in field order. Limits [C S1]: name
≤21 full-width characters, kana ≤25, company/department ≤30, address ≤55, e-mail ≤100 ASCII; zip
``1070052`` / ``107-0052``; tel 11 digits when it starts 020/050/060/070/080/090, else 10.

"Prohibited characters" [I: the note names the codes, not the rule]: control characters, characters
outside the BMP (emoji) and half-width katakana. The zip/address match cannot be checked without a postal
database: an address containing 「郵便番号不一致」 is the sandbox's trigger for E0100059 / E0100083.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeGuard

from kessai.sandbox.np_atobarai import codes

NP_ID_RE = re.compile(r"[0-9A-Za-z]+")
NP_ID_LENGTH = 11
SHOP_TRANSACTION_ID_RE = re.compile(r"[\x21-\x7e]{1,40}")
ZIP_RE = re.compile(r"\d{7}|\d{3}-\d{4}")
ZIP_CHARS_RE = re.compile(r"[0-9-]+")
TEL_CHARS_RE = re.compile(r"[0-9-]+")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
ELEVEN_DIGIT_PREFIXES = ("020", "050", "060", "070", "080", "090")
ZIP_MISMATCH_TRIGGER = "郵便番号不一致"
SLIP_NO_MAX = 20
SETTLEMENT_TYPES = ("02", "03")


@dataclass(frozen=True)
class PartyCodes:
    """The codes of one party (buyer or destination), in the order of §1.5."""

    name_required: str
    name_chars: str
    name_length: str
    kana_length: str
    kana_chars: str
    company_length: str
    company_chars: str
    department_length: str
    department_chars: str
    zip_required: str
    zip_chars: str
    zip_format: str
    zip_mismatch: str
    address_required: str
    address_chars: str
    address_length: str
    tel_required: str
    tel_chars: str
    tel_format: str
    tel_eleven: str
    tel_ten: str


CUSTOMER = PartyCodes(
    "E0100048", "E0100049", "E0100050", "E0100051", "E0100052", "E0100053", "E0100054", "E0100055", "E0100056",
    "E0100057", "E0100058", "E0100136", "E0100059", "E0100060", "E0100061", "E0100062",
    "E0100063", "E0100064", "E0100065", "E0100066", "E0100067",
)  # fmt: skip
DESTINATION = PartyCodes(
    "E0100072", "E0100073", "E0100074", "E0100075", "E0100076", "E0100077", "E0100078", "E0100079", "E0100080",
    "E0100081", "E0100082", "E0100137", "E0100083", "E0100084", "E0100085", "E0100086",
    "E0100087", "E0100088", "E0100089", "E0100090", "E0100091",
)  # fmt: skip
EMAIL_REQUIRED, EMAIL_CHARS, EMAIL_LENGTH, EMAIL_FORMAT = "E0100068", "E0100069", "E0100070", "E0100071"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def has_prohibited(text: str) -> bool:
    return any(
        unicodedata.category(ch).startswith("C") or ord(ch) > 0xFFFF or 0xFF61 <= ord(ch) <= 0xFF9F for ch in text
    )


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not ISO_DATE_RE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _tel(text: str, c: PartyCodes) -> list[str]:
    if not text:
        return [c.tel_required]
    if not TEL_CHARS_RE.fullmatch(text):
        return [c.tel_chars]
    digits = text.replace("-", "")
    if not digits.startswith("0") or text.startswith("-") or text.endswith("-") or "--" in text:
        return [c.tel_format]
    if digits.startswith(ELEVEN_DIGIT_PREFIXES):
        return [] if len(digits) == 11 else [c.tel_eleven]
    return [] if len(digits) == 10 else [c.tel_ten]


def party(data: Mapping[str, Any], c: PartyCodes) -> list[str]:
    """Name, kana, company, department, zip, address and tel of the buyer or the destination."""
    found: list[str] = []
    name = _text(data.get("customer_name"))
    if not name:
        found.append(c.name_required)
    elif has_prohibited(name):
        found.append(c.name_chars)
    elif len(name) > 21:
        found.append(c.name_length)
    kana = _text(data.get("customer_name_kana"))
    if len(kana) > 25:
        found.append(c.kana_length)
    elif kana and (has_prohibited(kana) or any(ch.isascii() and ch.isalnum() for ch in kana)):
        found.append(c.kana_chars)
    for key, length_code, chars_code in (
        ("company_name", c.company_length, c.company_chars),
        ("department_name", c.department_length, c.department_chars),
    ):
        value = _text(data.get(key))
        if len(value) > 30:
            found.append(length_code)
        elif has_prohibited(value):
            found.append(chars_code)
    zip_code = _text(data.get("zip_code"))
    address = _text(data.get("address"))
    if not zip_code:
        found.append(c.zip_required)
    elif not ZIP_CHARS_RE.fullmatch(zip_code):
        found.append(c.zip_chars)
    elif not ZIP_RE.fullmatch(zip_code):
        found.append(c.zip_format)
    elif ZIP_MISMATCH_TRIGGER in address:
        found.append(c.zip_mismatch)
    if not address:
        found.append(c.address_required)
    elif has_prohibited(address):
        found.append(c.address_chars)
    elif len(address) > 55:
        found.append(c.address_length)
    found.extend(_tel(_text(data.get("tel")), c))
    return found


def email(value: Any) -> list[str]:
    text = _text(value)
    if not text:
        return [EMAIL_REQUIRED]
    if not text.isascii() or has_prohibited(text):
        return [EMAIL_CHARS]
    if len(text) > 100:
        return [EMAIL_LENGTH]
    if not EMAIL_RE.fullmatch(text):
        return [EMAIL_FORMAT]
    return []


def goods_total(goods: Any) -> int | None:
    """Σ goods_price × quantity, or None when the lines are not valid."""
    if not isinstance(goods, list) or not goods:
        return None
    total = 0
    for line in goods:
        if not isinstance(line, Mapping):
            return None
        name, price, quantity = line.get("goods_name"), line.get("goods_price"), line.get("quantity")
        if not _text(name) or not is_int(price) or not is_int(quantity) or quantity < 1:
            return None
        total += price * quantity
    return total


def amount_and_goods(item: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    amount = item.get("billed_amount")
    if not is_int(amount) or amount < 1:
        found.append(codes.BILLED_AMOUNT)
    total = goods_total(item.get("goods"))
    if total is None:
        found.append(codes.GOODS)
    elif not found and total != amount:
        found.append(codes.BILLED_AMOUNT_MISMATCH)
    return found


def dest_present(dest: Any) -> bool:
    """``dest_customer`` counts when it is an object with at least one non-empty value (w2 sends empty
    strings when the invoice is enclosed [C S3])."""
    return isinstance(dest, Mapping) and any(_text(v) for v in dest.values())


def register(item: Mapping[str, Any]) -> list[str]:
    """A register item, or the register fields of an update item."""
    found: list[str] = []
    if not isinstance(item.get("shop_transaction_id"), str) or not SHOP_TRANSACTION_ID_RE.fullmatch(
        item["shop_transaction_id"]
    ):
        found.append(codes.SHOP_TRANSACTION_ID)
    if not valid_date(item.get("shop_order_date")):
        found.append(codes.SHOP_ORDER_DATE)
    if item.get("settlement_type") not in SETTLEMENT_TYPES:
        found.append(codes.SETTLEMENT_TYPE)
    found.extend(amount_and_goods(item))
    customer = item.get("customer")
    if not isinstance(customer, Mapping):
        found.append(codes.CUSTOMER_REQUIRED)
    else:
        found.extend(party(customer, CUSTOMER))
        found.extend(email(customer.get("email")))
    dest = item.get("dest_customer")
    if dest is not None and not isinstance(dest, Mapping):
        found.append(codes.MALFORMED)
    elif dest_present(dest):
        assert isinstance(dest, Mapping)  # noqa: S101 - dest_present checked it
        found.extend(party(dest, DESTINATION))
    return found


def reregister(item: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if not isinstance(item.get("shop_transaction_id"), str) or not SHOP_TRANSACTION_ID_RE.fullmatch(
        item["shop_transaction_id"]
    ):
        found.append(codes.SHOP_TRANSACTION_ID)
    if not valid_date(item.get("shop_order_date")):
        found.append(codes.SHOP_ORDER_DATE)
    found.extend(amount_and_goods(item))
    return found


def shipment(item: Mapping[str, Any], carrier_codes: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    if item.get("pd_company_code") not in carrier_codes:
        found.append(codes.CARRIER)
    slip = item.get("slip_no")
    if not isinstance(slip, str) or not 1 <= len(slip.strip()) <= SLIP_NO_MAX or has_prohibited(slip):
        found.append(codes.SLIP_NO)
    issued = item.get("bill_issued_date")
    if issued is not None and not valid_date(issued):
        found.append(codes.BILL_ISSUED_DATE)
    return found


def np_id(value: Any) -> list[str]:
    """``np_transaction_id`` format: required (EPRO0105), alphanumeric (E0100002), 11 digits (E0100003)."""
    if value is None or value == "":
        return [codes.ID_REQUIRED]
    text = str(value) if is_int(value) else value
    if not isinstance(text, str) or not NP_ID_RE.fullmatch(text):
        return [codes.ID_NOT_ALNUM]
    if len(text) != NP_ID_LENGTH or not text.isdigit():
        return [codes.ID_NOT_11_DIGITS]
    return []
