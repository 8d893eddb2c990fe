"""The shared carrier vocabulary (kessai.providers.carriers) and NP後払い's code map."""

from __future__ import annotations

import pytest

from kessai.providers import carriers
from kessai.providers.np_atobarai import const

# §1.6 of the protocol note, verbatim.
NOTE_CARRIER_CODES = {
    "50000",
    "59010",
    "59020",
    "59030",
    "59040",
    "59041",
    "59042",
    "59043",
    "59050",
    "59060",
    "59080",
    "59090",
    "59100",
    "59110",
    "59140",
    "59150",
    "59160",
    "55555",
}


def test_codes_are_unique_snake_case_with_japanese_names() -> None:
    codes = [c.code for c in carriers.CARRIERS]
    assert len(codes) == len(set(codes))
    assert {"sagawa", "yamato", "japanpost", "seino", "fukuyama", "other"} <= set(codes)
    assert all(c.code.isascii() and c.code == c.code.lower() for c in carriers.CARRIERS)
    assert carriers.carrier("yamato").name == "ヤマト運輸"
    assert carriers.carrier("sagawa").name == "佐川急便"


def test_every_np_carrier_code_of_the_note_is_mapped_from_exactly_one_vocabulary_code() -> None:
    assert set(const.CARRIER_CODES.values()) == NOTE_CARRIER_CODES
    assert len(const.CARRIER_CODES) == len(NOTE_CARRIER_CODES)
    assert set(const.CARRIER_CODES) <= set(carriers.by_code())
    assert "other" not in const.CARRIER_CODES  # NP has no 「その他」: refused rather than guessed


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("yamato", "yamato"),
        ("ヤマト運輸", "yamato"),
        ("ヤマト", "yamato"),
        ("ＹＡＭＡＴＯ", "yamato"),
        ("佐川 急便", "sagawa"),
        ("ゆうパック", "japanpost"),
        ("ゆうパケット", "yupacket"),
        ("西濃運輸", "seino"),
        ("福山通運", "fukuyama"),
        ("ご契約運送会社", "contracted"),
    ],
)
def test_resolve_accepts_codes_japanese_names_and_aliases(text: str, code: str) -> None:
    found = carriers.resolve(text)
    assert found is not None
    assert found.code == code


def test_resolve_and_carrier_refuse_unknown_names() -> None:
    assert carriers.resolve("飛行機便") is None
    assert carriers.resolve("") is None
    with pytest.raises(carriers.UnknownCarrier):
        carriers.carrier("pigeon")


@pytest.mark.parametrize(
    ("code", "raw", "normalised"),
    [
        ("yamato", "1234-5678-9012", "123456789012"),
        ("yamato", "１２３４ ５６７８ ９０１２", "123456789012"),
        ("sagawa", "123456789012", "123456789012"),
        ("japanpost", "1234-5678-901", "12345678901"),
        ("japanpost", "1234567890123", "1234567890123"),
        ("seino", "1234567890", "1234567890"),
        ("fukuyama", "123456789012", "123456789012"),
        ("tonami", "AB-123", "AB-123"),
        ("other", "X1", "X1"),
    ],
)
def test_valid_slip_numbers_are_normalised(code: str, raw: str, normalised: str) -> None:
    assert carriers.slip_error(code, raw) is None
    assert carriers.validate_slip(code, raw) == normalised


@pytest.mark.parametrize(
    ("code", "raw", "message"),
    [
        ("yamato", "12345678901", "ヤマト運輸の伝票番号は半角数字12桁で入力してください。"),
        ("sagawa", "ABC123456789", "佐川急便の伝票番号は半角数字12桁で入力してください。"),
        ("japanpost", "1234567890", "日本郵便(ゆうパック)の伝票番号は半角数字11〜13桁で入力してください。"),
        ("seino", "123456789", "西濃運輸の伝票番号は半角数字10〜12桁で入力してください。"),
        ("tonami", "伝票", "トナミ運輸の伝票番号は半角英数字とハイフン30文字以内で入力してください。"),
        ("yamato", "  ", "伝票番号を入力してください。"),
        ("pigeon", "123", "配送会社を選択してください。"),
    ],
)
def test_invalid_slip_numbers_get_a_japanese_message(code: str, raw: str, message: str) -> None:
    assert carriers.slip_error(code, raw) == message
    with pytest.raises(carriers.InvalidSlip) as exc:
        carriers.validate_slip(code, raw)
    assert exc.value.message == message
