"""State machine over real HTTP: create, get, settle, cancel/refund, update (取引更新), expiry."""

from __future__ import annotations

import re

import httpx

from .helpers import PHONE, create_body, error_codes, ledger_entry

ISO_JST = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00$")


def set_clock(control: httpx.Client, days: int) -> None:
    assert control.post("/settings", json={"clock_offset_days": days}).json()["clock_offset_days"] == days


def errors_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return [(e["code"], e["messages"][0]) for e in response.json()["errors"]]


def test_create_returns_the_transaction_object(api: httpx.Client, token: str, control: httpx.Client) -> None:
    response = api.post("/transactions", json=create_body(token, related_transaction="tr_abcdefghijklmnop"))
    assert response.status_code == 200
    tx = response.json()
    assert re.fullmatch(r"tr_[A-Za-z0-9]{16}", tx["id"])
    assert ISO_JST.match(tx["registration_datetime"])
    user_no = control.post("/authenticate", json={"phone_number": PHONE}).json()["user_no"]
    assert tx == {
        "id": tx["id"],
        "object": "transaction",
        "livemode": False,
        "authentication_token": token,
        "shop_transaction_no": "A-1001",
        "amount": 13824,
        "authorization_result": 1,
        "authorization_result_ng_reason": None,
        "amount_refund_total": 0,
        "registration_datetime": tx["registration_datetime"],
        "sales_settled_datetime": None,
        "transaction_options": [],
        "related_transaction": "tr_abcdefghijklmnop",
        "updated_transactions": None,
        "description_trans": "ギフト包装あり",
        "customer": {
            "object": "customer",
            "customer_name": "山田 太郎",
            "customer_family_name": "山田",
            "customer_given_name": "太郎",
            "customer_name_kana": "ヤマダ タロウ",
            "address": "東京都港区赤坂1-2-3",
            "phone_number": "090-1234-5678",
            "zip_code": "107-0052",
            "tel": "03-1234-5678",
            "email": "taro@example.jp",
            "user_no": user_no,
        },
        "dest_customers": [
            {
                "object": "dest_customer",
                "dest_customer_name": "山田 花子",
                "dest_address": "東京都港区赤坂1-2-3",
                "dest_zip_code": "107-0052",
            }
        ],
        "items": [
            {
                "object": "item",
                "shop_item_id": "P-1",
                "item_name": "1人掛けソファ",
                "item_price": 12800,
                "item_count": 1,
                "item_url": None,
            },
            {
                "object": "item",
                "shop_item_id": "ship",
                "item_name": "送料",
                "item_price": 1024,
                "item_count": 1,
                "item_url": None,
            },
        ],
        "refunds": [],
    }
    assert api.get(f"/transactions/{tx['id']}").json() == tx
    entry = ledger_entry(control, tx["id"])
    assert (entry["state"], entry["channel"], entry["movements"]) == (
        "authorized",
        "api",
        {"create": 1, "settle": 0, "refund": 0, "cancel": 0},
    )


def test_settle_once_then_eatn1201(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    settled = api.patch(f"/transactions/{tx_id}/settle")
    assert settled.status_code == 200
    assert ISO_JST.match(settled.json()["sales_settled_datetime"])
    again = api.patch(f"/transactions/{tx_id}/settle")
    assert errors_of(again) == [("EATN1201", "既に売上確定済みの取引です。")]
    entry = ledger_entry(control, tx_id)
    assert (entry["state"], entry["movements"]["settle"]) == ("settled", 1)
    assert (
        api.get(f"/transactions/{tx_id}").json()["sales_settled_datetime"] == settled.json()["sales_settled_datetime"]
    )


def test_sales_settled_true_captures_at_once(api: httpx.Client, token: str, control: httpx.Client) -> None:
    for number, flag in (("B-1", True), ("B-2", "true")):
        tx = api.post("/transactions", json=create_body(token, shop_transaction_no=number, sales_settled=flag)).json()
        assert tx["sales_settled_datetime"] == tx["registration_datetime"]
        entry = ledger_entry(control, tx["id"])
        assert (entry["state"], entry["movements"]) == (
            "settled",
            {"create": 1, "settle": 1, "refund": 0, "cancel": 0},
        )
    movements = [(m["kind"], m["via"]) for m in control.get("/ledger").json()["movements"]]
    assert movements == [("create", "api"), ("settle", "create"), ("create", "api"), ("settle", "create")]


def test_cancel_an_authorization(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    cancelled = api.patch(f"/transactions/{tx_id}/refund", json={"refund_reason": "キャンセル"}).json()
    assert cancelled["amount_refund_total"] == 13824
    assert [
        (r["object"], r["amount_refund"], r["refund_reason"], r["description_refund"]) for r in cancelled["refunds"]
    ] == [("refund", 13824, "キャンセル", "")]
    assert ISO_JST.match(cancelled["refunds"][0]["refund_datetime"])
    assert errors_of(api.patch(f"/transactions/{tx_id}/settle")) == [("EATN0398", "既に取消済みの取引です。")]
    assert errors_of(api.patch(f"/transactions/{tx_id}/refund")) == [("EATN0398", "既に取消済みの取引です。")]
    entry = ledger_entry(control, tx_id)
    assert (entry["state"], entry["movements"]) == ("cancelled", {"create": 1, "settle": 0, "refund": 0, "cancel": 1})


def test_partial_refund_needs_a_settled_transaction(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    response = api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": 1000})
    assert errors_of(response) == [
        ("EATN0398", "売上確定前の取引は一部払戻できません。金額を指定せずに取消して下さい。")
    ]
    entry = ledger_entry(control, tx_id)
    assert (entry["state"], entry["transaction"]["refunds"]) == ("authorized", [])


def test_partial_refunds_down_to_zero(api: httpx.Client, token: str, control: httpx.Client) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    api.patch(f"/transactions/{tx_id}/settle")
    first = api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": "1980", "refund_reason": "返品"}).json()
    assert (first["amount_refund_total"], [r["amount_refund"] for r in first["refunds"]]) == (1980, [1980])
    too_much = api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": 11845})
    assert errors_of(too_much) == [("EATN0398", "払戻金額が払戻可能な金額を超えています。")]
    assert errors_of(api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": "1,000"})) == [
        ("EATN0398", "払戻金額は1以上の7桁以内の半角数値で設定して下さい。")
    ]
    rest = api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": 11844}).json()
    assert rest["amount_refund_total"] == 13824
    assert errors_of(api.patch(f"/transactions/{tx_id}/refund")) == [("EATN0398", "既に全額払戻済みの取引です。")]
    entry = ledger_entry(control, tx_id)
    assert (entry["state"], entry["movements"]) == ("refunded", {"create": 1, "settle": 1, "refund": 2, "cancel": 0})


def test_full_cancel_after_a_partial_refund_returns_the_rest(api: httpx.Client, token: str) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    api.patch(f"/transactions/{tx_id}/settle")
    api.patch(f"/transactions/{tx_id}/refund", json={"amount_refund": 824})
    cancelled = api.patch(f"/transactions/{tx_id}/refund").json()
    assert [r["amount_refund"] for r in cancelled["refunds"]] == [824, 13000]
    assert [r["refund_reason"] for r in cancelled["refunds"]] == ["", "キャンセル"]
    assert cancelled["amount_refund_total"] == 13824


def test_refund_text_limits(api: httpx.Client, token: str) -> None:
    tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
    response = api.patch(f"/transactions/{tx_id}/refund", json={"refund_reason": "理" * 256})
    assert errors_of(response) == [("EATN0398", "払戻理由・払戻備考は255文字以内で設定して下さい。")]


def test_authorization_expires_after_90_days(api: httpx.Client, token: str, control: httpx.Client) -> None:
    on_day_90 = api.post("/transactions", json=create_body(token, shop_transaction_no="D-90")).json()["id"]
    on_day_91 = api.post("/transactions", json=create_body(token, shop_transaction_no="D-91")).json()["id"]
    set_clock(control, 90)
    assert api.patch(f"/transactions/{on_day_90}/settle").status_code == 200
    set_clock(control, 91)
    assert ledger_entry(control, on_day_91)["state"] == "expired"
    refused = api.patch(f"/transactions/{on_day_91}/settle")
    assert errors_of(refused) == [("EATN0398", "仮売上の有効期限(90日)を過ぎているため売上確定できません。")]
    assert ledger_entry(control, on_day_91)["movements"]["settle"] == 0
    cancelled = api.patch(f"/transactions/{on_day_91}/refund")
    assert cancelled.status_code == 200
    assert ledger_entry(control, on_day_91)["state"] == "cancelled"


def update_body(token: str, old_id: str, amount: int, **overrides: object) -> dict[str, object]:
    return create_body(token, amount=amount, updated_transactions=[old_id], **overrides)


def test_update_supersedes_and_cancels_the_old_transaction(
    api: httpx.Client, token: str, control: httpx.Client
) -> None:
    old = api.post("/transactions", json=create_body(token)).json()
    new = api.post("/transactions", json=update_body(token, old["id"], 15000)).json()
    assert new["id"] != old["id"]
    assert (new["shop_transaction_no"], new["amount"], new["updated_transactions"]) == ("A-1001", 15000, [old["id"]])
    assert new["authorization_result"] == 1
    old_now = api.get(f"/transactions/{old['id']}").json()
    assert old_now["amount_refund_total"] == 13824
    assert [(r["amount_refund"], r["refund_reason"], r["description_refund"]) for r in old_now["refunds"]] == [
        (13824, "取引更新", f"{new['id']} に更新")
    ]
    old_entry = ledger_entry(control, old["id"])
    assert (old_entry["state"], old_entry["superseded_by"]) == ("cancelled", new["id"])
    assert old_entry["movements"] == {"create": 1, "settle": 0, "refund": 0, "cancel": 1}
    assert errors_of(api.patch(f"/transactions/{old['id']}/settle")) == [
        ("EATN0398", "取引更新により取消済みの取引です。")
    ]
    again = api.post("/transactions", json=update_body(token, old["id"], 16000))
    assert errors_of(again) == [("EATN0398", "取引更新により取消済みの取引です。")]
    chained = api.post("/transactions", json=update_body(token, new["id"], 16000)).json()
    assert chained["updated_transactions"] == [new["id"]]
    kinds = [(m["kind"], m["transaction_id"], m["via"]) for m in control.get("/ledger").json()["movements"]]
    assert kinds == [
        ("create", old["id"], "api"),
        ("create", new["id"], "api"),
        ("cancel", old["id"], "update"),
        ("create", chained["id"], "api"),
        ("cancel", new["id"], "update"),
    ]


def test_update_of_a_settled_transaction(api: httpx.Client, token: str, control: httpx.Client) -> None:
    old_id = api.post("/transactions", json=create_body(token, sales_settled=True)).json()["id"]
    new = api.post("/transactions", json=update_body(token, old_id, 12000)).json()
    assert new["sales_settled_datetime"] is None
    assert ledger_entry(control, old_id)["state"] == "cancelled"


def test_update_rescreens_and_cancels_the_old_one_even_when_ng(
    api: httpx.Client, token: str, control: httpx.Client
) -> None:
    old_id = api.post("/transactions", json=create_body(token)).json()["id"]
    new = api.post("/transactions", json=update_body(token, old_id, 60000)).json()
    assert (new["authorization_result"], new["authorization_result_ng_reason"]) == (2, 1)
    assert ledger_entry(control, old_id)["state"] == "cancelled"
    assert ledger_entry(control, new["id"])["state"] == "declined"


def test_update_of_a_declined_transaction(api: httpx.Client, token: str, control: httpx.Client) -> None:
    declined = api.post("/transactions", json=create_body(token, amount=50001)).json()
    assert declined["authorization_result"] == 2
    new = api.post("/transactions", json=update_body(token, declined["id"], 40000)).json()
    assert new["authorization_result"] == 1
    entry = ledger_entry(control, declined["id"])
    assert (entry["state"], entry["superseded_by"], entry["transaction"]["refunds"]) == ("declined", new["id"], [])


def test_update_window_is_120_days(api: httpx.Client, token: str, control: httpx.Client) -> None:
    first = api.post("/transactions", json=create_body(token, shop_transaction_no="U-1")).json()["id"]
    second = api.post("/transactions", json=create_body(token, shop_transaction_no="U-2")).json()["id"]
    set_clock(control, 120)
    ok = api.post("/transactions", json=update_body(token, first, 1000, shop_transaction_no="U-1"))
    assert ok.status_code == 200
    set_clock(control, 121)
    refused = api.post("/transactions", json=update_body(token, second, 1000, shop_transaction_no="U-2"))
    assert errors_of(refused) == [("EATN0398", "取引登録から120日を経過した取引は更新できません。")]
    assert ledger_entry(control, second)["superseded_by"] is None


def test_update_needs_known_well_formed_ids(api: httpx.Client, token: str) -> None:
    unknown = api.post("/transactions", json=update_body(token, "tr_0000000000000000", 1000))
    assert errors_of(unknown) == [("EATN0398", "指定された取引が存在しません。")]
    malformed = api.post("/transactions", json=update_body(token, "12345", 1000))
    assert errors_of(malformed) == [("EATN0398", "更新対象取引は取引IDの配列で設定して下さい。")]


def test_duplicate_shop_transaction_no_is_refused(api: httpx.Client, token: str, control: httpx.Client) -> None:
    first = api.post("/transactions", json=create_body(token)).json()
    duplicate = api.post("/transactions", json=create_body(token, amount=500))
    assert errors_of(duplicate) == [("EATN0398", "加盟店取引IDが重複しています。")]
    assert duplicate.json()["errors"][0]["params"] == ["shop_transaction_no"]
    assert [e["transaction"]["id"] for e in control.get("/ledger").json()["transactions"]] == [first["id"]]
    api.patch(f"/transactions/{first['id']}/refund")
    assert error_codes(api.post("/transactions", json=create_body(token, amount=500))) == ["EATN0398"]


def test_recurring_charges_with_a_stored_token(api: httpx.Client, token: str) -> None:
    first = api.post(
        "/transactions", json=create_body(token, shop_transaction_no="SUB-1-20250101", transaction_options=[1])
    )
    cycle = api.post(
        "/transactions",
        json=create_body(
            token,
            shop_transaction_no="SUB-1-20250201",
            transaction_options=[1],
            related_transaction=first.json()["id"],
        ),
    ).json()
    assert (cycle["authorization_result"], cycle["transaction_options"], cycle["related_transaction"]) == (
        1,
        [1],
        first.json()["id"],
    )
    assert cycle["authentication_token"] == token
