"""Credential schemas: what the back-office form asks for, per payment provider.

One :class:`CredentialSchema` per payment provider of the ecforce 外部連携アカウント管理 seed
(``/work/shared/seeds/004``), in the seed's order. Keys are English snake_case and match what the
adapters send on the wire (see ``/work/shared/providers/*.md``); labels are the Japanese form labels
exactly as the seed writes them; ``help`` is the seed's description; format rules the seed states are
``pattern`` + ``message`` (the seed's wording, turned into 「…を設定してください。」).

Pure Python (no Django): the API, the back-office form and the adapters all share it.

Validation never echoes a value: every error message is built from the field's label and fixed
templates only (see :meth:`CredentialField.possible_errors`), so secrets cannot leak into errors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "MASK",
    "SCHEMAS",
    "UNKNOWN_KEY_MESSAGE",
    "CredentialField",
    "CredentialSchema",
    "UnknownProvider",
    "ValidationOutcome",
    "normalize",
    "schema_for",
]

Kind = Literal["text", "secret", "file", "bool", "choice", "url"]
Category = Literal["card", "deferred", "wallet", "carrier", "other"]

MASK = "••••••••"
"""What a secret is shown as; the last 4 characters follow only for secrets of 12+ characters."""
_MASK_REVEAL_MIN_LEN = 12
_MASK_REVEAL_TAIL = 4

UNKNOWN_KEY_MESSAGE = "不明な項目です。"

# Message templates. Only ``{label}`` / ``{max_length}`` / ``{choices}`` are substituted, and only
# with schema text, never with the submitted value.
_REQUIRED = "{label}を入力してください。"
_NOT_TEXT = "{label}は文字列で入力してください。"
_CONTROL = "{label}に改行や制御文字は使用できません。"
_TOO_LONG = "{label}は{max_length}文字以内で入力してください。"
_BAD_FORMAT = "{label}の形式が正しくありません。"
_BAD_URL = "{label}はhttp://またはhttps://で始まるURLを入力してください。"
_BAD_BOOL = "{label}は「有効」または「無効」を選択してください。"
_BAD_CHOICE = "{label}は次のいずれかを選択してください: {choices}"

_MAX_LENGTH: Mapping[str, int] = {"file": 65_536, "url": 2_048}
_DEFAULT_MAX_LENGTH = 1_024

_TRUE_WORDS = frozenset({"true", "1", "on", "yes", "有効", "表示", "する"})
_FALSE_WORDS = frozenset({"false", "0", "off", "no", "無効", "非表示", "しない"})
_FILE_ALLOWED_CONTROLS = frozenset("\n\r\t")

# Non-empty printable ASCII without spaces: lenient enough for test keys such as
# ``pk_test_kessai_demo_atone`` while refusing pasted sentences / full-width junk.
_ASCII_WORD_PATTERN = r"[!-~]+"
_ASCII_WORD_MESSAGE = "{label}は空白を含まない半角英数字・記号で入力してください。"


def normalize(value: str) -> str:
    """NFKC-normalise (full-width → ASCII) and strip surrounding whitespace."""
    return unicodedata.normalize("NFKC", value).strip()


def _has_control(value: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(unicodedata.category(ch).startswith("C") and ch not in allowed for ch in value)


class UnknownProvider(ValueError):
    """No credential schema (or adapter) for this provider code."""


@dataclass(frozen=True)
class CredentialField:
    key: str  # English snake_case
    label: str  # the Japanese label exactly as the seed writes it
    secret: bool  # passwords, secret keys, private keys, hash keys … → True
    required: bool = True
    kind: Kind = "text"
    pattern: str | None = None  # fullmatch against the NFKC-normalised, stripped value
    message: str | None = None  # the Japanese error when ``pattern`` fails
    help: str = ""  # the seed's description
    choices: tuple[tuple[str, str], ...] = ()  # (code, Japanese label)
    default: str | None = None  # cleaned value used when an optional field is left empty

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.key):
            raise ValueError(f"credential key {self.key!r} is not snake_case")
        if not self.label.strip():
            raise ValueError(f"credential field {self.key!r} has no label")
        if self.kind == "secret" and not self.secret:
            raise ValueError(f"credential field {self.key!r}: kind 'secret' must be secret")
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"credential field {self.key!r}: choices go with kind 'choice' only")
        if self.message is not None and self.pattern is None:
            raise ValueError(f"credential field {self.key!r}: message without pattern")
        if self.pattern is not None:
            re.compile(self.pattern)

    @property
    def max_length(self) -> int:
        return _MAX_LENGTH.get(self.kind, _DEFAULT_MAX_LENGTH)

    def _fmt(self, template: str) -> str:
        choices = "、".join(label for _, label in self.choices)
        return template.format(label=self.label, max_length=self.max_length, choices=choices)

    def possible_errors(self) -> tuple[str, ...]:
        """Every message :meth:`CredentialSchema.validate` can report for this field.

        Messages depend only on the schema, never on the submitted value.
        """
        if self.kind == "bool":
            return (self._fmt(_REQUIRED), self._fmt(_BAD_BOOL))
        if self.kind == "choice":
            return (self._fmt(_REQUIRED), self._fmt(_BAD_CHOICE))
        out = [self._fmt(_REQUIRED), self._fmt(_NOT_TEXT), self._fmt(_CONTROL), self._fmt(_TOO_LONG)]
        if self.kind == "url":
            out.append(self._fmt(_BAD_URL))
        if self.pattern is not None:
            out.append(self._fmt(self.message or _BAD_FORMAT))
        return tuple(out)

    def clean(self, raw: object) -> tuple[str | None, str | None]:
        """Return ``(cleaned, error)``; ``(None, None)`` means "left empty, and that is fine"."""
        if self.kind == "bool":
            return self._clean_bool(raw)
        if raw is None:
            text = ""
        elif isinstance(raw, str):
            text = normalize(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            text = str(raw)  # e.g. a site id sent as a JSON number
        else:
            return None, self._fmt(_NOT_TEXT if self.kind != "choice" else _BAD_CHOICE)
        if not text:
            return self._empty()
        if self.kind == "choice":
            return self._clean_choice(text)
        if _has_control(text, _FILE_ALLOWED_CONTROLS if self.kind == "file" else frozenset()):
            return None, self._fmt(_CONTROL)
        if len(text) > self.max_length:
            return None, self._fmt(_TOO_LONG)
        if self.kind == "url" and not _looks_like_url(text):
            return None, self._fmt(_BAD_URL)
        if self.pattern is not None and re.fullmatch(self.pattern, text) is None:
            return None, self._fmt(self.message or _BAD_FORMAT)
        return text, None

    def _empty(self) -> tuple[str | None, str | None]:
        if self.required:
            return None, self._fmt(_REQUIRED)
        return self.default, None

    def _clean_bool(self, raw: object) -> tuple[str | None, str | None]:
        if raw is None or (isinstance(raw, str) and not normalize(raw)):
            return self._empty()
        if isinstance(raw, bool):
            return ("true" if raw else "false"), None
        if isinstance(raw, int) and raw in (0, 1):
            return ("true" if raw else "false"), None
        if isinstance(raw, str):
            word = normalize(raw).lower()
            if word in _TRUE_WORDS:
                return "true", None
            if word in _FALSE_WORDS:
                return "false", None
        return None, self._fmt(_BAD_BOOL)

    def _clean_choice(self, text: str) -> tuple[str | None, str | None]:
        for code, label in self.choices:
            if text in (code, label):
                return code, None
        return None, self._fmt(_BAD_CHOICE)


def _looks_like_url(text: str) -> bool:
    if any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class ValidationOutcome:
    cleaned: dict[str, str]
    errors: dict[str, str]  # key → Japanese message (never containing a submitted value)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class CredentialSchema:
    provider: str  # code, e.g. "gmo_atobarai"
    name: str  # display name as the seed writes it, e.g. "GMO 後払い"
    category: Category
    fields: tuple[CredentialField, ...]
    _by_key: Mapping[str, CredentialField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, CredentialField] = {}
        for f in self.fields:
            if f.key in by_key:
                raise ValueError(f"{self.provider}: duplicate credential key {f.key!r}")
            by_key[f.key] = f
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))

    def get_field(self, key: str) -> CredentialField:
        return self._by_key[key]

    def keys(self) -> tuple[str, ...]:
        return tuple(self._by_key)

    def secret_keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields if f.secret)

    def validate(self, values: Mapping[str, object]) -> ValidationOutcome:
        """Normalise and check submitted credentials.

        Strings are NFKC-normalised and stripped; empty optional fields are left out of
        ``cleaned`` (or take the field's default); booleans are cleaned to "true"/"false" and
        choices to their code. Unknown keys are refused.
        """
        cleaned: dict[str, str] = {}
        errors: dict[str, str] = {}
        for key in values:
            if key not in self._by_key:
                errors[str(key)] = UNKNOWN_KEY_MESSAGE
        for f in self.fields:
            value, error = f.clean(values.get(f.key))
            if error is not None:
                errors[f.key] = error
            elif value is not None:
                cleaned[f.key] = value
        return ValidationOutcome(cleaned=cleaned, errors=errors)

    def mask(self, values: Mapping[str, str]) -> dict[str, str]:
        """Values fit for display: secrets (and keys this schema does not know) masked."""
        out: dict[str, str] = {}
        for key, value in values.items():
            f = self._by_key.get(key)
            if f is not None and not f.secret:
                out[key] = value
            elif not value:
                out[key] = ""
            elif f is not None and len(value) >= _MASK_REVEAL_MIN_LEN:
                out[key] = MASK + value[-_MASK_REVEAL_TAIL:]
            else:
                out[key] = MASK
        return out


# --------------------------------------------------------------------------------------------
# Field helpers


def _text(
    key: str,
    label: str,
    help: str = "",
    *,
    required: bool = True,
    kind: Kind = "text",
    pattern: str | None = None,
    message: str | None = None,
    default: str | None = None,
) -> CredentialField:
    return CredentialField(
        key=key,
        label=label,
        secret=False,
        required=required,
        kind=kind,
        pattern=pattern,
        message=message,
        help=help,
        default=default,
    )


def _secret(key: str, label: str, help: str = "", *, required: bool = True) -> CredentialField:
    return CredentialField(key=key, label=label, secret=True, required=required, kind="secret", help=help)


def _bool(key: str, label: str, help: str = "", default: str | None = None) -> CredentialField:
    return CredentialField(key=key, label=label, secret=False, required=False, kind="bool", help=help, default=default)


def _ascii_word(key: str, label: str, help: str, *, secret: bool) -> CredentialField:
    return CredentialField(
        key=key,
        label=label,
        secret=secret,
        kind="secret" if secret else "text",
        pattern=_ASCII_WORD_PATTERN,
        message=_ASCII_WORD_MESSAGE.format(label=label),
        help=help,
    )


_SECURITY_CODE_HELP = "「有効」に設定している場合は、購入フォームでセキュリティーコードの入力を要求します。"


def _sbps_fields() -> tuple[CredentialField, ...]:
    return (
        _text("merchant_id", "マーチャントID", "マーチャントIDを設定します。"),
        _text("service_id", "サービスID", "サービスIDを設定します。"),
        _text("basic_auth_id", "Basic認証ID", "Basic認証IDを設定します。"),
        _secret("basic_auth_password", "Basic認証Password", "Basic認証Passwordを設定します。"),
        _secret("hash_key", "ハッシュキー", "ハッシュキーを設定します。"),
    )


# --------------------------------------------------------------------------------------------
# The schemas, in the seed's order (ecforce 外部連携アカウント管理 §1–§25).

_ALL: tuple[CredentialSchema, ...] = (
    # 1. GMO PG — クレジットカード決済. Shop/site credentials go into ShopID/ShopPass, SiteID/SitePass.
    CredentialSchema(
        provider="gmo_pg",
        name="GMO PG",
        category="card",
        fields=(
            _text(
                "shop_id",
                "ショップ ID",
                "ショップIDを設定します。ショップ管理画面にアクセスするために必要なIDです。",
            ),
            _secret(
                "shop_password",
                "ショップパスワード",
                "ショップパスワードを設定します。ショップ管理画面にアクセスするために必要なパスワードです。",
            ),
            _text(
                "site_id",
                "サイト ID",
                "サイトIDを設定します。サイト管理画面にアクセスするために必要なIDです。",
            ),
            _secret(
                "site_password",
                "サイトパスワード",
                "サイトパスワードを設定します。サイト管理画面にアクセスするために必要なパスワードです。",
            ),
            _text(
                "sftp_ip_address",
                "SFTP 接続先 IP アドレス",
                "SFTP 接続先 IP アドレスを設定します。"
                "GMO PGのSFTPサーバと接続するために必要なIP アドレスです。"
                "※SFTP 連携オプションのご契約時に発行される「SFTPサーバ設定のお知らせ」をご参照ください。",
                required=False,
            ),
            _text(
                "sftp_login_id",
                "SFTP ログインID",
                "SFTP ログイン IDを設定します。GMO PGのSFTPサーバと接続するために必要なログイン IDです。"
                "※SFTP 連携オプションのご契約時に発行される「SFTPサーバ設定のお知らせ」をご参照ください。",
                required=False,
            ),
            _secret(
                "sftp_password",
                "SFTP パスワード",
                "SFTP パスワードを設定します。GMO PGのSFTPサーバと接続するために必要なパスワードです。"
                "※SFTP 連携オプションのご契約時に発行される「SFTPサーバ設定のお知らせ」をご参照ください。",
                required=False,
            ),
            _bool("security_code_required", "セキュリティコードの入力", _SECURITY_CODE_HELP),
            _bool("epos_enabled", "エポス連携", "エポスカード即時発行スキームの利用有無を設定します。"),
            _text(
                "epos_store_code",
                "エポス提携店コード",
                "エポス提携店コードを設定します。エポスカードお申込画面にアクセスするために必要なIDです。",
                required=False,
            ),
            _text(
                "epos_banner_url",
                "バナーURL",
                "エポスバナーを設定します。",
                required=False,
                kind="url",
            ),
        ),
    ),
    # 2. GMO 後払い — keys follow the XML shopInfo{authenticationId, shopCode, connectPassword}.
    CredentialSchema(
        provider="gmo_atobarai",
        name="GMO 後払い",
        category="deferred",
        fields=(
            _text(
                "authentication_id",
                "認証 ID / サイト ID",
                "数字10桁のサイトIDを設定します。",
                pattern=r"[0-9]{10}",
                message="数字10桁のサイトIDを設定してください。",
            ),
            _text(
                "shop_code",
                "加盟店コード",
                "abから始まる加盟店コードを設定します。",
                pattern=r"ab[!-~]*",
                message="abから始まる加盟店コードを設定してください。",
            ),
            _secret("connect_password", "接続パスワード", "自動連携パスワードを設定します。"),
        ),
    ),
    # 3. GMO Epsilon — クレジットカード決済.
    CredentialSchema(
        provider="gmo_epsilon",
        name="GMO Epsilon",
        category="card",
        fields=(
            _text("host", "ホスト", "ホスト名を設定します。"),
            _text("token_url", "トークン取得 URL", "トークンを取得するURLを設定します。", kind="url"),
            _text("contract_code", "契約コード", "契約コードを設定します。"),
            _bool("security_code_required", "セキュリティーコードの入力", _SECURITY_CODE_HELP),
        ),
    ),
    # 4. ヤマト — クレジットカード決済 (クロネコwebコレクト).
    CredentialSchema(
        provider="yamato",
        name="ヤマト",
        category="card",
        fields=(
            _text("merchant_code", "加盟店コード", "加盟店コードを設定します。"),
            _secret("password", "パスワード", "パスワードを設定します。"),
            # Treated as secret: the seed gives no hint it is public, so err on the masked side.
            _secret("access_key", "アクセスキー", "アクセスキーを設定します。"),
        ),
    ),
    # 5. ヤマト後払い — body fields ycfStrCode (加盟店コード) + password.
    CredentialSchema(
        provider="yamato_atobarai",
        name="ヤマト後払い",
        category="deferred",
        fields=(
            _text("merchant_code", "加盟店コード", "加盟店コードを設定します。"),
            _secret("password", "パスワード", "パスワードを設定します。"),
        ),
    ),
    # 6. Paygent — client-certificate TLS: the key and certificates are uploaded files (PEM text).
    CredentialSchema(
        provider="paygent",
        name="Paygent",
        category="card",
        fields=(
            CredentialField(
                key="private_key",
                label="秘密鍵",
                secret=True,
                kind="file",
                help="ファイルを選択し、秘密鍵を設定します。",
            ),
            CredentialField(
                key="client_certificate",
                label="クライアント証明書",
                secret=False,
                kind="file",
                help="ファイルを選択し、クライアント証明書を設定します。",
            ),
            CredentialField(
                key="ca_certificate",
                label="認証済み CA",
                secret=False,
                kind="file",
                help="ファイルを選択し、認証済みCAを設定します。",
            ),
            _text("connect_id", "接続 ID", "接続IDを設定します。"),
            _secret("connect_password", "接続パスワード", "接続パスワードを設定します。"),
            _text("merchant_id", "マーチャント ID", "マーチャントIDを設定します。"),
            # The token key is handed to the browser's token JS: public, not a secret.
            _text("token_key", "トークン生成鍵", "トークン生成鍵を設定します。"),
        ),
    ),
    # 7. SBPS — クレジットカード決済 (Basic auth merchant_id+service_id / hash key; sps_hashcode).
    CredentialSchema(
        provider="sbps",
        name="SBPS",
        category="card",
        fields=(
            *_sbps_fields(),
            _bool("security_code_required", "セキュリティコードの入力", _SECURITY_CODE_HELP),
        ),
    ),
    # 8. Zeus — クレジットカード決済.
    CredentialSchema(
        provider="zeus",
        name="Zeus",
        category="card",
        fields=(
            _text("client_ip", "ClientIp", "ClientIpを設定します。"),
            _secret("client_ip_zkey", "ClientIpZkey", "ClientIpZkeyを設定します。"),
            _bool("security_code_required", "セキュリティコードの入力", _SECURITY_CODE_HELP),
        ),
    ),
    # 9. Veritrans (クレジットカード・後払い) — MDK.
    CredentialSchema(
        provider="veritrans",
        name="Veritrans",
        category="card",
        fields=(
            CredentialField(
                key="ac_certificate",
                label="AC証明書",
                secret=False,
                kind="file",
                help="ファイルを選択し、AC証明書を設定します。",
            ),
            _text(
                "merchant_ccid",
                "マーチャントCCID",
                "MAP(https://pay.veritrans.co.jp/maps/)で取得したマーチャントCCIDを設定します。",
            ),
            _secret(
                "merchant_password",
                "マーチャントパスワード",
                "MAP(https://pay.veritrans.co.jp/maps/)で取得したマーチャント認証鍵を設定します。",
            ),
            # "Token Api Key" is embedded in the purchase page by design: public, not a secret.
            _text(
                "token_api_key",
                "トークン生成鍵",
                "AP(https://pay.veritrans.co.jp/maps/)で取得した「Token Api Key」を入力します。",
            ),
            _bool(
                "security_code_required",
                "セキュリティコードの入力",
                "購入フォームにセキュリティコード入力欄の「表示/非表示」を設定します。",
            ),
        ),
    ),
    # 10. SBPSキャリア — キャリア決済, same credentials as SBPS card.
    CredentialSchema(provider="sbps_carrier", name="SBPSキャリア", category="carrier", fields=_sbps_fields()),
    # 11. スコア後払い (ニッセン後払い) — XML shopInfo{shopCode, shopPassword, terminalId}.
    CredentialSchema(
        provider="score_atobarai",
        name="スコア後払い",
        category="deferred",
        fields=(
            # The seed shows the host itself rather than a description: it is the default.
            _text("host", "ホスト", required=False, default="collect-operation.nissen.co.jp"),
            _text("shop_code", "ショップID", "ショップIDを設定します。"),
            _secret("shop_password", "ショップパスワード", "ショップパスワードを設定します。"),
            _text("terminal_id", "接続元ID", "接続元IDを設定します。"),
        ),
    ),
    # 12. NP 後払い — REST: Basic base64(merchant_code:sp_code) + X-NP-Terminal-Id.
    # The seed's form (older NPコネクトプロ) shows no 加盟店コード, but the REST API needs it.
    CredentialSchema(
        provider="np_atobarai",
        name="NP 後払い",
        category="deferred",
        fields=(
            _text(
                "merchant_code",
                "加盟店コード",
                "株式会社ネットプロテクションズより付与された加盟店コードを設定します。",
            ),
            _secret(
                "sp_code",
                "SP_CODE",
                "株式会社ネットプロテクションズより発番されるSP_CODEを設定します。※SP_CODEとは「SPコード」です。",
            ),
            _text("terminal_id", "端末ID", "連携するシステムを特定するための端末IDを設定します。"),
            _text(
                "environment_url",
                "環境接続先URL",
                required=False,
                kind="url",
                default="https://www.getsafety-online.com/np_set3/npcb1/services/NPConnectPro?wsdl",
            ),
        ),
    ),
    # 13. NP 後払いリアルタイム — same REST credentials; SHOP_CODE is the 加盟店コード.
    CredentialSchema(
        provider="np_atobarai_realtime",
        name="NP 後払いリアルタイム",
        category="deferred",
        fields=(
            _text(
                "merchant_code",
                "SHOP_CODE",
                "連携に使用するSHOP_CODEを設定します。※SHOP_CODEとは「加盟店コード」です。"
                "加盟店コードは、株式会社ネットプロテクションズより付与されたaktから始まる10桁のコードです。"
                "(例:akt0000000)",
                pattern=r"akt[0-9]{7}",
                message="aktから始まる10桁の加盟店コードを設定してください。(例:akt0000000)",
            ),
            _secret(
                "sp_code",
                "SP_CODE",
                "株式会社ネットプロテクションズより発番される連携に使用するSP_CODEを設定します。"
                "※SP_CODEとは「SPコード」です。",
            ),
            _text("terminal_id", "端末ID", "連携するシステムを特定するための端末IDを設定します。"),
        ),
    ),
    # 14. 後払い.com (キャッチボール) — 事業者ID, サイトID, APIユーザID; the seed shows no password.
    CredentialSchema(
        provider="atobarai_com",
        name="後払い.com",
        category="deferred",
        fields=(
            _text("enterprise_id", "受付事業者ID", "受付事業者IDを設定します。"),
            _text("site_id", "受付サイトID", "受付サイトIDを設定します。"),
            _text("api_user_id", "APIユーザーID", "APIユーザーIDを設定します。"),
        ),
    ),
    # 15. アトディーネ — XML linkInfo{shopCode, linkId, linkPassword}.
    CredentialSchema(
        provider="atodene",
        name="アトディーネ",
        category="deferred",
        fields=(
            _text("shop_code", "加盟店コード", "加盟店コードを設定します。"),
            _text("link_id", "接続先特定ID", "接続先特定IDを設定します。"),
            _secret("link_password", "接続パスワード", "接続パスワードを設定します。"),
        ),
    ),
    # 16. atone — REST Basic base64(secret_key); widget pub_key; optional X-NP-Terminal-Id.
    CredentialSchema(
        provider="atone",
        name="atone",
        category="deferred",
        fields=(
            _ascii_word("public_key", "公開鍵", "連携に使用する公開鍵を設定します。", secret=False),
            _ascii_word("secret_key", "秘密鍵", "連携に使用する秘密鍵を設定します。", secret=True),
            # Not on the seed's form; design.md lists it (X-NP-Terminal-Id, e.g. 4000000400).
            _text(
                "terminal_id",
                "端末ID",
                "連携するシステムを特定するための端末IDを設定します。",
                required=False,
                pattern=r"[0-9]+",
                message="端末IDは半角数字で設定してください。",
            ),
            _bool(
                "amount_update_option",
                "金額更新オプション",
                "課金額を契約時に設定した金額分まで上方更新を可能にする設定です。",
            ),
        ),
    ),
    # 17. Paidy — Authorization: Bearer <secret key>; the public key configures Paidy.js.
    CredentialSchema(
        provider="paidy",
        name="Paidy",
        category="deferred",
        fields=(
            _ascii_word("public_key", "パブリックキー", "連携に使用するパブリックキーを設定します。", secret=False),
            _ascii_word("secret_key", "シークレットキー", "連携に使用するパスワードを設定します。", secret=True),
            _text(
                "logo_url",
                "ロゴURL",
                "Paidyサービス利用時にモーダルで表示されるロゴを指定できます。"
                "指定しない場合は、Paidyのデフォルトのロゴが表示されます。",
                required=False,
                kind="url",
            ),
            CredentialField(
                key="modal_display",
                label="モーダル表示",
                secret=False,
                required=False,
                kind="choice",
                help="Paidyで支払う場合に必要な情報を入力するモーダル表示を設定します。",
                choices=(("input", "入力ページ"), ("confirm", "確認ページ")),
            ),
        ),
    ),
    # 18. Amazon Pay (v1) — MWS credentials.
    CredentialSchema(
        provider="amazon_pay_v1",
        name="Amazon Pay(v1)",
        category="wallet",
        fields=(
            _text("seller_id", "出品者 ID", "出品者IDを設定します。"),
            _text("client_id", "クライアント ID", "クライアントIDを設定します。"),
            _secret("client_secret", "クライアントシークレット", "クライアントシークレットを設定します。"),
            _text("access_key_id", "アクセスキー ID", "アクセスキーIDを設定します。"),
            _secret("secret_access_key", "シークレットアクセスキー", "シークレットアクセスキーを設定します。"),
            _bool("show_furigana", "フリガナ入力欄の表示", "フリガナ入力欄の表示・非表示を設定します。"),
        ),
    ),
    # 19. Amazon Pay (v2) — the seed gets these through ecforce's automatic linking (SP flow), so it
    # shows no fields. A self-hosted hub needs the merchant's own CV2 keys; labels follow Amazon's
    # Japanese names (出品者ID / ストアID / パブリックキーID / プライベートキー).
    CredentialSchema(
        provider="amazon_pay_v2",
        name="Amazon Pay(v2)",
        category="wallet",
        fields=(
            _text("merchant_id", "出品者ID", "Amazonセラーセントラルで確認できる出品者IDを設定します。"),
            _text("store_id", "ストアID", "Amazonセラーセントラルで確認できるストアIDを設定します。"),
            _text(
                "public_key_id",
                "パブリックキーID",
                "Amazonセラーセントラルで確認できるパブリックキーIDを設定します。",
            ),
            CredentialField(
                key="private_key",
                label="プライベートキー",
                secret=True,
                kind="file",
                help="Amazonセラーセントラルでダウンロードしたプライベートキーを設定します。",
            ),
        ),
    ),
    # 20. LINE Pay — X-LINE-ChannelId / channel secret.
    CredentialSchema(
        provider="line_pay",
        name="LINE Pay",
        category="wallet",
        fields=(
            _text(
                "channel_id",
                "チャンネルID",
                "チャンネルIDを設定します。LINE Developersの「TOP > (アカウントマイページ) > "
                "Basic settings > Basic information」の「Channel ID」欄が該当します。",
            ),
            _secret(
                "channel_secret",
                "チャンネルシークレットキー",
                "チャンネルシークレットキーを設定します。LINE Developersの「TOP > (アカウントマイページ) > "
                "Basic settings > Basic information」の「Channel secret」欄が該当します。",
            ),
        ),
    ),
    # 21. 電算システム — コンビニ郵貯後払い; 取引ID = 固有値7桁 + 乱数10桁.
    CredentialSchema(
        provider="densan",
        name="電算システム",
        category="deferred",
        fields=(
            _text(
                "unique_code",
                "固有値7桁(数字)",
                "連携に必要な7桁の数字を設定します。「固有値 7 桁」は自由に入力できます。",
                pattern=r"[0-9]{7}",
                message="連携に必要な7桁の数字を設定してください。",
            ),
        ),
    ),
    # (22 Re:lation, 23 MailDealer, 24 LINE ID are not payment services.)
    # 25. PayPal — the seller links the account (PayPalアカウントと連携 / 連携削除 are buttons).
    CredentialSchema(
        provider="paypal",
        name="PayPal",
        category="wallet",
        fields=(
            _text("seller_merchant_id", "Seller Merchant ID", "Seller Merchant IDを設定します。"),
            _bool(
                "sandbox",
                "Sandbox 環境",
                "PayPalでSandbox 環境を利用するかを設定します。デフォルトは「ON」に設定されています。",
                default="true",
            ),
        ),
    ),
    # (26 1d color, 27 商品データフィード, 28 ルミーズテンキーパッド, 29 at score are not payment providers.)
)

SCHEMAS: Mapping[str, CredentialSchema] = MappingProxyType({s.provider: s for s in _ALL})
"""Every payment provider of the seed, in the seed's order."""


def schema_for(provider: str) -> CredentialSchema:
    try:
        return SCHEMAS[provider]
    except KeyError:
        known = ", ".join(SCHEMAS)
        raise UnknownProvider(f"unknown payment provider {provider!r} (known: {known})") from None
