"""Order intake: normalise (NFKC) and validate what a cart sends, then store it.

Every error names its field (``customer.zip_code``, ``items[2].quantity``) and says in Japanese
what to fix; a bad order changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from kessai.common.text import (
    PHONE_MESSAGE,
    ZIP_MESSAGE,
    is_valid_phone,
    is_valid_zip,
    normalize,
    normalize_digits,
    prefecture_of,
)
from kessai.payments.models import Order
from kessai.payments.money import MAX_AMOUNT, format_yen, lines_total
from kessai.shops.errors import ValidationFailed
from kessai.shops.fees import FeeTier, FeeTierError, fee_for, parse_tiers
from kessai.shops.models import FeeRule, Shop

ORDER_NO_RE = re.compile(r"[\x21-\x7e]{1,100}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_ITEMS = 9999
MAX_DESTINATIONS = 9


class _Errors:
    def __init__(self) -> None:
        self.messages: dict[str, str] = {}
        self.codes: dict[str, str] = {}

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.messages.setdefault(field, message)
        self.codes.setdefault(field, code)

    def raise_if_any(self, top_code: str = "validation_error") -> None:
        if self.messages:
            codes = set(self.codes.values())
            code = next(iter(codes)) if len(codes) == 1 and top_code == "validation_error" else top_code
            raise ValidationFailed(self.messages, code=code, field_codes=self.codes)


def _text(
    errors: _Errors, data: Mapping[str, Any], key: str, path: str, label: str, *, required: bool, max_len: int
) -> str:
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            errors.add(path, f"{label}を入力してください。", "required")
        return ""
    if not isinstance(raw, str):
        errors.add(path, f"{label}は文字列で入力してください。", "invalid_type")
        return ""
    value = normalize(raw)
    if required and not value:
        errors.add(path, f"{label}を入力してください。", "required")
    if len(value) > max_len:
        errors.add(path, f"{label}は{max_len}文字以内で入力してください。", "too_long")
    return value


def _int(errors: _Errors, data: Mapping[str, Any], key: str, path: str, label: str) -> int | None:
    raw = data.get(key)
    if isinstance(raw, str):
        raw_norm = normalize(raw).replace(",", "")
        if re.fullmatch(r"-?\d+", raw_norm):
            return int(raw_norm)
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors.add(path, f"{label}は半角数字(円・個)で入力してください。", "invalid_type")
        return None
    return raw


def _zip(errors: _Errors, data: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
    value = normalize_digits(str(data.get(key) or ""))
    if not value:
        if required:
            errors.add(path, "郵便番号を入力してください。", "required")
        return ""
    if not is_valid_zip(value):
        errors.add(path, ZIP_MESSAGE, "invalid_zip_code")
    return value


def _phone(errors: _Errors, data: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
    value = normalize_digits(str(data.get(key) or ""))
    if not value:
        if required:
            errors.add(path, "電話番号を入力してください。", "required")
        return ""
    if not is_valid_phone(value):
        errors.add(path, PHONE_MESSAGE, "invalid_phone")
    return value


def _customer(errors: _Errors, raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        errors.add("customer", "購入者情報を入力してください。", "required")
        return {}
    customer = {
        "name": _text(errors, raw, "name", "customer.name", "氏名", required=True, max_len=100),
        "name_kana": _text(errors, raw, "name_kana", "customer.name_kana", "フリガナ", required=False, max_len=128),
        "email": _text(errors, raw, "email", "customer.email", "メールアドレス", required=False, max_len=255),
        "phone": _phone(errors, raw, "phone", "customer.phone", required=True),
        "zip_code": _zip(errors, raw, "zip_code", "customer.zip_code", required=True),
        "address": _text(errors, raw, "address", "customer.address", "住所", required=True, max_len=255),
        "company": _text(errors, raw, "company", "customer.company", "会社名", required=False, max_len=100),
    }
    if customer["email"] and not EMAIL_RE.fullmatch(customer["email"]):
        errors.add("customer.email", "メールアドレスの形式が正しくありません。", "invalid_email")
    return customer


def _destinations(errors: _Errors, raw: object) -> list[dict[str, str]]:
    if raw in (None, []):
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        errors.add("destinations", "配送先は配列で入力してください。", "invalid_type")
        return []
    if len(raw) > MAX_DESTINATIONS:
        errors.add("destinations", f"配送先は{MAX_DESTINATIONS}件以内で入力してください。", "too_many")
    result = []
    for i, dest in enumerate(raw[:MAX_DESTINATIONS]):
        path = f"destinations[{i}]"
        if not isinstance(dest, Mapping):
            errors.add(path, "配送先の形式が正しくありません。", "invalid_type")
            continue
        result.append(
            {
                "name": _text(errors, dest, "name", f"{path}.name", "配送先氏名", required=True, max_len=100),
                "name_kana": _text(
                    errors,
                    dest,
                    "name_kana",
                    f"{path}.name_kana",
                    "配送先フリガナ",
                    required=False,
                    max_len=128,
                ),
                "zip_code": _zip(errors, dest, "zip_code", f"{path}.zip_code", required=True),
                "address": _text(errors, dest, "address", f"{path}.address", "配送先住所", required=True, max_len=255),
                "phone": _phone(errors, dest, "phone", f"{path}.phone", required=False),
                "company": _text(
                    errors, dest, "company", f"{path}.company", "配送先会社名", required=False, max_len=100
                ),
            }
        )
    return result


def clean_items(raw: object, errors: _Errors | None = None) -> list[dict[str, Any]]:
    own = errors is None
    errs = errors or _Errors()
    items: list[dict[str, Any]] = []
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        errs.add("items", "商品明細を1件以上入力してください。", "required")
    elif len(raw) > MAX_ITEMS:
        errs.add("items", f"商品明細は{MAX_ITEMS}件以内で入力してください。", "too_many")
    else:
        for i, item in enumerate(raw):
            path = f"items[{i}]"
            if not isinstance(item, Mapping):
                errs.add(path, "商品明細の形式が正しくありません。", "invalid_type")
                continue
            sku = _text(errs, item, "sku", f"{path}.sku", "商品コード", required=True, max_len=100)
            name = _text(errs, item, "name", f"{path}.name", "商品名", required=True, max_len=100)
            price = _int(errs, item, "unit_price", f"{path}.unit_price", "単価")
            qty = _int(errs, item, "quantity", f"{path}.quantity", "数量")
            if price is not None and abs(price) > 999_999:
                errs.add(
                    f"{path}.unit_price",
                    "単価は-999,999〜999,999円の範囲で入力してください。",
                    "out_of_range",
                )
            if qty is not None and not 1 <= qty <= 99_999:
                errs.add(f"{path}.quantity", "数量は1〜99,999の範囲で入力してください。", "out_of_range")
            items.append({"sku": sku, "name": name, "unit_price": price or 0, "quantity": qty or 0})
    if own:
        errs.raise_if_any()
    return items


def check_amount(errors: _Errors, amount: int | None, items: list[dict[str, Any]], field: str = "amount") -> None:
    if amount is None:
        return
    if not 1 <= amount <= MAX_AMOUNT:
        errors.add(field, f"合計金額は1〜{MAX_AMOUNT:,}円の範囲で入力してください。", "amount_out_of_range")
        return
    if items and not any(k.startswith("items") for k in errors.messages):
        total = lines_total((i["unit_price"], i["quantity"]) for i in items)
        if total != amount:
            errors.add(
                field,
                f"合計金額({format_yen(amount)})が明細の合計({format_yen(total)})と一致しません。",
                "amount_mismatch",
            )


def create_order(shop: Shop, data: Mapping[str, Any]) -> Order:
    order = validated_order(shop, data)
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            return order
    except IntegrityError:
        raise ValidationFailed(
            {"shop_order_no": f"注文番号「{order.shop_order_no}」は既に登録されています。"},
            code="duplicate_order_no",
            field_codes={"shop_order_no": "duplicate_order_no"},
        ) from None


def validated_order(shop: Shop, data: Mapping[str, Any]) -> Order:
    """The order ``data`` describes, normalised and validated but not saved (``ValidationFailed`` names the
    fields). :func:`create_order` saves one; 継続課金 inserts a batch of them at once."""
    errors = _Errors()
    order_no = normalize(str(data.get("shop_order_no") or ""))
    if not order_no:
        errors.add("shop_order_no", "注文番号を入力してください。", "required")
    elif not ORDER_NO_RE.fullmatch(order_no):
        errors.add("shop_order_no", "注文番号は半角英数記号100文字以内で入力してください。", "invalid")
    amount = _int(errors, data, "amount", "amount", "合計金額")
    items = clean_items(data.get("items"), errors)
    customer = _customer(errors, data.get("customer"))
    destinations = _destinations(errors, data.get("destinations"))
    check_amount(errors, amount, items)
    errors.raise_if_any()
    assert amount is not None  # noqa: S101 - guaranteed by the checks above
    return Order(
        shop=shop,
        shop_order_no=order_no,
        amount=amount,
        items=items,
        customer=customer,
        destinations=destinations,
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        customer_email=customer["email"].lower(),
        prefecture=prefecture_of(customer["address"]),
    )


# --------------------------------------------------------------------------- 手数料 (the fee line)

FEE_SKU = "fee"
FEE_LINE_NAME = "決済手数料"


@dataclass(frozen=True)
class FeeLinePlan:
    """An order's lines once the 手数料設定 of the chosen payment method's provider is applied.

    ``fee`` is the hub's own fee line (0: none); ``base_amount`` is what the fee was looked up for (Σ lines
    without the hub's fee line); ``amount`` = Σ ``items``. ``cart_fee``: the cart sent its own fee line
    (sku ``fee``), so the hub leaves the order as it is."""

    items: list[dict[str, Any]]
    amount: int
    fee: int
    base_amount: int
    cart_fee: bool = False


def fee_tiers(shop: Shop, provider: str) -> tuple[FeeTier, ...] | None:
    """The shop's 手数料設定 for a provider, or None when it has none (no fee)."""
    rule = FeeRule.objects.filter(shop=shop, provider=provider).first()
    if rule is None or not rule.tiers:
        return None
    try:
        return parse_tiers(rule.tiers, allow_gaps=True)
    except FeeTierError as exc:  # stored tiers are validated on save; a hand-edited row is refused here
        raise ValidationFailed({"fee_rule": exc.message}, code="invalid_fee_rule") from None


def quote_fee(shop: Shop, provider: str, amount: int) -> int | None:
    """The handling fee (tax included) for an order of ``amount`` yen — Σ its lines without a fee line —
    paid with ``provider``: 0 without a 手数料設定, None when the shop's tiers do not cover the amount
    (the payment method cannot be used for it). Checkout, mails, snippets and the fee line all use this."""
    tiers = fee_tiers(shop, provider)
    return 0 if tiers is None else fee_for(tiers, amount)


def plan_fee_line(items: Sequence[Mapping[str, Any]], current_fee: int, tiers: Sequence[FeeTier] | None) -> FeeLinePlan:
    """Pure: replace the hub's fee line (the one worth ``current_fee``) by the one ``tiers`` give for the
    rest of the lines. A cart that sends its own ``fee`` line manages fees itself and is left alone."""
    lines = [dict(item) for item in items]
    ours = None
    if current_fee > 0:
        ours = next(
            (
                i
                for i in reversed(range(len(lines)))
                if lines[i].get("sku") == FEE_SKU
                and lines[i].get("unit_price") == current_fee
                and lines[i].get("quantity") == 1
            ),
            None,
        )
    if ours is not None:
        del lines[ours]
    base = lines_total((int(line["unit_price"]), int(line["quantity"])) for line in lines)
    if ours is None and any(line.get("sku") == FEE_SKU for line in lines):
        return FeeLinePlan(items=lines, amount=base, fee=0, base_amount=base, cart_fee=True)
    fee = 0 if tiers is None else fee_for(tiers, base)
    if fee is None:
        raise ValidationFailed(
            {"amount": f"{format_yen(base)}のご注文にはこの支払方法をご利用いただけません(手数料設定の対象外です)。"},
            code="no_fee_tier",
            field_codes={"amount": "no_fee_tier"},
        )
    if fee:
        lines.append({"sku": FEE_SKU, "name": FEE_LINE_NAME, "unit_price": fee, "quantity": 1})
    amount = base + fee
    if not 1 <= amount <= MAX_AMOUNT:
        raise ValidationFailed(
            {"amount": f"手数料を含む合計金額は1〜{MAX_AMOUNT:,}円の範囲でなければなりません。"},
            code="amount_out_of_range",
            field_codes={"amount": "amount_out_of_range"},
        )
    return FeeLinePlan(items=lines, amount=amount, fee=fee, base_amount=base)


def plan_order_fee(order: Order, provider: str) -> FeeLinePlan:
    return plan_fee_line(order.items, order.fee, fee_tiers(order.shop, provider))


def apply_fee_line(order: Order, provider: str) -> Order:
    """Put the fee line of ``provider``'s 手数料設定 on the order (replacing the one an earlier payment
    method put there) and make ``amount`` Σ lines again. Called by ``services.start_payment`` when a
    payment method is chosen; see docs/decisions/0002-golive-app.md."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("shop").get(pk=order.pk)
        plan = plan_order_fee(locked, provider)
        if (plan.items, plan.amount, plan.fee) != (locked.items, locked.amount, locked.fee) and not plan.cart_fee:
            locked.items, locked.amount, locked.fee = plan.items, plan.amount, plan.fee
            locked.save(update_fields=["items", "amount", "fee"])
    return locked
