"""One carrier vocabulary (配送会社) for every provider that takes a shipment report (伝票番号同期).

The hub, its API and the back-office speak these codes (``"yamato"``, ``"sagawa"``, ``"japanpost"``, …);
each provider package maps them to its own wire codes in its ``const`` module (NP後払い:
``kessai.providers.np_atobarai.const.CARRIER_CODES``). A provider that has no code for a carrier refuses
the shipment with a clear Japanese message instead of guessing.

The list is the union of the carriers the provider notes name (``/work/shared/providers/np-atobarai.md``
§1.6, ``gmo-atobarai.md``, ``atodene.md``): 佐川急便, ヤマト運輸, 日本通運, 西濃運輸, 日本郵便 (書留, ゆうパック,
翌朝10時郵便, ゆうパケット), セイノースーパーエクスプレス, 福山通運, 新潟運輸, 名鉄運輸, トナミ運輸, 信州名鉄運輸,
トールエクスプレスジャパン, エコ配, JADコーポレーション, ご契約運送会社 and その他.

Slip numbers (伝票番号 / 送り状番号): input is NFKC-normalised and stripped; for carriers whose numbers are
all digits, hyphens and spaces are removed too (they are printed as ``1234-5678-9012``). The rules:

- ヤマト運輸, 佐川急便: 12 digits (the carriers' own tracking pages ask for 12 digits);
- 日本郵便 (all four services): 11 to 13 digits (ゆうパック and ゆうパケット numbers are 12 digits; 11–13 is
  the lenient range Japan Post's tracking form accepts for domestic items);
- 西濃運輸, 福山通運: 10 to 12 digits (lenient: both have used 10- and 12-digit inquiry numbers);
- everyone else: lenient, 1 to 30 half-width letters, digits or hyphens (no public rule we could cite).

A provider may add its own limit on top (NP後払い: ``slip_no`` is 1–20 characters).

Pure Python: no Django, no provider imports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "CARRIERS",
    "Carrier",
    "InvalidSlip",
    "SlipRule",
    "UnknownCarrier",
    "by_code",
    "carrier",
    "normalize_slip",
    "resolve",
    "slip_error",
    "validate_slip",
]


class UnknownCarrier(ValueError):
    """Not a carrier of the vocabulary."""


class InvalidSlip(ValueError):
    """A slip number that does not follow its carrier's rule. ``message`` is Japanese, for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SlipRule:
    """How a carrier's slip numbers look, after normalisation."""

    pattern: str  # fullmatch against the normalised slip number
    description: str  # Japanese, e.g. 「半角数字12桁」
    digits_only: bool  # hyphens and spaces are removed before matching

    def matches(self, normalised: str) -> bool:
        return re.fullmatch(self.pattern, normalised) is not None


DIGITS_12: Final = SlipRule(r"[0-9]{12}", "半角数字12桁", digits_only=True)
DIGITS_11_TO_13: Final = SlipRule(r"[0-9]{11,13}", "半角数字11〜13桁", digits_only=True)
DIGITS_10_TO_12: Final = SlipRule(r"[0-9]{10,12}", "半角数字10〜12桁", digits_only=True)
LENIENT: Final = SlipRule(r"[0-9A-Za-z][0-9A-Za-z-]{0,29}", "半角英数字とハイフン30文字以内", digits_only=False)


@dataclass(frozen=True)
class Carrier:
    code: str  # our code, English snake_case
    name: str  # Japanese name shown to staff
    slip_rule: SlipRule
    aliases: tuple[str, ...] = ()  # other spellings staff type or CSVs carry (matched after NFKC)


CARRIERS: Final[tuple[Carrier, ...]] = (
    Carrier("yamato", "ヤマト運輸", DIGITS_12, ("ヤマト", "クロネコヤマト", "宅急便")),
    Carrier("sagawa", "佐川急便", DIGITS_12, ("佐川", "飛脚宅配便")),
    Carrier("japanpost", "日本郵便(ゆうパック)", DIGITS_11_TO_13, ("日本郵便", "ゆうパック", "郵便局")),
    Carrier("yupacket", "日本郵便(ゆうパケット)", DIGITS_11_TO_13, ("ゆうパケット",)),
    Carrier("japanpost_registered", "日本郵便(書留)", DIGITS_11_TO_13, ("書留", "日本郵便 書留")),
    Carrier("japanpost_next_morning", "日本郵便(翌朝10時郵便)", DIGITS_11_TO_13, ("翌朝10時郵便",)),
    Carrier("seino", "西濃運輸", DIGITS_10_TO_12, ("西濃", "カンガルー便")),
    Carrier("seino_super_express", "セイノースーパーエクスプレス", LENIENT, ("セイノーSE",)),
    Carrier("fukuyama", "福山通運", DIGITS_10_TO_12, ("福山",)),
    Carrier("nittsu", "日本通運", LENIENT, ("日通",)),
    Carrier("niigata_unyu", "新潟運輸", LENIENT),
    Carrier("meitetsu", "名鉄運輸", LENIENT),
    Carrier("tonami", "トナミ運輸", LENIENT),
    Carrier("shinshu_meitetsu", "信州名鉄運輸", LENIENT),
    Carrier("toll_express", "トールエクスプレスジャパン", LENIENT, ("トールエクスプレス",)),
    Carrier("ecohai", "エコ配", LENIENT),
    Carrier("jad", "JADコーポレーション", LENIENT, ("JAD",)),
    # The merchant's own contracted carrier, without tracking numbers (NP後払い 55555 is "an option").
    Carrier("contracted", "ご契約運送会社", LENIENT, ("契約運送会社",)),
    Carrier("other", "その他", LENIENT),
)

_BY_CODE: Mapping[str, Carrier] = MappingProxyType({c.code: c for c in CARRIERS})


def _key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower().replace(" ", "").replace("\u3000", "")


_BY_NAME: Mapping[str, Carrier] = MappingProxyType(
    {_key(text): c for c in CARRIERS for text in (c.code, c.name, *c.aliases)}
)


def by_code() -> Mapping[str, Carrier]:
    """Every carrier by our code (read-only)."""
    return _BY_CODE


def carrier(code: str) -> Carrier:
    """The carrier with this exact code; :class:`UnknownCarrier` otherwise."""
    found = _BY_CODE.get(code)
    if found is None:
        raise UnknownCarrier(f"unknown carrier code {code!r}")
    return found


def resolve(value: str) -> Carrier | None:
    """A carrier from our code, its Japanese name or an alias (「ヤマト」, 「ゆうパック」, 「佐川」…); NFKC,
    case- and space-insensitive. ``None`` when nothing matches."""
    return _BY_NAME.get(_key(value or ""))


_SLIP_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー]")


def normalize_slip(code: str, value: str) -> str:
    """NFKC + strip; for all-digit carriers hyphens and spaces go too. The carrier must exist."""
    rule = carrier(code).slip_rule
    text = unicodedata.normalize("NFKC", value or "").strip()
    if rule.digits_only:
        text = _SLIP_SEPARATORS.sub("", text)
    return text


def slip_error(code: str, value: str) -> str | None:
    """The Japanese error for a slip number, or ``None`` when it follows the carrier's rule."""
    found = _BY_CODE.get(code)
    if found is None:
        return "配送会社を選択してください。"
    normalised = normalize_slip(code, value)
    if not normalised:
        return "伝票番号を入力してください。"
    if not found.slip_rule.matches(normalised):
        return f"{found.name}の伝票番号は{found.slip_rule.description}で入力してください。"
    return None


def validate_slip(code: str, value: str) -> str:
    """The normalised slip number, or :class:`InvalidSlip` (with a Japanese message)."""
    error = slip_error(code, value)
    if error is not None:
        raise InvalidSlip(error)
    return normalize_slip(code, value)
