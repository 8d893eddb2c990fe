"""Japanese input normalisation: NFKC first, then validate.

Staff and buyers type full-width digits and hyphens (０９０－１２３４－５６７８); providers want
half-width. Every free-text field from outside goes through ``normalize``.
"""

from __future__ import annotations

import re
import unicodedata

# Dash-like characters NFKC leaves alone but people type in phone numbers and zip codes.
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u2043\ufe63]")

ZIP_RE = re.compile(r"\d{3}-?\d{4}")
PHONE_RE = re.compile(r"0\d{1,4}-?\d{1,4}-?\d{3,4}")

ZIP_MESSAGE = '郵便番号は半角数字7桁または半角数字3桁+"-"+半角数字4桁で設定してください。'
PHONE_MESSAGE = "電話番号は0から始まる半角数字10桁または11桁(ハイフン可)で設定してください。"

PREFECTURES = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)


def normalize(value: str) -> str:
    """NFKC + trim. Keeps kana full-width (NFKC turns half-width kana into full-width)."""
    return unicodedata.normalize("NFKC", value).strip()


def normalize_digits(value: str) -> str:
    """For zip codes and phone numbers: NFKC, unify dash look-alikes to '-', drop spaces."""
    return _DASHES.sub("-", normalize(value)).replace(" ", "")


def is_valid_zip(value: str) -> bool:
    return ZIP_RE.fullmatch(value) is not None


def is_valid_phone(value: str) -> bool:
    digits = value.replace("-", "")
    return PHONE_RE.fullmatch(value) is not None and len(digits) in (10, 11)


def is_mobile(value: str) -> bool:
    return value.replace("-", "")[:3] in {"070", "080", "090"}


def prefecture_of(address: str) -> str:
    for pref in PREFECTURES:
        if address.startswith(pref):
            return pref
    return ""
