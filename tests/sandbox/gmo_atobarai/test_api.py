"""The GMO後払い XML API of the emulator against the protocol note: transport, shopInfo, validation,
screening (OK / NG / 審査中 → getauthor), the state machine, 出荷報告 and 同梱."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from .helpers import (
    BUYER,
    DELIVERY,
    codes,
    entry,
    errors,
    getauthor,
    gmo_id,
    post,
    register,
    register_body,
    request,
    result,
    ship,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<request><shopInfo><shopCode>&lol2;</shopCode></shopInfo></request>"""

# --------------------------------------------------------------------------- transport and shopInfo


def test_unknown_paths_and_methods(api: httpx.Client) -> None:
    assert api.post("/unknown.do", content=b"<request/>").status_code == 404
    response = api.get("/transaction.do")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


def test_any_content_type_is_accepted(api: httpx.Client, control: httpx.Client) -> None:
    body = request(register_body())
    response = api.post("/transaction.do", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert control.get("/requests").json()["requests"][0]["content_type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml", "XM0001"),
        (b"<other/>", "XM0001"),
        ('<?xml version="1.0" encoding="UTF-16"?><request/>'.encode("utf-16"), "XM0001"),
        (BILLION_LAUGHS, "XM0002"),
        (b'<!doctype request SYSTEM "http://x/"><request/>', "XM0002"),
    ],
)
def test_bad_or_unsafe_xml_is_ng(api: httpx.Client, body: bytes, code: str) -> None:
    response = api.post("/transaction.do", content=body)
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314 - the emulator's own answer
    assert codes(root) == [code]


@pytest.mark.parametrize(
    "shop_info",
    [
        {"authenticationId": "9990000001", "shopCode": "abkessaidemo", "connectPassword": "wrong"},
        {"authenticationId": "0000000000", "shopCode": "abkessaidemo", "connectPassword": "kessai-demo-gmo-pw01"},
        {},
    ],
)
def test_wrong_shop_info_is_au0001_and_stores_nothing(
    api: httpx.Client, control: httpx.Client, shop_info: dict[str, str]
) -> None:
    root = post(api, "/transaction.do", register_body(), shop_info=shop_info)
    assert errors(root) == [("AU0001", "認証情報（認証ID・加盟店コード・接続パスワード）が正しくありません。")]
    assert control.get("/ledger").json()["transactions"] == []


# --------------------------------------------------------------------------- 取引登録: validation


def test_registration_answers_ok_with_the_transaction_result(api: httpx.Client, control: httpx.Client) -> None:
    root = post(api, "/transaction.do", register_body())
    assert result(root) == ("OK", "OK")
    gid = gmo_id(root)
    assert len(gid) == 12
    assert gid.isdigit()
    tx = entry(control, gid)["transaction"]
    assert (tx["state"], tx["billedAmount"], tx["paymentType"], tx["email1"]) == (
        "authorized",
        13824,
        "2",
        "taro@example.jp",
    )


def test_every_broken_field_is_listed_with_its_japanese_label(api: httpx.Client) -> None:
    buyer = {
        "shopTransactionId": "",
        "shopOrderDate": "2025/02/30",
        "fullName": "",
        "fullKanaName": "やまだ",
        "zipCode": "1070",
        "address": "",
        "tel1": "12345",
        "email1": "taro",
        "billedAmount": "0",
        "paymentType": "1",
    }
    root = post(api, "/transaction.do", register_body(buyer))
    assert codes(root) == [f"CT00{n:02d}" for n in range(1, 11)]
    assert errors(root)[4] == ("CT0005", "購入者郵便番号は半角数字7桁またはハイフン付き8桁で入力してください。")


def test_delivery_and_detail_rules(api: httpx.Client) -> None:
    delivery = {
        "deliveryCustomer": {"fullName": "", "zipCode": "x", "address": "", "tel": "1"},
        "details": {"detail": [{"detailName": "", "detailPrice": "a", "detailQuantity": "0"}]},
    }
    root = post(api, "/transaction.do", register_body(delivery=delivery))
    assert codes(root) == ["CT0011", "CT0012", "CT0013", "CT0014", "CT0016", "CT0017", "CT0018"]
    assert errors(root)[4][1] == "商品明細(1行目)の商品名を入力してください。"


def test_details_must_add_up_to_the_billed_amount(api: httpx.Client) -> None:
    root = post(api, "/transaction.do", register_body({"billedAmount": "13825"}))
    assert errors(root) == [("CT0019", "商品明細の合計金額が請求金額と一致しません。")]


def test_a_discount_line_is_a_negative_price(api: httpx.Client) -> None:
    delivery = {
        **DELIVERY,
        "details": {
            "detail": [
                {"detailName": "ソファ", "detailPrice": "14824", "detailQuantity": "1"},
                {"detailName": "値引き", "detailPrice": "-1000", "detailQuantity": "1"},
            ]
        },
    }
    assert result(post(api, "/transaction.do", register_body(delivery=delivery)))[0] == "OK"


def test_exactly_one_delivery(api: httpx.Client) -> None:
    root = post(api, "/transaction.do", {"buyer": dict(BUYER), "deliveries": {"delivery": [DELIVERY, DELIVERY]}})
    assert codes(root) == ["CT0021"]
    assert codes(post(api, "/transaction.do", {"buyer": dict(BUYER)})) == ["CT0021"]


def test_enclosed_invoice_needs_the_buyer_as_recipient(api: httpx.Client) -> None:
    root = post(api, "/transaction.do", register_body({"paymentType": "3"}))
    assert errors(root) == [("CT0049", "同梱(paymentType=3)は購入者と配送先が同じ場合のみ指定できます。")]
    own = {
        **DELIVERY,
        "deliveryCustomer": {"fullName": "山田 太郎", "zipCode": "1070052", "address": "東京都港区赤坂1-2-3"},
    }
    assert result(post(api, "/transaction.do", register_body({"paymentType": "3"}, delivery=own)))[0] == "OK"


def test_a_duplicate_shop_transaction_id_is_refused_until_cancelled(api: httpx.Client) -> None:
    gid = register(api)
    assert codes(post(api, "/transaction.do", register_body())) == ["CT0020"]
    post(api, "/modifycanceltransaction.do", {"kindInfo": {"updateKind": "2"}, "buyer": {"gmoTransactionId": gid}})
    assert result(post(api, "/transaction.do", register_body()))[0] == "OK"


# --------------------------------------------------------------------------- screening


@pytest.mark.parametrize(
    ("address", "first", "resolved"),
    [
        ("東京都港区赤坂1-2-3", "OK", "OK"),
        ("東京都港区ＮＧ1-2-3", "NG", "NG"),
        ("東京都港区審査1-2-3", "審査中", "OK"),
        ("東京都港区審査ＮＧ1-2-3", "審査中", "NG"),
    ],
)
def test_test_triggers_in_the_buyer_address(api: httpx.Client, address: str, first: str, resolved: str) -> None:
    root = post(api, "/transaction.do", register_body({"address": address}))
    gid = gmo_id(root)
    assert result(root) == ("OK", first)
    lookups = [getauthor(api, gid), getauthor(api, gid), getauthor(api, gid)]
    assert lookups == ([first, resolved, resolved] if first == "審査中" else [first] * 3)


def test_review_lookups_and_manual_resolution(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/settings", json={"review_resolve_lookups": None})
    gid = register(api, address="東京都審査区1")
    assert [getauthor(api, gid) for _ in range(3)] == ["審査中"] * 3
    resolved = control.post(f"/transactions/{gid}/resolve", json={"result": "NG"}).json()
    assert (resolved["state"], resolved["authorResult"]) == ("declined", "NG")
    assert getauthor(api, gid) == "NG"
    assert control.post(f"/transactions/{gid}/resolve", json={"result": "OK"}).status_code == 400
    assert entry(control, gid)["movements"]["resolve"] == 1


def test_the_limit_is_cumulative_per_buyer_email(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/settings", json={"credit_limit": 20000})
    register(api, shopTransactionId="A-1")
    second = post(api, "/transaction.do", register_body({"shopTransactionId": "A-2"}))
    other_buyer = post(
        api, "/transaction.do", register_body({"shopTransactionId": "A-3", "email1": "hanako@example.jp"})
    )
    assert (result(second), result(other_buyer)) == (("OK", "NG"), ("OK", "OK"))


def test_getauthor_of_an_unknown_or_other_shops_transaction(api: httpx.Client, control: httpx.Client) -> None:
    gid = register(api)
    control.post("/shops", json={"authentication_id": "1111111111", "shop_code": "abother", "connect_password": "p"})
    other = {"authenticationId": "1111111111", "shopCode": "abother", "connectPassword": "p"}
    assert codes(post(api, "/getauthor.do", {"transaction": {"gmoTransactionId": gid}}, shop_info=other)) == ["TR0001"]
    assert codes(post(api, "/getauthor.do", {"transaction": {}})) == ["XM0003"]


# --------------------------------------------------------------------------- modify / cancel / ship


def test_modify_rescreens_under_the_same_id(api: httpx.Client, control: httpx.Client) -> None:
    gid = register(api, address="東京都NG区1")
    body = register_body()
    body["buyer"]["gmoTransactionId"] = gid
    root = post(api, "/modifycanceltransaction.do", {"kindInfo": {"updateKind": "1"}, **body})
    assert (result(root), gmo_id(root)) == (("OK", "OK"), gid)
    assert entry(control, gid)["movements"]["modify"] == 1


def test_update_kind_must_be_1_or_2(api: httpx.Client) -> None:
    gid = register(api)
    root = post(
        api, "/modifycanceltransaction.do", {"kindInfo": {"updateKind": "3"}, "buyer": {"gmoTransactionId": gid}}
    )
    assert codes(root) == ["KD0001"]


def test_the_state_machine(api: httpx.Client, control: httpx.Client) -> None:
    gid = register(api)
    body = register_body()
    body["buyer"]["gmoTransactionId"] = gid
    modify = {"kindInfo": {"updateKind": "1"}, **body}
    cancel = {"kindInfo": {"updateKind": "2"}, "buyer": {"gmoTransactionId": gid}}

    assert gmo_id(ship(api, gid)) == gid
    assert codes(ship(api, gid)) == ["TR0003"]
    assert codes(post(api, "/modifycanceltransaction.do", modify)) == ["TR0004"]
    assert result(post(api, "/modifycanceltransaction.do", cancel)) == ("OK", "OK")
    assert codes(post(api, "/modifycanceltransaction.do", cancel)) == ["TR0002"]
    assert codes(ship(api, gid)) == ["TR0002"]
    movements = entry(control, gid)["movements"]
    assert (movements["ship"], movements["cancel"], movements["modify"]) == (1, 1, 0)


def test_held_and_declined_transactions_cannot_be_shipped(api: httpx.Client) -> None:
    held = register(api, shopTransactionId="A-1", address="東京都審査区1")
    declined = register(api, shopTransactionId="A-2", address="東京都NG区1")
    assert errors(ship(api, held)) == [("TR0004", "与信審査中または与信NGの取引は出荷報告できません。")]
    assert codes(ship(api, declined)) == ["TR0004"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"pdcompanycode": "13"}, "PD0001"), ({"slipno": ""}, "PD0002"), ({"slipno": "x" * 21}, "PD0002")],
)
def test_shipment_fields(api: httpx.Client, fields: dict[str, str], code: str) -> None:
    gid = register(api)
    assert codes(ship(api, gid, **fields)) == [code]


@pytest.mark.parametrize("carrier", ["11", "12", "14", "16", "18", "99"])
def test_the_note_carrier_codes(api: httpx.Client, carrier: str) -> None:
    assert result(ship(api, register(api), pdcompanycode=carrier))[0] == "OK"


def test_enclosed_shipments_need_the_invoice_date(api: httpx.Client, control: httpx.Client) -> None:
    own = {
        **DELIVERY,
        "deliveryCustomer": {"fullName": "山田　太郎", "zipCode": "107-0052", "address": "東京都港区赤坂1-2-3"},
    }
    gid = gmo_id(post(api, "/transaction.do", register_body({"paymentType": "3"}, delivery=own)))
    assert codes(ship(api, gid)) == ["PD0003"]
    assert result(ship(api, gid, invoiceIssueDate="2025/02/01"))[0] == "OK"
    assert entry(control, gid)["transaction"]["shipment"]["invoiceIssueDate"] == "2025/02/01"


def test_shipment_modify_and_cancel(api: httpx.Client, control: httpx.Client) -> None:
    gid = register(api)
    transaction = {"gmoTransactionId": gid, "pdcompanycode": "11", "slipno": "999999999999", "invoiceIssueDate": ""}
    assert codes(
        post(api, "/modifycancelpdrequest.do", {"kindInfo": {"updateKind": "1"}, "transaction": transaction})
    ) == ["TR0004"]
    ship(api, gid)
    post(api, "/modifycancelpdrequest.do", {"kindInfo": {"updateKind": "1"}, "transaction": transaction})
    assert entry(control, gid)["transaction"]["shipment"]["slipno"] == "999999999999"
    post(api, "/modifycancelpdrequest.do", {"kindInfo": {"updateKind": "2"}, "transaction": {"gmoTransactionId": gid}})
    tx = entry(control, gid)
    assert (tx["transaction"]["state"], tx["transaction"]["shipment"]) == ("authorized", None)
    assert (tx["movements"]["ship_modify"], tx["movements"]["ship_cancel"]) == (1, 1)
