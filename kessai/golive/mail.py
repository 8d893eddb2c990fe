"""準備完了連絡: the mail the provider's guide asks for once everything is set up.

atone: 宛先 start@atone.be, 件名「サービス開始準備完了」+ 会社名, 本文 ① サイトURL ② ご担当者様のお名前, after
checking the guide's six points (送信前の確認事項). The draft is shown for copying and can be sent through
Django's mail backend (SMTP); the shop's administrator address is copied and set as Reply-To so the
provider's answer (「運用開始」) reaches the shop.
"""

from __future__ import annotations

import smtplib
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from kessai.backoffice.services import Actor, record
from kessai.golive import checks
from kessai.golive.checks import Readiness, Status
from kessai.golive.fees import fee_info
from kessai.golive.kits import CheckoutKit, kit_for
from kessai.golive.models import Evidence, ShopPages
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import ProviderAccount, Shop


@dataclass(frozen=True)
class ConfirmationRow:
    index: int
    text: str
    evidence: Status | None  # what the checklist says (None: only the sender can confirm it)


@dataclass(frozen=True)
class MailDraft:
    to: str
    subject: str
    body: str
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    confirmations: tuple[ConfirmationRow, ...]
    missing: tuple[str, ...]  # what the draft still lacks (company, site URL, contact)

    @property
    def complete(self) -> bool:
        return not self.missing


def tick(text: str) -> str:
    """A ✓ line as the guide writes it (no space before a 「quote」)."""
    return f"✓{text}" if text.startswith("「") else f"✓ {text}"


def _evidence_status(report: Readiness, keys: tuple[str, ...]) -> Status | None:
    if not keys:
        return None
    statuses = [report.item(key).status for key in keys]
    if all(s is Status.OK for s in statuses):
        return Status.OK
    if any(s is Status.NG for s in statuses):
        return Status.NG
    return Status.PENDING


def _kit(provider: str) -> CheckoutKit:
    kit = kit_for(provider)
    if kit is None:
        raise ValidationFailed(
            {"provider": _("この決済会社の準備完了連絡のひな形はありません。")}, code="no_readiness_mail"
        )
    return kit


def draft(account: ProviderAccount) -> MailDraft:
    shop, kit = account.shop, _kit(account.provider)
    pages = ShopPages.objects.filter(shop=shop).first() or ShopPages(shop=shop)
    company = pages.company or shop.company
    site_url = pages.site_url or shop.site_url
    contact = pages.contact_name or shop.contact_name
    missing = tuple(
        label
        for label, value in ((_("会社名"), company), (_("サイトURL"), site_url), (_("ご担当者名"), contact))
        if not value
    )
    report = checks.readiness(account)
    rows = tuple(
        ConfirmationRow(i, c.text, _evidence_status(report, c.evidence)) for i, c in enumerate(kit.confirmations, 1)
    )
    lines = [
        f"{kit.mail_addressee} ご担当者様",
        "",
        _("いつもお世話になっております。%(company)sの%(contact)sです。") % {"company": company, "contact": contact},
        _("%(name)sのご利用開始に必要な準備が完了しましたので、ご確認をお願いいたします。") % {"name": kit.name},
        "",
        _("① サイトURL: %(url)s") % {"url": site_url},
        _("② 担当者名: %(contact)s") % {"contact": contact},
        "",
        _("【送信前の確認事項】"),
        *(tick(row.text) for row in rows),
    ]
    if pages.payment_guide_url or pages.legal_notice_url:
        lines += ["", _("【掲載ページ】")]
        if pages.payment_guide_url:
            lines.append(_("支払方法説明ページ: %(url)s") % {"url": pages.payment_guide_url})
        if pages.legal_notice_url:
            lines.append(_("特定商取引法に基づく表記: %(url)s") % {"url": pages.legal_notice_url})
    fee = fee_info(shop, account.provider)
    if fee is not None and not fee.free:
        lines += ["", _("【当店の手数料設定】"), fee.text]
    lines += ["", _("何卒よろしくお願いいたします。"), "", company, contact]
    if shop.admin_email:
        lines.append(shop.admin_email)
    admin = (shop.admin_email,) if shop.admin_email else ()
    return MailDraft(
        to=kit.mail_to,
        subject=f"{kit.mail_subject} {company}".strip(),
        body="\n".join(lines) + "\n",
        cc=admin,
        reply_to=admin,
        confirmations=rows,
        missing=missing,
    )


def send(actor: Actor, account: ProviderAccount, confirmed: Collection[int]) -> MailDraft:
    """Send the draft (SMTP via Django's mail backend). Every one of the guide's confirmations must be
    ticked by the sender, and the draft must name the company, the site and the contact person."""
    mail = draft(account)
    errors: dict[str, str] = {}
    if mail.missing:
        errors["draft"] = _("次の項目を入力してください: %(items)s") % {"items": "、".join(mail.missing)}
    unticked = [row.text for row in mail.confirmations if row.index not in confirmed]
    if unticked:
        errors["confirmations"] = _("送信前の確認事項をすべて確認してください: %(items)s") % {
            "items": "、".join(unticked)
        }
    if errors:
        raise ValidationFailed(errors, code="readiness_mail_incomplete")
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        cc=list(mail.cc),
        reply_to=list(mail.reply_to),
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise ValidationFailed(
            {
                "smtp": _("メールを送信できませんでした(%(error)s)。メールサーバーの設定を確認してください。")
                % {"error": exc}
            },
            code="mail_failed",
        ) from None
    shop: Shop = account.shop
    Evidence.objects.create(
        shop=shop,
        provider=account.provider,
        account=account,
        key=checks.READINESS_MAIL,
        ok=True,
        detail=_("%(to)s に送信しました: %(subject)s") % {"to": mail.to, "subject": mail.subject},
        data={"to": mail.to, "subject": mail.subject, "cc": list(mail.cc)},
        actor=actor.username[:150],
    )
    record(
        actor,
        shop,
        "golive.readiness_mail",
        target_type="provider_account",
        target_id=account.pk,
        after={"to": mail.to, "subject": mail.subject},
    )
    return mail


def last_sent(account: ProviderAccount) -> Evidence | None:
    return checks.latest_evidence(account.shop, account.provider, checks.READINESS_MAIL, account)
