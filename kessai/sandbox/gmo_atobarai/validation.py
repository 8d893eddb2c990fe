"""Request validation. Every broken field rule is collected into one NG answer.

From the note: ``buyer{shopTransactionId, shopOrderDate (YYYY/MM/DD), fullName, fullKanaName?, zipCode,
address, companyName?, departmentName?, tel1, email1, billedAmount, paymentType (2 別送 | 3 同梱, buyer =
recipient)}``, ``deliveries{delivery{deliveryCustomer{…}, details{detail[{detailName, detailPrice,
detailQuantity}]}}}``; ``pdcompanycode`` 11, 12, 14, 16, 18, 99; ``invoiceIssueDate`` for 同梱.
Kessai's stricter choices ([I], documented): lengths (shopTransactionId ≤ 40, names ≤ 60, address ≤ 255,
slipno ≤ 20 letters/digits/hyphens), exactly one delivery, Σ detailPrice × detailQuantity = billedAmount.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET  # types only; parsing is in xmlio (defused)
from dataclasses import dataclass
from datetime import date
from typing import Any

from kessai.sandbox.gmo_atobarai import codes
from kessai.sandbox.gmo_atobarai.codes import GmoErrorDetail, GmoNg, field_error
from kessai.sandbox.gmo_atobarai.xmlio import text_of, tree

SHOP_TRANSACTION_ID_RE = re.compile(r"[!-~]{1,40}")
DATE_RE = re.compile(r"(\d{4})/(\d{2})/(\d{2})")
ZIP_RE = re.compile(r"\d{7}|\d{3}-\d{4}")
TEL_RE = re.compile(r"0[0-9-]+")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
KANA_RE = re.compile(r"[\u30a0-\u30ff\u3000 ー]+")
INT_RE = re.compile(r"-?\d+")
SLIP_RE = re.compile(r"[0-9A-Za-z-]{1,20}")
CARRIER_CODES = frozenset({"11", "12", "14", "16", "18", "99"})
PAYMENT_TYPES = frozenset({"2", "3"})
ENCLOSED = "3"
NAME_MAX = 60
ADDRESS_MAX = 255


def valid_date(text: str | None) -> bool:
    found = DATE_RE.fullmatch(text or "")
    if found is None:
        return False
    try:
        date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return False
    return True


def _tel_ok(text: str) -> bool:
    digits = text.replace("-", "")
    return bool(TEL_RE.fullmatch(text)) and digits.isdigit() and len(digits) in (10, 11)


def _comparable(text: str) -> str:
    return re.sub(r"[\s\u3000-]", "", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class OrderRequest:
    gmo_transaction_id: str | None
    shop_transaction_id: str
    amount: int
    payment_type: str
    email: str
    address: str
    buyer: dict[str, Any]
    deliveries: Any


def _person(
    element: ET.Element, prefix: str, errors: list[GmoErrorDetail], *, tel_key: str, required_tel: bool
) -> dict[str, str]:
    values = {key: text_of(element, key) or "" for key in ("fullName", "fullKanaName", "zipCode", "address", tel_key)}
    if not values["fullName"] or len(values["fullName"]) > NAME_MAX:
        errors.append(field_error(prefix + "fullName"))
    if not prefix and values["fullKanaName"] and not KANA_RE.fullmatch(values["fullKanaName"]):
        errors.append(field_error("fullKanaName"))
    if not ZIP_RE.fullmatch(values["zipCode"]):
        errors.append(field_error(prefix + "zipCode"))
    if not values["address"] or len(values["address"]) > ADDRESS_MAX:
        errors.append(field_error(prefix + "address"))
    tel = values[tel_key]
    if (tel or required_tel) and not _tel_ok(tel):
        errors.append(field_error(prefix + tel_key))
    return values


def _details(delivery: ET.Element, errors: list[GmoErrorDetail]) -> int:
    """Σ detailPrice × detailQuantity (0 when a line is invalid)."""
    lines = delivery.findall("details/detail")
    if not lines:
        errors.append(field_error("details"))
        return 0
    total = 0
    for number, line in enumerate(lines, start=1):
        name = text_of(line, "detailName") or ""
        price = text_of(line, "detailPrice") or ""
        quantity = text_of(line, "detailQuantity") or ""
        if not name:
            errors.append(field_error("detailName", line=str(number)))
        if not INT_RE.fullmatch(price):
            errors.append(field_error("detailPrice", line=str(number)))
        if not quantity.isdigit() or int(quantity) < 1:
            errors.append(field_error("detailQuantity", line=str(number)))
        if INT_RE.fullmatch(price) and quantity.isdigit():
            total += int(price) * int(quantity)
    return total


def validate_order(root: ET.Element, *, modify: bool) -> OrderRequest:
    """transaction.do, or modifycanceltransaction.do updateKind 1 (``buyer.gmoTransactionId`` required)."""
    buyer = root.find("buyer")
    if buyer is None:
        raise codes.ng(codes.XML_MISSING, element="buyer")
    gmo_id = text_of(buyer, "gmoTransactionId")
    if modify and not gmo_id:
        raise codes.ng(codes.XML_MISSING, element="buyer/gmoTransactionId")
    errors: list[GmoErrorDetail] = []
    shop_transaction_id = text_of(buyer, "shopTransactionId") or ""
    if not SHOP_TRANSACTION_ID_RE.fullmatch(shop_transaction_id):
        errors.append(field_error("shopTransactionId"))
    if not valid_date(text_of(buyer, "shopOrderDate")):
        errors.append(field_error("shopOrderDate"))
    person = _person(buyer, "", errors, tel_key="tel1", required_tel=True)
    email = text_of(buyer, "email1") or ""
    if not EMAIL_RE.fullmatch(email):
        errors.append(field_error("email1"))
    billed = text_of(buyer, "billedAmount") or ""
    amount = int(billed) if billed.isdigit() else 0
    if amount < 1:
        errors.append(field_error("billedAmount"))
    payment_type = text_of(buyer, "paymentType") or ""
    if payment_type not in PAYMENT_TYPES:
        errors.append(field_error("paymentType"))
    deliveries = root.findall("deliveries/delivery")
    if len(deliveries) != 1:
        errors.append(field_error("deliveries"))
        raise GmoNg(errors)
    delivery = deliveries[0]
    customer = delivery.find("deliveryCustomer")
    if customer is None:
        errors.append(field_error("delivery.fullName"))
        recipient: dict[str, str] = {}
    else:
        recipient = _person(customer, "delivery.", errors, tel_key="tel", required_tel=False)
    total = _details(delivery, errors)
    if not errors and total != amount:
        errors.append(field_error("total"))
    if payment_type == ENCLOSED and recipient and not errors:
        same = all(
            _comparable(person[key]) == _comparable(recipient.get(key, ""))
            for key in ("fullName", "zipCode", "address")
        )
        if not same:
            errors.append(GmoErrorDetail(*codes.INVOICE_DATA))
    if errors:
        raise GmoNg(errors)
    buyer_tree = tree(buyer)
    deliveries_element = root.find("deliveries")
    return OrderRequest(
        gmo_transaction_id=gmo_id,
        shop_transaction_id=shop_transaction_id,
        amount=amount,
        payment_type=payment_type,
        email=email,
        address=person["address"],
        buyer=buyer_tree if isinstance(buyer_tree, dict) else {},
        deliveries=tree(deliveries_element) if deliveries_element is not None else {},
    )


@dataclass(frozen=True)
class ShipmentRequest:
    gmo_transaction_id: str
    pdcompanycode: str
    slipno: str
    invoice_issue_date: str


def update_kind(root: ET.Element) -> str:
    kind = text_of(root.find("kindInfo"), "updateKind")
    if kind not in ("1", "2"):
        raise codes.ng(codes.UPDATE_KIND)
    return kind


def transaction_id(root: ET.Element, parent: str) -> str:
    value = text_of(root.find(parent), "gmoTransactionId")
    if not value:
        raise codes.ng(codes.XML_MISSING, element=f"{parent}/gmoTransactionId")
    return value


def validate_shipment(root: ET.Element, *, payment_type: str) -> ShipmentRequest:
    """pdrequest.do / modifycancelpdrequest.do updateKind 1: ``transaction{gmoTransactionId, pdcompanycode,
    slipno, invoiceIssueDate}``. ``invoiceIssueDate`` is required for a 同梱 transaction only."""
    transaction = root.find("transaction")
    errors: list[GmoErrorDetail] = []
    code = text_of(transaction, "pdcompanycode") or ""
    if code not in CARRIER_CODES:
        errors.append(field_error("pdcompanycode"))
    slip = text_of(transaction, "slipno") or ""
    if not SLIP_RE.fullmatch(slip):
        errors.append(field_error("slipno"))
    issued = text_of(transaction, "invoiceIssueDate") or ""
    if payment_type == ENCLOSED and not valid_date(issued):
        errors.append(field_error("invoiceIssueDate"))
    if errors:
        raise GmoNg(errors)
    return ShipmentRequest(
        gmo_transaction_id=transaction_id(root, "transaction"),
        pdcompanycode=code,
        slipno=slip,
        invoice_issue_date=issued if payment_type == ENCLOSED else "",
    )
