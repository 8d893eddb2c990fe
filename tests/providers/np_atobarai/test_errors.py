"""NP codes → the error taxonomy, with Japanese messages and our field paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kessai.providers.base import (
    ProviderAuthError,
    ProviderRequestInvalid,
    ProviderUnavailable,
)
from kessai.providers.np_atobarai import errors
from kessai.providers.np_atobarai.errors import E_CODES, TransactionNotFound, error_from_codes, error_from_status

NOTE = Path("/work/shared/providers/np-atobarai.md")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def note_codes() -> set[str]:
    """Every E…/EPRO… code the protocol note names, ranges (E0100048–E0100091) expanded."""
    text = NOTE.read_text(encoding="utf-8") if NOTE.exists() else ""
    found = set(re.findall(r"\b(E\d{7}|EPRO\d{4})\b", text))
    for start, end in re.findall(r"E(\d{7})[–-]E(\d{7})", text):
        found |= {f"E{n:07d}" for n in range(int(start), int(end) + 1)}
    return found


def test_every_code_of_the_note_is_mapped_with_a_japanese_message() -> None:
    codes = note_codes() or {"E0100048", "E0100091", "E0100113", "E0100115", "E0131006", "EPRO0106"}
    missing = sorted(codes - set(E_CODES))
    assert missing == []
    assert all(JAPANESE.search(entry.message) for entry in E_CODES.values())


@pytest.mark.parametrize(
    ("code", "field"),
    [
        ("E0100048", "customer.name"),
        ("E0100051", "customer.name_kana"),
        ("E0100136", "customer.zip_code"),
        ("E0100062", "customer.address"),
        ("E0100066", "customer.phone"),
        ("E0100068", "customer.email"),
        ("E0100074", "destinations[0].name"),
        ("E0100137", "destinations[0].zip_code"),
        ("E0100087", "destinations[0].phone"),
    ],
)
def test_field_codes_point_at_our_order_fields(code: str, field: str) -> None:
    exc = error_from_codes("register", [code], status=400, request_id="rq1")
    assert type(exc) is ProviderRequestInvalid
    assert exc.code == f"register:{code}"
    assert [(f.field, f.code) for f in exc.fields] == [(field, code)]
    assert exc.message == E_CODES[code].message
    assert exc.request_id == "rq1"


def test_several_codes_keep_every_message_and_field() -> None:
    exc = error_from_codes("register", ["E0100057", "E0100063", "E0100057"], status=400)
    assert exc.code == "register:E0100057"
    assert exc.message.split("\n") == ["購入者の郵便番号を入力してください。", "購入者の電話番号を入力してください。"]
    assert [f.field for f in exc.fields] == ["customer.zip_code", "customer.phone"]
    assert exc.payload["codes"] == ["E0100057", "E0100063"]


def test_not_found_is_its_own_class_and_unknown_codes_are_request_invalid() -> None:
    assert type(error_from_codes("fetch", ["E0100113"], status=400)) is TransactionNotFound
    unknown = error_from_codes("register", ["E9999999"], status=400)
    assert type(unknown) is ProviderRequestInvalid
    assert unknown.message == "NP後払いがリクエストを受け付けませんでした(E9999999)。"
    assert unknown.fields == ()


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, ProviderAuthError), (403, ProviderAuthError), (429, ProviderUnavailable), (500, ProviderUnavailable)],
)
def test_statuses_without_codes_are_auth_or_unknown_outcome(status: int, cls: type) -> None:
    exc = error_from_status("shipment", status, body=None, request_id="r")
    assert type(exc) is cls
    assert exc.code == f"shipment:HTTP{status}"


def test_hold_review_and_decline_messages_are_japanese() -> None:
    assert errors.hold_message(["RE009"]) == (
        "NP後払い与信保留(RE009): ご請求先の住所情報が不足している可能性があります"
        "(建物名・部屋番号、会社名・店舗名をご確認ください)。"
    )
    two = errors.hold_message(["RE015", "RE023"])
    assert two.startswith("NP後払い与信保留(RE015、RE023): 配送先の住所情報が")
    assert "配送先の電話番号に誤りがある" in two
    assert errors.hold_message(["RE099"]).endswith("保留理由の詳細はNP後払いの加盟店管理画面でご確認ください。")
    assert set(errors.HOLD_REASONS) == {"RE009", "RE014", "RE015", "RE020", "RE021", "RE023", "RE026"}
    assert errors.review_message().startswith("NP後払いの審査中です。")
    assert errors.decline_message("NG001").startswith("ご利用限度額を超えているため")
    assert errors.decline_message("RE001") == errors.decline_message("NG001")
    assert errors.decline_message("NG777") == (
        "審査の結果、NP後払いをご利用いただけません(理由コード: NG777)。他のお支払い方法をご利用ください。"
    )
