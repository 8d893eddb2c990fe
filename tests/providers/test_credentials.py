"""Credential schemas (kessai.providers.credentials): pure unit tests, no database."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kessai.providers.credentials import (
    MASK,
    SCHEMAS,
    UNKNOWN_KEY_MESSAGE,
    CredentialField,
    CredentialSchema,
    UnknownProvider,
    schema_for,
)

EXPECTED_ORDER = [
    "gmo_pg",
    "gmo_atobarai",
    "gmo_epsilon",
    "yamato",
    "yamato_atobarai",
    "paygent",
    "sbps",
    "zeus",
    "veritrans",
    "sbps_carrier",
    "score_atobarai",
    "np_atobarai",
    "np_atobarai_realtime",
    "atobarai_com",
    "atodene",
    "atone",
    "paidy",
    "amazon_pay_v1",
    "amazon_pay_v2",
    "line_pay",
    "densan",
    "paypal",
]

ALL_SCHEMAS = list(SCHEMAS.values())


def _has_japanese(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA")) or ch == "ー" for ch in text)


def _good_values(schema: CredentialSchema) -> dict[str, object]:
    """A value for every field that passes the schema."""
    samples = {
        "authentication_id": "1234567890",
        "shop_code": "ab12345678" if schema.provider == "gmo_atobarai" else "SHOP001",
        "merchant_code": "akt0000000",
        "unique_code": "1234567",
        "terminal_id": "4000000400",
        "modal_display": "input",
    }
    out: dict[str, object] = {}
    for f in schema.fields:
        if f.kind == "bool":
            out[f.key] = True
        elif f.kind == "url":
            out[f.key] = "https://example.jp/path"
        elif f.kind == "file":
            out[f.key] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        elif f.key in samples:
            out[f.key] = samples[f.key]
        else:
            out[f.key] = f"{f.key}_value_0001"
    return out


# --- shape of the catalogue ---------------------------------------------------------------------


def test_every_payment_provider_of_the_seed_in_order() -> None:
    assert list(SCHEMAS) == EXPECTED_ORDER
    for code, schema in SCHEMAS.items():
        assert schema.provider == code
        assert schema.name
        assert schema.category in {"card", "deferred", "wallet", "carrier", "other"}


def test_non_payment_integrations_are_not_schemas() -> None:
    for code in ("relation", "maildealer", "line_id", "1d_color", "remise", "at_score"):
        assert code not in SCHEMAS


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.provider)
def test_keys_unique_snake_case_and_labels_japanese(schema: CredentialSchema) -> None:
    keys = [f.key for f in schema.fields]
    assert keys, schema.provider
    assert len(keys) == len(set(keys))
    for f in schema.fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", f.key)
        assert f.label.strip()
        # Labels are the seed's form labels: Japanese, or the seed's own English word (ClientIp, SP_CODE…).
        assert _has_japanese(f.label) or re.fullmatch(r"[A-Za-z_ ]+", f.label), f.label
        if f.pattern is not None:
            assert f.message
            assert _has_japanese(f.message)
        if f.kind == "secret":
            assert f.secret


def test_duplicate_keys_are_refused_at_definition() -> None:
    f = CredentialField(key="a", label="項目", secret=False)
    with pytest.raises(ValueError, match="duplicate"):
        CredentialSchema(provider="x", name="x", category="other", fields=(f, f))


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.provider)
def test_good_values_pass(schema: CredentialSchema) -> None:
    outcome = schema.validate(_good_values(schema))
    assert outcome.ok, outcome.errors
    assert set(outcome.cleaned) == {f.key for f in schema.fields}


def test_adapter_keys() -> None:
    assert schema_for("atone").keys() == ("public_key", "secret_key", "terminal_id", "amount_update_option")
    assert {"merchant_code", "sp_code", "terminal_id"} <= set(schema_for("np_atobarai").keys())
    assert {"merchant_code", "sp_code", "terminal_id"} == set(schema_for("np_atobarai_realtime").keys())
    assert {"public_key", "secret_key"} <= set(schema_for("paidy").keys())
    assert schema_for("gmo_atobarai").keys() == ("authentication_id", "shop_code", "connect_password")
    assert schema_for("atodene").keys() == ("shop_code", "link_id", "link_password")


def test_secret_flags() -> None:
    assert schema_for("atone").secret_keys() == {"secret_key"}
    assert schema_for("paidy").secret_keys() == {"secret_key"}
    assert schema_for("gmo_pg").secret_keys() == {"shop_password", "site_password", "sftp_password"}
    assert schema_for("sbps").secret_keys() == {"basic_auth_password", "hash_key"}
    assert schema_for("np_atobarai").secret_keys() == {"sp_code"}
    paygent = schema_for("paygent")
    assert "private_key" in paygent.secret_keys()
    for key in ("private_key", "client_certificate", "ca_certificate"):
        assert paygent.get_field(key).kind == "file"


def test_labels_as_the_seed_writes_them() -> None:
    gmo = schema_for("gmo_atobarai")
    assert gmo.name == "GMO 後払い"
    assert gmo.get_field("authentication_id").label == "認証 ID / サイト ID"
    assert gmo.get_field("authentication_id").help == "数字10桁のサイトIDを設定します。"
    assert schema_for("densan").get_field("unique_code").label == "固有値7桁(数字)"
    assert schema_for("np_atobarai_realtime").get_field("merchant_code").label == "SHOP_CODE"


def test_unknown_provider() -> None:
    with pytest.raises(UnknownProvider, match="nope") as info:
        schema_for("nope")
    assert isinstance(info.value, ValueError)


# --- format rules -------------------------------------------------------------------------------

FORMAT_CASES = [
    # provider, key, good, bad, the seed's rule as the message
    (
        "gmo_atobarai",
        "authentication_id",
        "1234567890",
        "123456789",
        "数字10桁のサイトIDを設定してください。",
    ),
    (
        "gmo_atobarai",
        "authentication_id",
        "0000000001",
        "12345678901",
        "数字10桁のサイトIDを設定してください。",
    ),
    (
        "gmo_atobarai",
        "authentication_id",
        "9876543210",
        "12345abcde",
        "数字10桁のサイトIDを設定してください。",
    ),
    ("gmo_atobarai", "shop_code", "ab00012345", "cd00012345", "abから始まる加盟店コードを設定してください。"),
    ("gmo_atobarai", "shop_code", "ab1", "xab1", "abから始まる加盟店コードを設定してください。"),
    (
        "np_atobarai_realtime",
        "merchant_code",
        "akt0000000",
        "akt000000",
        "aktから始まる10桁の加盟店コードを設定してください。(例:akt0000000)",
    ),
    (
        "np_atobarai_realtime",
        "merchant_code",
        "akt1234567",
        "abc1234567",
        "aktから始まる10桁の加盟店コードを設定してください。(例:akt0000000)",
    ),
    (
        "np_atobarai_realtime",
        "merchant_code",
        "akt7654321",
        "akt12345678",
        "aktから始まる10桁の加盟店コードを設定してください。(例:akt0000000)",
    ),
    ("densan", "unique_code", "1234567", "123456", "連携に必要な7桁の数字を設定してください。"),
    ("densan", "unique_code", "0000000", "12345678", "連携に必要な7桁の数字を設定してください。"),
    ("densan", "unique_code", "7654321", "12a4567", "連携に必要な7桁の数字を設定してください。"),
    ("atone", "terminal_id", "4000000400", "T-1", "端末IDは半角数字で設定してください。"),
]


@pytest.mark.parametrize(("provider", "key", "good", "bad", "message"), FORMAT_CASES)
def test_format_rule(provider: str, key: str, good: str, bad: str, message: str) -> None:
    schema = schema_for(provider)
    values = _good_values(schema)

    values[key] = good
    outcome = schema.validate(values)
    assert outcome.ok, outcome.errors
    assert outcome.cleaned[key] == good

    values[key] = bad
    outcome = schema.validate(values)
    assert not outcome.ok
    assert outcome.errors == {key: message}
    assert key not in outcome.cleaned


def test_non_ascii_digits_are_not_digits() -> None:
    # Arabic-Indic digits survive NFKC; [0-9] must refuse them (\d would not).
    schema = schema_for("densan")
    assert not schema.validate({"unique_code": "١٢٣٤٥٦٧"}).ok


def test_full_width_digits_are_normalised() -> None:
    schema = schema_for("gmo_atobarai")
    outcome = schema.validate(
        {"authentication_id": "１２３４５６７８９０", "shop_code": "ａｂ１２３", "connect_password": "pw"}
    )
    assert outcome.ok, outcome.errors
    assert outcome.cleaned["authentication_id"] == "1234567890"
    assert outcome.cleaned["shop_code"] == "ab123"

    np = schema_for("np_atobarai_realtime").validate(
        {"merchant_code": "　ａｋｔ０００００００　", "sp_code": "sp", "terminal_id": "１"}
    )
    assert np.ok, np.errors
    assert np.cleaned["merchant_code"] == "akt0000000"
    assert np.cleaned["terminal_id"] == "1"

    assert schema_for("densan").validate({"unique_code": "１２３４５６７"}).cleaned == {"unique_code": "1234567"}


def test_strings_are_stripped_and_numbers_accepted() -> None:
    outcome = schema_for("gmo_atobarai").validate(
        {"authentication_id": 1234567890, "shop_code": "  ab1\t", "connect_password": " secret \n"}
    )
    assert outcome.ok, outcome.errors
    assert outcome.cleaned == {
        "authentication_id": "1234567890",
        "shop_code": "ab1",
        "connect_password": "secret",
    }


def test_atone_emulator_test_keys_pass() -> None:
    outcome = schema_for("atone").validate(
        {"public_key": "pk_test_kessai_demo_atone", "secret_key": "sk_test_kessai_demo_atone"}
    )
    assert outcome.ok, outcome.errors
    assert outcome.cleaned == {
        "public_key": "pk_test_kessai_demo_atone",
        "secret_key": "sk_test_kessai_demo_atone",
    }
    real_looking = schema_for("atone").validate(
        {"public_key": "bB2uNvcOP2o8fJzHpWUumA", "secret_key": "-BQhbgwCordkeJjKnY-Z3w", "terminal_id": ""}
    )
    assert real_looking.ok, real_looking.errors
    assert "terminal_id" not in real_looking.cleaned

    spaced = schema_for("atone").validate({"public_key": "pk test", "secret_key": "sk_x"})
    assert spaced.errors == {"public_key": "公開鍵は空白を含まない半角英数字・記号で入力してください。"}


# --- required, unknown, types -------------------------------------------------------------------


def test_required_fields() -> None:
    outcome = schema_for("gmo_atobarai").validate({"authentication_id": "   ", "shop_code": None})
    assert outcome.errors == {
        "authentication_id": "認証 ID / サイト IDを入力してください。",
        "shop_code": "加盟店コードを入力してください。",
        "connect_password": "接続パスワードを入力してください。",
    }
    assert outcome.cleaned == {}
    # A full-width space alone is empty too.
    assert "authentication_id" in schema_for("gmo_atobarai").validate({"authentication_id": "\u3000"}).errors


def test_optional_fields_may_be_left_out() -> None:
    schema = schema_for("gmo_pg")
    values = {
        "shop_id": "tshop00000001",
        "shop_password": "p",
        "site_id": "tsite00000001",
        "site_password": "s",
    }
    outcome = schema.validate(values)
    assert outcome.ok, outcome.errors
    assert outcome.cleaned == values


def test_defaults_fill_optional_fields() -> None:
    paypal = schema_for("paypal").validate({"seller_merchant_id": "ABCDEFGHIJKLM"})
    assert paypal.cleaned == {"seller_merchant_id": "ABCDEFGHIJKLM", "sandbox": "true"}
    assert schema_for("paypal").validate({"seller_merchant_id": "X", "sandbox": "OFF"}).cleaned["sandbox"] == "false"


def test_unknown_keys_are_refused() -> None:
    values = _good_values(schema_for("atone"))
    values["password"] = "x"
    values["merchant_code"] = "akt0000000"
    outcome = schema_for("atone").validate(values)
    assert outcome.errors == {"password": UNKNOWN_KEY_MESSAGE, "merchant_code": UNKNOWN_KEY_MESSAGE}
    assert UNKNOWN_KEY_MESSAGE == "不明な項目です。"
    assert "password" not in outcome.cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        (True, "true"),
        (False, "false"),
        ("有効", "true"),
        ("無効", "false"),
        ("ON", "true"),
        ("ｏｆｆ", "false"),
        (1, "true"),
    ],
)
def test_bool_fields(raw: object, cleaned: str) -> None:
    schema = schema_for("atone")
    outcome = schema.validate({"public_key": "pk", "secret_key": "sk", "amount_update_option": raw})
    assert outcome.ok, outcome.errors
    assert outcome.cleaned["amount_update_option"] == cleaned


def test_bad_bool_and_choice() -> None:
    atone = schema_for("atone").validate({"public_key": "pk", "secret_key": "sk", "amount_update_option": "maybe"})
    assert atone.errors == {"amount_update_option": "金額更新オプションは「有効」または「無効」を選択してください。"}

    paidy = schema_for("paidy")
    ok = paidy.validate({"public_key": "pk_test_1", "secret_key": "sk_test_1", "modal_display": "確認ページ"})
    assert ok.cleaned["modal_display"] == "confirm"
    bad = paidy.validate({"public_key": "pk_test_1", "secret_key": "sk_test_1", "modal_display": "popup"})
    assert bad.errors == {"modal_display": "モーダル表示は次のいずれかを選択してください: 入力ページ、確認ページ"}


def test_url_control_char_and_type_errors() -> None:
    paidy = schema_for("paidy")
    base = {"public_key": "pk_test_1", "secret_key": "sk_test_1"}
    assert paidy.validate({**base, "logo_url": "javascript:alert(1)"}).errors == {
        "logo_url": "ロゴURLはhttp://またはhttps://で始まるURLを入力してください。"
    }
    assert paidy.validate({**base, "logo_url": "https://shop.example.jp/logo.png"}).ok

    np = schema_for("np_atobarai")
    injected = np.validate({"merchant_code": "m", "sp_code": "s", "terminal_id": "1\r\nX-Evil: 1"})
    assert injected.errors == {"terminal_id": "端末IDに改行や制御文字は使用できません。"}

    typed = np.validate({"merchant_code": ["m"], "sp_code": True, "terminal_id": "1"})
    assert typed.errors == {
        "merchant_code": "加盟店コードは文字列で入力してください。",
        "sp_code": "SP_CODEは文字列で入力してください。",
    }


def test_files_keep_newlines() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\r\nMIIE\r\n-----END PRIVATE KEY-----\r\n"
    values = _good_values(schema_for("paygent"))
    values["private_key"] = pem
    outcome = schema_for("paygent").validate(values)
    assert outcome.ok, outcome.errors
    assert outcome.cleaned["private_key"] == pem.strip()


def test_too_long() -> None:
    outcome = schema_for("line_pay").validate({"channel_id": "1" * 1025, "channel_secret": "s"})
    assert outcome.errors == {"channel_id": "チャンネルIDは1024文字以内で入力してください。"}


# --- masking ------------------------------------------------------------------------------------


def test_mask() -> None:
    schema = schema_for("atone")
    masked = schema.mask(
        {
            "public_key": "pk_test_kessai_demo_atone",
            "secret_key": "sk_test_kessai_demo_atone",
            "terminal_id": "1",
        }
    )
    assert masked == {
        "public_key": "pk_test_kessai_demo_atone",
        "secret_key": MASK + "tone",
        "terminal_id": "1",
    }
    assert schema.mask({"secret_key": "short"}) == {"secret_key": MASK}
    assert schema.mask({"secret_key": "12345678901"}) == {"secret_key": MASK}  # 11 chars: nothing shown
    assert schema.mask({"secret_key": "123456789012"}) == {"secret_key": MASK + "9012"}  # 12 chars
    assert schema.mask({"secret_key": ""}) == {"secret_key": ""}
    # Keys the schema does not know are not assumed harmless.
    assert schema.mask({"password": "hunter2-hunter2"}) == {"password": MASK}


@settings(max_examples=200, deadline=None)
@given(schema=st.sampled_from(ALL_SCHEMAS), data=st.data())
def test_mask_never_reveals_more_than_last_four(schema: CredentialSchema, data: st.DataObject) -> None:
    secret_fields = sorted(schema.secret_keys())
    assume(secret_fields)
    key = data.draw(st.sampled_from(secret_fields))
    value = data.draw(st.text(min_size=1, max_size=40))
    shown = schema.mask({key: value})[key]
    assert shown.startswith(MASK)
    tail = shown[len(MASK) :]
    if len(value) < 12:
        assert tail == ""
    else:
        assert tail == value[-4:]


# --- secrets never reach an error message ---------------------------------------------------------

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=1100),
    st.sampled_from(["１２３４５６７８９０", "akt0000000", "ab1", "\u3000", "有効"]),
)


@settings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(ALL_SCHEMAS), data=st.data())
def test_validate_never_puts_a_secret_into_an_error(schema: CredentialSchema, data: st.DataObject) -> None:
    values: dict[str, object] = {}
    for f in schema.fields:
        if data.draw(st.booleans()):
            values[f.key] = data.draw(_values)
    for f in schema.fields:
        if f.secret:
            # Always send every secret, as text, including ones that break formats.
            values[f.key] = data.draw(st.text(min_size=3, max_size=80))
    if data.draw(st.booleans()):
        values[data.draw(st.sampled_from(["extra", "password", "secret"]))] = data.draw(st.text(max_size=20))

    possible = {UNKNOWN_KEY_MESSAGE}
    for f in schema.fields:
        possible.update(f.possible_errors())

    outcome = schema.validate(values)
    for key, message in outcome.errors.items():
        # Messages come from the schema only, never from the value...
        assert message in possible, (key, message)
        assert _has_japanese(message)
        # ...so no secret can be in one, unless the secret happens to be schema text itself.
        for f in schema.fields:
            if not f.secret:
                continue
            secret = values[f.key]
            assert isinstance(secret, str)
            for form in {secret, secret.strip(), unicodedata.normalize("NFKC", secret).strip()}:
                if len(form) >= 3 and not any(form in p for p in possible):
                    assert form not in message
