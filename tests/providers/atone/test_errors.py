"""EATN codes and HTTP answers → Kessai's error taxonomy (closed by default)."""

from __future__ import annotations

import re

import pytest

from kessai.providers.atone.errors import (
    DECLINE_MESSAGES,
    EATN_CODES,
    TransactionNotFound,
    decline_message,
    error_from_response,
)
from kessai.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)

from .helpers import error_body

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# Every code the protocol note's §5 names (ranges expanded), plus EATN0396 of the official SDK table.
SECTION_5_CODES = (
    [f"EATN{n:04d}" for n in range(301, 314)]
    + [f"EATN{n:04d}" for n in range(331, 364)]
    + ["EATN0396", "EATN0397", "EATN0398", "EATN0399", "EATN1201"]
)


def test_every_section_5_code_is_in_the_table() -> None:
    assert sorted(set(SECTION_5_CODES) - set(EATN_CODES)) == []


@pytest.mark.parametrize("code", sorted(EATN_CODES))
def test_every_code_maps_to_a_class_and_a_japanese_message(code: str) -> None:
    entry = EATN_CODES[code]
    assert issubclass(entry.error, ProviderError)
    assert entry.message
    assert JAPANESE.search(entry.message)

    body = {"name": "InvalidRequest", "errors": [{"code": code, "params": [entry.wire_param]}]}
    error = error_from_response("create", 400, body)

    assert isinstance(error, entry.error)
    assert error.code == f"create:{code}"
    assert entry.message in error.message


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EATN0306", ProviderAuthError),
        ("EATN0304", ProviderAuthError),
        ("EATN0399", ProviderUnavailable),
        ("EATN0346", ProviderRequestInvalid),
        ("EATN0301", ProviderRequestInvalid),
        ("EATN1201", ProviderRequestInvalid),
    ],
)
def test_key_codes_have_the_agreed_classes(code: str, expected: type[ProviderError]) -> None:
    assert EATN_CODES[code].error is expected


@pytest.mark.parametrize("code", ["EATN0396", "EATN0398"])
def test_catch_all_codes_prefer_the_providers_own_message(code: str) -> None:
    body = error_body(code, "shop_transaction_no", message="加盟店取引IDが重複しています。")
    error = error_from_response("charge", 400, body)
    assert error.message == "加盟店取引IDが重複しています。"
    assert [f.field for f in error.fields] == ["shop_transaction_no"]


def test_specific_codes_use_the_official_message_not_the_providers() -> None:
    error = error_from_response("charge", 400, error_body("EATN0301", message="別の文言"))
    assert error.message == "決済認証トークンが指定されていません。"


def test_auth_failure_message_is_the_official_one() -> None:
    error = error_from_response("fetch", 401, error_body("EATN0306", status_name="Unauthorized"))
    assert isinstance(error, ProviderAuthError)
    assert error.message.startswith("認証に失敗しました。")
    assert error.code == "fetch:EATN0306"


def test_zip_code_error_points_at_our_customer_field() -> None:
    error = error_from_response("charge", 400, error_body("EATN0346", "zip_code"))
    assert isinstance(error, ProviderRequestInvalid)
    assert [(f.field, f.code) for f in error.fields] == [("customer.zip_code", "EATN0346")]
    assert error.fields[0].message.startswith("郵便番号は半角数字7桁")


def test_destination_param_wins_over_the_code_default() -> None:
    error = error_from_response("charge", 400, error_body("EATN0346", "dest_zip_code"))
    assert [f.field for f in error.fields] == ["destinations[*].zip_code"]


@pytest.mark.parametrize(
    ("param", "field"),
    [
        ("items[2].item_price", "items[2].unit_price"),
        ("items.3.item_price", "items[3].unit_price"),
        ("item_price", "items[*].unit_price"),
        ("", "items[*].unit_price"),
    ],
)
def test_item_errors_carry_the_line_index_when_derivable(param: str, field: str) -> None:
    error = error_from_response("charge", 400, error_body("EATN0339", param))
    assert [f.field for f in error.fields] == [field]


def test_all_field_errors_of_one_answer_are_kept() -> None:
    body = {
        "name": "InvalidRequest",
        "message": "x",
        "errors": [
            {"code": "EATN0331", "messages": ["a"], "params": ["amount"]},
            {"code": "EATN0349", "messages": ["b"], "params": ["email"]},
        ],
    }
    error = error_from_response("charge", 400, body)
    assert isinstance(error, ProviderRequestInvalid)
    assert [f.field for f in error.fields] == ["amount", "customer.email"]
    assert error.code == "charge:EATN0331"
    assert EATN_CODES["EATN0331"].message in error.message
    assert EATN_CODES["EATN0349"].message in error.message


def test_0360_means_contract_unless_sex_division_is_named() -> None:
    contract = error_from_response("charge", 400, error_body("EATN0360", "NP_Token"))
    field = error_from_response("charge", 400, error_body("EATN0360", "sex_division"))
    assert "契約" in contract.message
    assert "性別" in field.message


def test_unavailable_wins_over_other_codes_in_one_answer() -> None:
    body = {"errors": [{"code": "EATN0331"}, {"code": "EATN0399"}]}
    error = error_from_response("charge", 400, body)
    assert isinstance(error, ProviderUnavailable)
    assert error.code == "charge:EATN0399"


def test_settle_already_settled_keeps_the_action_prefix() -> None:
    error = error_from_response("settle", 400, error_body("EATN1201"))
    assert error.code == "settle:EATN1201"
    assert "売上確定済み" in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_5xx_and_429_are_unavailable_with_or_without_a_body(status: int) -> None:
    assert isinstance(error_from_response("charge", status, None), ProviderUnavailable)
    assert isinstance(error_from_response("charge", status, error_body("EATN0331")), ProviderUnavailable)


def test_unknown_4xx_code_with_an_errors_array_is_request_invalid() -> None:
    error = error_from_response("refund", 400, error_body("EATN9999", message="謎のエラー"))
    assert type(error) is ProviderRequestInvalid
    assert error.code == "refund:EATN9999"
    assert error.message == "謎のエラー"


@pytest.mark.parametrize(("status", "body"), [(400, None), (403, "<html>"), (418, {"foo": 1}), (404, None)])
def test_unreadable_4xx_is_unavailable_closed_by_default(status: int, body: object) -> None:
    error = error_from_response("charge", status, body)
    assert type(error) is ProviderUnavailable
    assert error.code == f"charge:HTTP{status}"


def test_401_without_a_body_is_an_auth_error() -> None:
    assert isinstance(error_from_response("fetch", 401, None), ProviderAuthError)


def test_404_with_a_json_body_is_transaction_not_found() -> None:
    assert isinstance(error_from_response("fetch", 404, error_body("EATN0398", "id")), TransactionNotFound)
    assert isinstance(error_from_response("fetch", 404, {"message": "not found"}), TransactionNotFound)


def test_request_id_and_payload_are_kept() -> None:
    body = error_body("EATN0331", "amount")
    error = error_from_response("charge", 400, body, request_id="rid-1")
    assert error.request_id == "rid-1"
    assert error.payload == {"http_status": 400, "body": body}


def test_decline_reasons_have_japanese_messages() -> None:
    assert set(DECLINE_MESSAGES) == {"1", "9"}
    assert "ご利用可能額を超えている" in decline_message("1")
    assert decline_message("9").startswith("審査の結果")
    assert "理由コード: 7" in decline_message("7")
