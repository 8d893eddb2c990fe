"""The emulator's screening, validation and state machine against the protocol note (§1.3–§1.7)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from kessai.sandbox.np_atobarai import NpSandboxConfig
from kessai.sandbox.np_atobarai.clock import JST
from kessai.sandbox.np_atobarai.state import REFUSALS, TRANSITIONS, Event, Life, Refused, next_state
from tests.sandbox.np_atobarai.helpers import Np, customer, register_item, running

# --------------------------------------------------------------------------- screening (§1.4, §1.7)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"authori_result": "00"}),
        (
            {"customer": customer(address="東京都港区赤坂1-2-3 保留")},
            {"authori_result": "10", "authori_hold": ["RE009"]},
        ),
        (
            {"dest_customer": {**register_item()["dest_customer"], "address": "大阪府 保留"}},
            {"authori_result": "10", "authori_hold": ["RE015"]},
        ),
        ({"customer": customer(address="東京都港区ＮＧ町")}, {"authori_result": "20", "authori_ng": "NG999"}),
        (
            {"billed_amount": 60000, "goods": [{"goods_name": "ソファ", "goods_price": 60000, "quantity": 1}]},
            {"authori_result": "20", "authori_ng": "NG001"},
        ),
        ({"customer": customer(address="東京都港区 審査")}, {"authori_result": "40"}),
    ],
)
def test_register_screens_deterministically(np: Np, overrides: dict[str, object], expected: dict[str, object]) -> None:
    result = np.register(**overrides)
    assert {k: v for k, v in result.items() if k.startswith("authori_") and k != "authori_required_date"} == expected
    assert result["shop_transaction_id"] == "A-1001"
    assert (result["authori_required_date"] is None) == (expected["authori_result"] == "40")
    if result["authori_required_date"]:
        assert result["authori_required_date"].endswith("+09:00")


def test_review_resolves_on_the_configured_lookup_to_the_final_result() -> None:
    for np in running(NpSandboxConfig(review_resolve_lookups=3)):
        np_id = np.register(customer=customer(address="東京都 審査 NG"))["np_transaction_id"]
        assert [np.find(np_id)["authori_result"] for _ in range(4)] == ["40", "40", "20", "20"]
        assert np.find(np_id)["authori_ng"] == "NG999"


def test_review_resolves_after_the_configured_seconds() -> None:
    now = [datetime(2025, 1, 10, 10, 0, tzinfo=JST)]
    config = NpSandboxConfig(review_resolve_lookups=None, review_resolve_seconds=600, now=lambda: now[0])
    for np in running(config):
        np_id = np.register(customer=customer(address="東京都 審査 保留"))["np_transaction_id"]
        assert np.find(np_id)["authori_result"] == "40"
        now[0] += timedelta(seconds=600)
        resolved = np.find(np_id)
        assert (resolved["authori_result"], resolved["authori_hold"]) == ("10", ["RE009"])
        assert resolved["authori_required_date"] == "2025-01-10T10:10:00+09:00"


def test_a_hold_expires_into_ng_when_configured(np: Np) -> None:
    np_id = np.register(customer=customer(address="東京都 保留"))["np_transaction_id"]
    assert np.find(np_id)["authori_result"] == "10"
    np.control("POST", "/settings", {"hold_expires_seconds": 3600, "clock_offset_seconds": 3601})
    assert (np.find(np_id)["authori_result"], np.find(np_id)["authori_ng"]) == ("20", "NG999")


# --------------------------------------------------------------------------- validation (§1.3, §1.5)


@pytest.mark.parametrize(
    ("party", "field", "value", "code"),
    [
        ("customer", "customer_name", "", "E0100048"),
        ("customer", "customer_name", "山田😀", "E0100049"),
        ("customer", "customer_name", "山" * 22, "E0100050"),
        ("customer", "customer_name_kana", "ヤ" * 26, "E0100051"),
        ("customer", "customer_name_kana", "ﾔﾏﾀﾞ", "E0100052"),
        ("customer", "company_name", "会" * 31, "E0100053"),
        ("customer", "department_name", "部" * 31, "E0100055"),
        ("customer", "zip_code", "", "E0100057"),
        ("customer", "zip_code", "abc", "E0100058"),
        ("customer", "zip_code", "10700", "E0100136"),
        ("customer", "address", "", "E0100060"),
        ("customer", "address", "東" * 56, "E0100062"),
        ("customer", "tel", "", "E0100063"),
        ("customer", "tel", "090(1234)5678", "E0100064"),
        ("customer", "tel", "9012345678", "E0100065"),
        ("customer", "tel", "0901234567", "E0100066"),
        ("customer", "tel", "031234567", "E0100067"),
        ("customer", "email", "", "E0100068"),
        ("customer", "email", "太郎@example.jp", "E0100069"),
        ("customer", "email", "a" * 96 + "@x.jp", "E0100070"),
        ("customer", "email", "taro.example.jp", "E0100071"),
        ("dest_customer", "customer_name", "", "E0100072"),
        ("dest_customer", "customer_name", "花" * 22, "E0100074"),
        ("dest_customer", "zip_code", "107-00520", "E0100137"),
        ("dest_customer", "address", "大阪 郵便番号不一致", "E0100083"),
        ("dest_customer", "tel", "", "E0100087"),
        ("dest_customer", "tel", "08012345678901", "E0100090"),
        ("dest_customer", "tel", "06123456789", "E0100091"),
    ],
)
def test_party_fields(np: Np, party: str, field: str, value: str, code: str) -> None:
    item = register_item()
    item[party] = {**item[party], field: value}
    assert np.codes("transactions", item) == [code]


def test_an_all_empty_destination_is_no_destination(np: Np) -> None:
    empty = {"customer_name": "", "zip_code": "", "address": "", "tel": ""}
    np_id = np.register(dest_customer=empty, settlement_type="03")["np_transaction_id"]
    assert np.app.transaction(np_id)["dest_customer"] is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"shop_transaction_id": "X" * 41}, "EKSB0101"),
        ({"shop_order_date": "2025/01/09"}, "EKSB0102"),
        ({"shop_order_date": "2025-02-30"}, "EKSB0102"),
        ({"settlement_type": "01"}, "EKSB0103"),
        ({"billed_amount": 0}, "EKSB0104"),
        ({"billed_amount": "13824"}, "EKSB0104"),
        ({"goods": []}, "EKSB0105"),
        ({"goods": [{"goods_name": "x", "goods_price": 100, "quantity": 0}]}, "EKSB0105"),
        ({"billed_amount": 13000}, "EKSB0106"),
        ({"customer": None}, "EKSB0107"),
    ],
)
def test_register_fields_without_a_known_np_code_get_sandbox_codes(
    np: Np, overrides: dict[str, object], code: str
) -> None:
    assert np.codes("transactions", register_item(**overrides)) == [code]


def test_negative_goods_lines_are_allowed_when_the_total_matches(np: Np) -> None:
    goods = [
        {"goods_name": "ソファ", "goods_price": 14000, "quantity": 1},
        {"goods_name": "割引", "goods_price": -176, "quantity": 1},
    ]
    assert np.register(goods=goods)["authori_result"] == "00"


def test_duplicate_registration_guard(np: Np) -> None:
    first = np.register()["np_transaction_id"]
    assert np.codes("transactions", register_item()) == ["EKSB0120"]
    other_amount = register_item(
        billed_amount=12800, goods=[{"goods_name": "ソファ", "goods_price": 12800, "quantity": 1}]
    )
    assert np.one("transactions", other_amount)[0] == 200
    np.one("transactions/cancel", {"np_transaction_id": first}, method="PATCH")
    assert np.one("transactions", register_item())[0] == 200  # after 与信キャンセル the order may be registered again


# --------------------------------------------------------------------------- state machine


def test_the_transition_table_refuses_every_move_not_in_it() -> None:
    for life, event in itertools.product(Life, Event):
        if (life, event) in TRANSITIONS:
            assert next_state(life, event) is TRANSITIONS[(life, event)]
            continue
        with pytest.raises(Refused) as exc:
            next_state(life, event)
        assert exc.value.codes == [REFUSALS.get((life, event), "E0100118")]


def test_update_rescreens_accepts_partial_fields_and_is_refused_after_shipment(np: Np) -> None:
    np_id = np.register(customer=customer(address="東京都 保留"))["np_transaction_id"]
    status, body = np.one("transactions/update", {"np_transaction_id": np_id, "customer": customer()}, method="PATCH")
    assert (status, body["results"][0]["authori_result"]) == (200, "00")
    smaller = {
        "np_transaction_id": np_id,
        "billed_amount": 1024,
        "goods": [{"goods_name": "送料", "goods_price": 1024, "quantity": 1}],
    }
    assert np.one("transactions/update", smaller, method="PATCH")[0] == 200
    assert np.app.transaction(np_id)["billed_amount"] == 1024
    assert np.ship(np_id)[0] == 200
    assert np.codes("transactions/update", smaller, method="PATCH") == ["E0100115"]


def test_cancel_rules(np: Np) -> None:
    open_id = np.register(shop_transaction_id="C-1")["np_transaction_id"]
    assert np.one("transactions/cancel", {"np_transaction_id": open_id}, method="PATCH") == (
        200,
        {"results": [{"np_transaction_id": open_id}]},
    )
    assert np.codes("transactions/cancel", {"np_transaction_id": open_id}, method="PATCH") == ["E0100118"]
    paid = np.register(shop_transaction_id="C-2")["np_transaction_id"]
    np.ship(paid)
    assert np.control("POST", f"/transactions/{paid}/pay").status_code == 200
    assert np.codes("transactions/cancel", {"np_transaction_id": paid}, method="PATCH") == ["E0100114"]
    returned = np.register(shop_transaction_id="C-3")["np_transaction_id"]
    np.ship(returned)
    np.control("POST", f"/transactions/{returned}/return")
    assert np.codes("transactions/cancel", {"np_transaction_id": returned}, method="PATCH") == ["E0100131"]
    shipped = np.register(shop_transaction_id="C-4")["np_transaction_id"]
    np.ship(shipped)
    assert np.one("transactions/cancel", {"np_transaction_id": shipped}, method="PATCH")[0] == 200  # until paid


def test_shipment_rules(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    assert np.ship(np_id, pd_company_code="12345")[1]["errors"][0]["codes"] == ["EKSB0201"]
    assert np.ship(np_id, slip_no="1" * 21)[1]["errors"][0]["codes"] == ["EKSB0202"]
    assert np.ship(np_id, bill_issued_date="2025-01-11")[1]["errors"][0]["codes"] == ["E0100132"]
    assert np.ship(np_id) == (200, {"results": [{"np_transaction_id": np_id}]})
    assert np.ship(np_id)[1]["errors"][0]["codes"] == ["E0100115"]
    held = np.register(shop_transaction_id="S-2", customer=customer(address="東京 保留"))["np_transaction_id"]
    assert np.ship(held)[1]["errors"][0]["codes"] == ["EKSB0301"]
    enclosed = np.register(shop_transaction_id="S-3", settlement_type="03")["np_transaction_id"]
    assert np.ship(enclosed)[1]["errors"][0]["codes"] == ["EKSB0203"]
    assert np.ship(enclosed, bill_issued_date="2025-01-11")[0] == 200
    assert np.app.transaction(enclosed)["payment_status"] == "10"


def test_reregister_rules() -> None:
    for np in running(NpSandboxConfig(max_reregistrations=2)):
        base = np.register()["np_transaction_id"]
        item = {
            "base_np_transaction_id": base,
            "shop_transaction_id": "A-1001",
            "shop_order_date": "2025-01-12",
            "billed_amount": 12800,
            "goods": [{"goods_name": "ソファ", "goods_price": 12800, "quantity": 1}],
        }
        assert np.codes("transactions/reregister", item) == ["EKSB0302"]  # before the shipment: use update
        np.ship(base)
        status, body = np.one("transactions/reregister", item)
        new = body["results"][0]
        assert (status, new["base_np_transaction_id"], new["authori_result"]) == (200, base, "00")
        assert new["np_transaction_id"] != base
        assert np.codes("transactions/reregister", item) == ["E0131006"]
        assert np.codes("transactions/cancel", {"np_transaction_id": base}, method="PATCH") == ["E0100118"]
        tx = np.app.transaction(new["np_transaction_id"])
        assert (tx["billed_amount"], tx["generation"], tx["customer"]["customer_name"]) == (12800, 1, "山田\u3000太郎")
        np.ship(new["np_transaction_id"])
        second = np.one("transactions/reregister", {**item, "base_np_transaction_id": new["np_transaction_id"]})[1]
        third_base = second["results"][0]["np_transaction_id"]
        np.ship(third_base)
        assert np.codes("transactions/reregister", {**item, "base_np_transaction_id": third_base}) == ["E0131011"]


def test_find_endpoints(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    assert np.find(np_id)["authori_result"] == "00"
    payment = np.one("transactions/payments/find", {"np_transaction_id": np_id})[1]["results"][0]
    assert (payment["payment_status"], payment["customer_payment_date"]) == ("00", None)
    np.ship(np_id)
    np.control("POST", f"/transactions/{np_id}/pay")
    paid = np.one("transactions/payments/find", {"np_transaction_id": np_id})[1]["results"][0]
    assert paid["payment_status"] == "20"
    assert np.codes("authorizations/find", {"np_transaction_id": "99999999999"}) == ["E0100113"]
    cancelled = np.register(shop_transaction_id="F-2")["np_transaction_id"]
    np.one("transactions/cancel", {"np_transaction_id": cancelled}, method="PATCH")
    assert np.codes("authorizations/find", {"np_transaction_id": cancelled}) == ["E0100118"]


def test_another_merchants_transaction_is_answered_like_an_unknown_one(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    np.control(
        "POST",
        "/merchants",
        {"merchant_code": "akt0000002", "sp_code": "sp2", "terminal_id": "kessai-demo-np-terminal"},
    )
    from tests.sandbox.np_atobarai.helpers import basic, headers

    other = headers(Authorization=basic("akt0000002", "sp2"))
    response = np.post("authorizations/find", [{"np_transaction_id": np_id}], headers=other)
    assert response.json()["errors"][0]["codes"] == ["E0100113"]
