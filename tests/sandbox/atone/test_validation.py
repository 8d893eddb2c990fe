"""Field rules of §3.2 (EATN0331–0362), token rules of §4.1 (EATN0301–0303, 0360, 0363)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .helpers import create_body, error_codes, with_customer

Mutation = Callable[[dict[str, Any]], None]


def setter(key: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body[key] = value

    return mutate


def remover(key: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        del body[key]

    return mutate


def customer(key: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        with_customer(body, **{key: value})

    return mutate


def item(key: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["items"][0][key] = value

    return mutate


def dest(key: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["dest_customers"][0][key] = value

    return mutate


CASES: list[tuple[str, Mutation, str, str]] = [
    ("amount zero", setter("amount", 0), "EATN0331", "amount"),
    ("amount 8 digits", setter("amount", 10_000_000), "EATN0331", "amount"),
    ("amount text", setter("amount", "1万"), "EATN0331", "amount"),
    ("amount bool", setter("amount", True), "EATN0331", "amount"),
    ("amount float", setter("amount", 13824.0), "EATN0331", "amount"),
    ("amount missing", remover("amount"), "EATN0331", "amount"),
    ("shop_transaction_no missing", remover("shop_transaction_no"), "EATN0332", "shop_transaction_no"),
    ("shop_transaction_no 101", setter("shop_transaction_no", "A" * 101), "EATN0332", "shop_transaction_no"),
    ("shop_transaction_no full-width", setter("shop_transaction_no", "注文1"), "EATN0332", "shop_transaction_no"),
    ("sales_settled yes", setter("sales_settled", "yes"), "EATN0333", "sales_settled"),
    ("sales_settled 1", setter("sales_settled", 1), "EATN0333", "sales_settled"),
    ("description 256", setter("description_trans", "備" * 256), "EATN0334", "description_trans"),
    ("description control", setter("description_trans", "ベル\x07"), "EATN0334", "description_trans"),
    ("shop_item_id 101", item("shop_item_id", "P" * 101), "EATN0335", "shop_item_id"),
    ("items empty", setter("items", []), "EATN0336", "items"),
    ("items missing", remover("items"), "EATN0336", "items"),
    (
        "items 10000",
        setter("items", [{"shop_item_id": "P", "item_name": "x", "item_price": 1, "item_count": 1}] * 10_000),
        "EATN0337",
        "items",
    ),
    ("item_name 101", item("item_name", "名" * 101), "EATN0338", "item_name"),
    ("item_price 7 digits", item("item_price", 1_000_000), "EATN0339", "item_price"),
    ("item_count zero", item("item_count", 0), "EATN0340", "item_count"),
    ("item_count 6 digits", item("item_count", 100_000), "EATN0340", "item_count"),
    ("item_url 1001", item("item_url", "https://x.jp/" + "a" * 990), "EATN0341", "item_url"),
    ("customer missing", remover("customer"), "EATN0342", "customer_name"),
    ("customer_name 101", customer("customer_name", "名" * 101), "EATN0342", "customer_name"),
    ("customer_name empty", customer("customer_name", ""), "EATN0342", "customer_name"),
    ("kana 129", customer("customer_name_kana", "ア" * 129), "EATN0343", "customer_name_kana"),
    ("company 101", customer("company_name", "社" * 101), "EATN0344", "company_name"),
    ("department 31", customer("department", "部" * 31), "EATN0345", "department"),
    ("zip 6 digits", customer("zip_code", "107005"), "EATN0346", "zip_code"),
    ("zip full-width", customer("zip_code", "１０７００５２"), "EATN0346", "zip_code"),
    ("address 256", customer("address", "所" * 256), "EATN0347", "address"),
    ("tel not 0", customer("tel", "1234567890"), "EATN0348", "tel"),
    ("tel 12 digits", customer("tel", "03-1234-56789"), "EATN0348", "tel"),
    ("email no at", customer("email", "taro.example.jp"), "EATN0349", "email"),
    ("subtract_point negative", setter("subtract_point", -1), "EATN0350", "subtract_point"),
    (
        "dest 10",
        setter("dest_customers", [{"dest_customer_name": "a", "dest_zip_code": "1070052", "dest_address": "b"}] * 10),
        "EATN0353",
        "dest_customers",
    ),
    ("family 51", customer("customer_family_name", "姓" * 51), "EATN0354", "customer_family_name"),
    ("given 51", customer("customer_given_name", "名" * 51), "EATN0355", "customer_given_name"),
    ("family kana 65", customer("customer_family_name_kana", "ア" * 65), "EATN0356", "customer_family_name_kana"),
    ("given kana 65", customer("customer_given_name_kana", "ア" * 65), "EATN0357", "customer_given_name_kana"),
    ("phone landline", customer("phone_number", "03-1234-5678"), "EATN0358", "phone_number"),
    ("birthday invalid date", customer("birthday", "1990-02-30"), "EATN0359", "birthday"),
    ("birthday slashes", customer("birthday", "1990/01/01"), "EATN0359", "birthday"),
    ("sex_division 3", customer("sex_division", "3"), "EATN0360", "sex_division"),
    ("purchase count 8 digits", customer("total_purchase_count", 10_000_000), "EATN0361", "total_purchase_count"),
    (
        "purchase amount 9 digits",
        customer("total_purchase_amount", 100_000_000),
        "EATN0362",
        "total_purchase_amount",
    ),
    ("dest name missing", dest("dest_customer_name", None), "EATN0342", "dest_customer_name"),
    ("dest zip", dest("dest_zip_code", "abc"), "EATN0346", "dest_zip_code"),
    ("dest address missing", dest("dest_address", None), "EATN0347", "dest_address"),
    ("dest tel", dest("dest_tel", "090"), "EATN0348", "dest_tel"),
    ("transaction_options text", setter("transaction_options", ["1"]), "EATN0398", "transaction_options"),
    ("transaction_options unknown", setter("transaction_options", [7]), "EATN0398", "transaction_options"),
]


@pytest.mark.parametrize(("mutate", "code", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_field_rule(
    api: httpx.Client, control: httpx.Client, token: str, mutate: Mutation, code: str, param: str
) -> None:
    body = create_body(token)
    mutate(body)
    response = api.post("/transactions", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["name"] == "InvalidRequest"
    assert [(e["code"], e["params"]) for e in payload["errors"]] == [(code, [param])]
    assert payload["message"] == payload["errors"][0]["messages"][0]
    ledger = control.get("/ledger").json()
    assert (ledger["transactions"], ledger["movements"]) == ([], [])


def test_amount_message_is_the_providers(api: httpx.Client, token: str) -> None:
    response = api.post("/transactions", json=create_body(token, amount=0))
    assert response.json() == {
        "name": "InvalidRequest",
        "message": "課金額は1以上の7桁以内の半角数値で設定して下さい。",
        "errors": [
            {
                "code": "EATN0331",
                "messages": ["課金額は1以上の7桁以内の半角数値で設定して下さい。"],
                "params": ["amount"],
            }
        ],
    }


def test_every_broken_rule_is_listed(api: httpx.Client, token: str) -> None:
    body = with_customer(create_body(token, shop_transaction_no="注文"), zip_code="x", email="y")
    body["items"][0]["item_count"] = 0
    response = api.post("/transactions", json=body)
    assert error_codes(response) == ["EATN0332", "EATN0346", "EATN0349", "EATN0340"]
    assert response.json()["message"] == "不正なリクエストです。"


def test_items_must_add_up_to_the_amount(api: httpx.Client, token: str, control: httpx.Client) -> None:
    body = create_body(token)
    body["amount"] = 13825
    response = api.post("/transactions", json=body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": "EATN0398",
            "messages": ["商品明細の合計金額(商品単価×個数の合計)が課金額と一致しません。"],
            "params": ["amount"],
        }
    ]
    assert control.get("/ledger").json()["transactions"] == []


def test_lenient_forms_are_accepted(api: httpx.Client, token: str) -> None:
    body = create_body(token, sales_settled="false", description_trans="1行目\n2行目")
    body["amount"] = "11712"
    body["items"] = [
        {"shop_item_id": "P-1", "item_name": "ソファ", "item_price": "12800", "item_count": "1", "item_url": None},
        {"shop_item_id": "pt", "item_name": "ポイント利用", "item_price": -1000, "item_count": 1},
        {"shop_item_id": "coupon", "item_name": "クーポン", "item_price": "-100", "item_count": 2},
        {"shop_item_id": "ship", "item_name": "送料", "item_price": 112, "item_count": 1},
    ]
    with_customer(body, phone_number="09012345678", tel="0312345678", customer_name="NP 太郎", sex_division=2)
    response = api.post("/transactions", json=body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["amount"] == 11712
    assert [(i["item_price"], i["item_count"]) for i in created["items"]] == [
        (12800, 1),
        (-1000, 1),
        (-100, 2),
        (112, 1),
    ]
    assert created["sales_settled_datetime"] is None
    assert created["customer"]["sex_division"] == "2"


def test_token_missing_is_eatn0301(api: httpx.Client) -> None:
    body = create_body("x")
    del body["authentication_token"]
    response = api.post("/transactions", json=body)
    assert response.json()["errors"] == [
        {"code": "EATN0301", "messages": ["認証トークンを設定して下さい。"], "params": ["authentication_token"]}
    ]


@pytest.mark.parametrize("token", ["abc", "tk_short", 12345, "tr_Fj2pd6CMEiFp04zcmTOiBLfm"])
def test_token_malformed_is_eatn0302(api: httpx.Client, token: Any) -> None:
    response = api.post("/transactions", json=create_body("") | {"authentication_token": token})
    assert error_codes(response) == ["EATN0302"]


def test_token_unknown_is_eatn0303(api: httpx.Client) -> None:
    response = api.post("/transactions", json=create_body("tk_Fj2pd6CMEiFp04zcmTOiBLfm"))
    assert response.json()["errors"] == [
        {
            "code": "EATN0303",
            "messages": ["認証トークンが無効です。再度認証を行って下さい。"],
            "params": ["authentication_token"],
        }
    ]


def test_revoked_token_is_eatn0303(api: httpx.Client, control: httpx.Client, token: str) -> None:
    assert control.post("/tokens/revoke", json={"authentication_token": token}).json() == {
        "authentication_token": token,
        "revoked": True,
    }
    assert error_codes(api.post("/transactions", json=create_body(token))) == ["EATN0303"]


def test_another_stores_token_is_eatn0303(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/merchants", json={"public_key": "other-store-pk-0000001", "secret_key": "other-store-sk-0000001"})
    other = control.post(
        "/authenticate", json={"phone_number": "080-1111-2222", "public_key": "other-store-pk-0000001"}
    ).json()
    assert error_codes(api.post("/transactions", json=create_body(other["authentication_token"]))) == ["EATN0303"]


def test_member_without_valid_phone_is_eatn0363(api: httpx.Client, control: httpx.Client) -> None:
    buyer = control.post("/authenticate", json={"phone_number": "070-0000-0001", "phone_valid": False}).json()
    assert error_codes(api.post("/transactions", json=create_body(buyer["authentication_token"]))) == ["EATN0363"]


def test_store_without_contract_is_eatn0360(api: httpx.Client, control: httpx.Client, token: str) -> None:
    control.post("/merchants", json={"public_key": "kessai-demo-atone-pk01", "contract_valid": False})
    response = api.post("/transactions", json=create_body(token))
    assert response.json()["errors"] == [
        {"code": "EATN0360", "messages": ["有効なサービス契約がありません。"], "params": ["shop_public_key"]}
    ]


def test_uncontracted_option_is_eatn0360(api: httpx.Client, control: httpx.Client, token: str) -> None:
    control.post("/merchants", json={"public_key": "kessai-demo-atone-pk01", "transaction_options": [2]})
    response = api.post("/transactions", json=create_body(token, transaction_options=[1]))
    assert response.json()["errors"][0]["params"] == ["transaction_options"]
    assert error_codes(response) == ["EATN0360"]
    assert api.post("/transactions", json=create_body(token, transaction_options=[2])).status_code == 200
