"""Checkout copy: the shop's editable copy of a provider's official texts, what a payment method
displays (:func:`display_for`, used by the hosted checkout and ``GET /api/v1/payment-methods/{id}/display``),
and the HTML snippets for the shop's 支払方法説明ページ and 特定商取引法に基づく表記.

Every HTML field is sanitised with ``shops.services.sanitize_description`` when saved and again when shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from kessai.backoffice.services import Actor, record
from kessai.golive.fees import fee_info
from kessai.golive.kits import CheckoutKit, Phrase, kit_for, name_missing
from kessai.golive.models import CheckoutCopy
from kessai.golive.text import read_html, squash
from kessai.providers import registry
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import PaymentMethod, Shop

sanitize = shop_services.sanitize_description


def default_copy(shop: Shop, provider: str) -> CheckoutCopy:
    """The copy a shop starts from: the provider's official texts (an empty copy for providers without a kit)."""
    kit = kit_for(provider)
    if kit is None:
        return CheckoutCopy(shop=shop, provider=provider, name=registry.info(provider).name)
    return CheckoutCopy(
        shop=shop,
        provider=provider,
        name=kit.name,
        banner_link=kit.banner_link,
        description=sanitize(kit.default_description_html()),
        instructions=sanitize(kit.default_instructions_html()),
        notes=sanitize(kit.default_notes_html()),
    )


def copy_for(shop: Shop, provider: str) -> CheckoutCopy:
    """The shop's copy for a provider (unsaved defaults until the shop edits it)."""
    return CheckoutCopy.objects.filter(shop=shop, provider=provider).first() or default_copy(shop, provider)


def _copy_audit(copy: CheckoutCopy) -> dict[str, str]:
    return {
        "name": copy.name,
        "banner_url": copy.banner_url,
        "banner_link": copy.banner_link,
        "description": copy.description,
        "instructions": copy.instructions,
        "notes": copy.notes,
    }


def _url(errors: dict[str, str], field: str, value: str, label: str) -> str:
    value = value.strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors[field] = _("%(label)sは http:// または https:// で始まるURLで入力してください。") % {"label": label}
        elif len(value) > 500:
            errors[field] = _("%(label)sは500文字以内で入力してください。") % {"label": label}
    return value


def save_copy(
    actor: Actor,
    shop: Shop,
    provider: str,
    *,
    name: str,
    banner_url: str,
    banner_link: str,
    description: str,
    instructions: str,
    notes: str,
) -> CheckoutCopy:
    errors: dict[str, str] = {}
    if not registry.is_known(provider):
        raise ValidationFailed(
            {"provider": _("未対応の決済会社です: %(p)s") % {"p": provider}}, code="unknown_provider"
        )
    name = name.strip()
    if not name:
        errors["name"] = _("決済名を入力してください。")
    elif len(name) > 100:
        errors["name"] = _("決済名は100文字以内で入力してください。")
    banner_url = _url(errors, "banner_url", banner_url, _("バナー画像URL"))
    banner_link = _url(errors, "banner_link", banner_link, _("バナーのリンク先"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        copy = CheckoutCopy.objects.select_for_update().filter(shop=shop, provider=provider).first()
        before = _copy_audit(copy) if copy else None
        copy = copy or CheckoutCopy(shop=shop, provider=provider)
        copy.name = name
        copy.banner_url = banner_url
        copy.banner_link = banner_link
        copy.description = sanitize(description)
        copy.instructions = sanitize(instructions)
        copy.notes = sanitize(notes)
        copy.updated_by = actor.username[:150]
        copy.save()
        record(
            actor,
            shop,
            "golive.copy.save",
            target_type="checkout_copy",
            target_id=provider,
            before=before,
            after=_copy_audit(copy),
        )
    return copy


def reset_copy(actor: Actor, shop: Shop, provider: str) -> CheckoutCopy:
    """Back to the provider's official texts (the banner image URL the shop entered is kept)."""
    current = copy_for(shop, provider)
    official = default_copy(shop, provider)
    return save_copy(
        actor,
        shop,
        provider,
        name=official.name,
        banner_url=current.banner_url,
        banner_link=official.banner_link or current.banner_link,
        description=official.description,
        instructions=official.instructions,
        notes=official.notes,
    )


def methods_of(shop: Shop, provider: str, *, active_only: bool = False) -> list[PaymentMethod]:
    qs = PaymentMethod.objects.filter(shop=shop, provider_account__provider=provider).select_related("provider_account")
    if active_only:
        qs = qs.filter(active=True)
    return list(qs.order_by("sort", "created_at"))


def apply_copy(actor: Actor, shop: Shop, provider: str) -> list[PaymentMethod]:
    """決済選択画面に反映: the copy's name, banner and 説明文 become the provider's payment methods' own
    (what the checkout and carts show); お支払い方法 and 注意事項 are read from the copy by :func:`display_for`."""
    copy = copy_for(shop, provider)
    methods = methods_of(shop, provider)
    if not methods:
        raise ValidationFailed(
            {"payment_method": _("この決済会社の支払方法がありません。先に「支払方法」で登録してください。")},
            code="no_payment_method",
        )
    with transaction.atomic():
        for method in methods:
            before = {"name": method.name, "description": method.description, "banner_url": method.banner_url}
            before["banner_link"] = method.banner_link
            shop_services.update_payment_method(
                method,
                name=copy.name,
                description=copy.description,
                banner_url=copy.banner_url,
                banner_link=copy.banner_link,
            )
            record(
                actor,
                shop,
                "golive.copy.apply",
                target_type="payment_method",
                target_id=method.pk,
                before=before,
                after={
                    "name": method.name,
                    "description": method.description,
                    "banner_url": method.banner_url,
                    "banner_link": method.banner_link,
                },
            )
    return methods


# --------------------------------------------------------------------------- what buyers see


@dataclass(frozen=True)
class Mismatch:
    """A part of the display that is not the provider's official copy."""

    label: str

    def __str__(self) -> str:
        return self.label


def _missing(html: str, phrases: list[Phrase]) -> list[Mismatch]:
    return [Mismatch(name) for name in name_missing(read_html(html).missing(phrases), phrases)]


def official_mismatches(method: PaymentMethod, copy: CheckoutCopy, kit: CheckoutKit) -> list[Mismatch]:
    """What of the official copy a payment method's display lacks (empty: it shows the official copy)."""
    found: list[Mismatch] = []
    if squash(method.name) != squash(kit.name):
        found.append(Mismatch(_("決済名「%(name)s」(現在:「%(now)s」)") % {"name": kit.name, "now": method.name}))
    if not method.banner_url:
        found.append(Mismatch(_("バナー画像")))
    link = method.banner_link.strip()
    root = kit.banner_link.rstrip("/")
    if not (link == root or link.startswith(root + "/")):
        found.append(Mismatch(_("バナーのリンク先(%(url)s)") % {"url": kit.banner_link}))
    found += _missing(method.description, kit.description.phrases())
    found += _missing(copy.instructions, kit.instructions.phrases())
    found += _missing(copy.notes, kit.notes.phrases())
    return found


def display_for(method: PaymentMethod, *, amount: int | None = None) -> dict[str, Any]:
    """What a payment method shows a buyer: name, banner (linked), 説明文, お支払い方法, 注意事項 (sanitised
    HTML) and the 手数料 — with ``amount`` (Σ the order's lines without a fee line), the fee that order is
    charged. ``official`` says whether it is the provider's official copy (None: no kit for the provider)."""
    provider = method.provider_account.provider
    copy = copy_for(method.shop, provider)
    kit = kit_for(provider)
    fee = fee_info(method.shop, provider, amount)
    official: dict[str, Any] | None = None
    if kit is not None:
        mismatches = official_mismatches(method, copy, kit)
        official = {"matches": not mismatches, "missing": [str(m) for m in mismatches], "source": kit.source}
    return {
        "payment_method": method.pk,
        "code": method.code,
        "provider": provider,
        "name": method.name,
        "banner": {"image_url": method.banner_url, "link_url": method.banner_link},
        "description_html": sanitize(method.description),
        "instructions_html": sanitize(copy.instructions),
        "notes_html": sanitize(copy.notes),
        "fee": fee.as_dict() if fee is not None else None,
        "official": official,
    }


# --------------------------------------------------------------------------- snippets for the shop's pages


def _banner_html(copy: CheckoutCopy) -> str:
    link = escape(copy.banner_link or "")
    name = escape(copy.name)
    if copy.banner_url:
        image = f'<img src="{escape(copy.banner_url)}" alt="{name}">'
        return f'<p><a href="{link}" target="_blank" rel="noopener noreferrer">{image}</a></p>' if link else image
    return f'<p><a href="{link}" target="_blank" rel="noopener noreferrer">{name}</a></p>' if link else ""


def guide_page_snippet(shop: Shop, provider: str) -> str:
    """HTML for the 支払方法説明ページ: 決済名, バナー (linked), 説明文, お支払い方法, 注意事項 and the 手数料."""
    copy = copy_for(shop, provider)
    fee = fee_info(shop, provider)
    parts = [
        f'<section class="payment-method payment-method-{escape(provider)}">',
        f"<h3>{escape(copy.name)}</h3>",
        _banner_html(copy),
        sanitize(copy.description),
    ]
    if copy.instructions:
        parts += [f"<h4>{escape(_('お支払い方法'))}</h4>", sanitize(copy.instructions)]
    if copy.notes:
        parts += [f"<h4>{escape(_('注意事項'))}</h4>", sanitize(copy.notes)]
    if fee is not None:
        parts.append(f"<p>{escape(fee.text)}</p>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def legal_notice_snippet(shop: Shop, provider: str) -> str:
    """The 特定商取引法に基づく表記 lines: the payment name under お支払い方法, and the 手数料 under
    商品代金以外の必要料金 when the shop charges one."""
    copy = copy_for(shop, provider)
    fee = fee_info(shop, provider)
    rows = [f"<dt>{escape(_('お支払い方法'))}</dt>", f"<dd>{escape(copy.name)}</dd>"]
    if fee is not None and not fee.free:
        rows += [
            f"<dt>{escape(_('商品代金以外の必要料金'))}</dt>",
            f"<dd>{escape(copy.name)}の{escape(fee.text)}</dd>",
        ]
    return "<dl>\n" + "\n".join(rows) + "\n</dl>"
