"""XML request builders and answer readers for the GMO後払い emulator tests (written from the note)."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from kessai.sandbox.gmo_atobarai import DEFAULT_AUTHENTICATION_ID, DEFAULT_CONNECT_PASSWORD, DEFAULT_SHOP_CODE

SHOP_INFO = {
    "authenticationId": DEFAULT_AUTHENTICATION_ID,
    "shopCode": DEFAULT_SHOP_CODE,
    "connectPassword": DEFAULT_CONNECT_PASSWORD,
}

BUYER: dict[str, Any] = {
    "shopTransactionId": "A-1001",
    "shopOrderDate": "2025/01/31",
    "fullName": "山田　太郎",
    "fullKanaName": "ヤマダ　タロウ",
    "zipCode": "107-0052",
    "address": "東京都港区赤坂1-2-3",
    "tel1": "090-1234-5678",
    "email1": "taro@example.jp",
    "billedAmount": "13824",
    "paymentType": "2",
}
DELIVERY: dict[str, Any] = {
    "deliveryCustomer": {
        "fullName": "山田　花子",
        "zipCode": "1070052",
        "address": "東京都港区赤坂1-2-3",
        "tel": "03-1234-5678",
    },
    "details": {
        "detail": [
            {"detailName": "1人掛けソファ", "detailPrice": "12800", "detailQuantity": "1"},
            {"detailName": "送料", "detailPrice": "1024", "detailQuantity": "1"},
        ]
    },
}


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append(parent, tag, item)
        return
    child = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(child, key, item)
    elif value is not None:
        child.text = str(value)


def request(body: dict[str, Any], *, shop_info: dict[str, str] | None = None) -> bytes:
    root = ET.Element("request")
    _append(root, "shopInfo", shop_info if shop_info is not None else SHOP_INFO)
    for key, value in body.items():
        _append(root, key, value)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")).encode("utf-8")


def register_body(buyer: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = {**copy.deepcopy(BUYER), **(buyer or {})}
    return {"buyer": merged, "deliveries": {"delivery": delivery if delivery is not None else copy.deepcopy(DELIVERY)}}


def post(api: httpx.Client, path: str, body: dict[str, Any], **kwargs: Any) -> ET.Element:
    response = api.post(path, content=request(body, **kwargs), headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml; charset=UTF-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><response>')
    return ET.fromstring(response.content)  # noqa: S314 - the emulator's own answer


def register(api: httpx.Client, **buyer: Any) -> str:
    root = post(api, "/transaction.do", register_body(buyer))
    assert result(root)[0] == "OK", errors(root)
    return gmo_id(root)


def result(root: ET.Element) -> tuple[str, str]:
    """(result, authorResult)."""
    return root.findtext("result") or "", root.findtext("transactionResult/authorResult") or ""


def gmo_id(root: ET.Element) -> str:
    return (
        root.findtext("transactionResult/gmoTransactionId") or root.findtext("transactionInfo/gmoTransactionId") or ""
    )


def errors(root: ET.Element) -> list[tuple[str, str]]:
    return [(e.findtext("errorCode") or "", e.findtext("errorMessage") or "") for e in root.findall("errors/error")]


def codes(root: ET.Element) -> list[str]:
    assert root.findtext("result") == "NG"
    return [code for code, _ in errors(root)]


def getauthor(api: httpx.Client, gid: str) -> str:
    return result(post(api, "/getauthor.do", {"transaction": {"gmoTransactionId": gid}}))[1]


def ship(api: httpx.Client, gid: str, **fields: str) -> ET.Element:
    transaction = {"gmoTransactionId": gid, "pdcompanycode": "12", "slipno": "123456789012", "invoiceIssueDate": ""}
    transaction.update(fields)
    return post(api, "/pdrequest.do", {"transaction": transaction})


def entry(control: httpx.Client, gid: str) -> dict[str, Any]:
    return next(e for e in control.get("/ledger").json()["transactions"] if e["transaction"]["gmoTransactionId"] == gid)
