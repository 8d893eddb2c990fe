"""伝票番号同期 input: carriers, and the CSV staff upload instead of typing (注文番号, 配送会社, 伝票番号)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kessai.common.text import normalize

CARRIERS: tuple[tuple[str, object], ...] = (
    ("yamato", gettext_lazy("ヤマト運輸")),
    ("sagawa", gettext_lazy("佐川急便")),
    ("japanpost", gettext_lazy("日本郵便")),
    ("seino", gettext_lazy("西濃運輸")),
    ("fukuyama", gettext_lazy("福山通運")),
    ("other", gettext_lazy("その他")),
)
CARRIER_ALIASES = {
    **{code: code for code, _label in CARRIERS},
    "ヤマト運輸": "yamato",
    "ヤマト": "yamato",
    "佐川急便": "sagawa",
    "佐川": "sagawa",
    "日本郵便": "japanpost",
    "ゆうパック": "japanpost",
    "西濃運輸": "seino",
    "福山通運": "fukuyama",
    "その他": "other",
}
TRACKING_RE = re.compile(r"[0-9A-Za-z-]{4,30}")


@dataclass(frozen=True)
class ShipmentRows:
    rows: dict[str, dict[str, str]]  # 注文番号 → {"carrier", "tracking_no"}
    errors: list[str]


def carrier_code(value: str) -> str | None:
    return CARRIER_ALIASES.get(normalize(value or "").lower()) or CARRIER_ALIASES.get(normalize(value or ""))


def check_row(carrier: str, tracking_no: str) -> str | None:
    """A Japanese error for one row, or None when it is fine."""
    if carrier_code(carrier) is None:
        return _("配送会社を選択してください。")
    if not TRACKING_RE.fullmatch(normalize(tracking_no or "")):
        return _("伝票番号は半角英数字とハイフン4〜30文字で入力してください。")
    return None


def decode_upload(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(_("CSVの文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"))


def parse_csv(data: bytes, known_order_nos: Mapping[str, str]) -> ShipmentRows:
    """Rows of 注文番号, 配送会社, 伝票番号 (a header row is skipped). Only the selected orders are accepted."""
    rows: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    try:
        text = decode_upload(data)
    except ValueError as exc:
        return ShipmentRows({}, [str(exc)])
    for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or all(not cell.strip() for cell in record):
            continue
        if number == 1 and normalize(record[0]) in {"注文番号", "shop_order_no"}:
            continue
        if len(record) < 3:
            errors.append(_("%(n)s行目: 注文番号・配送会社・伝票番号の3列が必要です。") % {"n": number})
            continue
        order_no, carrier, tracking = (normalize(cell) for cell in record[:3])
        if order_no not in known_order_nos:
            errors.append(
                _("%(n)s行目: 注文番号「%(no)s」は選択された受注にありません。") % {"n": number, "no": order_no}
            )
            continue
        problem = check_row(carrier, tracking)
        if problem:
            errors.append(_("%(n)s行目: %(problem)s") % {"n": number, "problem": problem})
            continue
        rows[order_no] = {"carrier": carrier_code(carrier) or "", "tracking_no": tracking}
    return ShipmentRows(rows, errors)
