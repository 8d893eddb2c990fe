"""自動決済結果通知メール (to the shop's admin) and 自動継続課金完了メール (to the subscriber).

After each run, per shop: one mail listing the normal results and one listing the errors (受注ID,
お申込み日, 会員No, 契約者名, 決済金額, 次回課金日, 処理結果); and, when the account's
``recurring_result_mail`` option says so, one completion mail per charged cycle to the subscriber.

Which results still await a mail is kept on the cycle (``admin_notified`` / ``subscriber_notified``), so a
run that dies before mailing leaves them for the next run. A mail is marked sent in the transaction that
sent it: a crash right after the SMTP exchange can repeat a mail, never lose one.

Templates: a shop's own (``MailTemplate``, editable in the back-office) or the default files in
``templates/billing/mail/``; first line = subject, then a blank line, then the body. Django template syntax,
rendered with autoescape off (text mails), from plain dicts only (never model instances).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.billing.models import CycleStatus, MailKind, MailTemplate, SubscriptionCycle
from kessai.common.jst import to_jst
from kessai.payments.money import format_yen
from kessai.shops.models import Shop

log = logging.getLogger(__name__)

DEFAULTS_DIR = Path(__file__).resolve().parent / "templates" / "billing" / "mail"
# Rows per result mail: a run over 100,000 cycles sends several mails, not one of 10 MB.
MAX_ROWS_PER_MAIL = 1000

_ENGINE = Engine(autoescape=False)


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


def default_template(kind: str) -> MailText:
    text = (DEFAULTS_DIR / f"{MailKind(kind).value}.txt").read_text(encoding="utf-8")
    subject, _sep, body = text.partition("\n\n")
    return MailText(subject=subject.strip(), body=body)


def template_for(shop: Shop, kind: str) -> MailText:
    own = MailTemplate.objects.filter(shop=shop, kind=kind).first()
    return MailText(own.subject, own.body) if own else default_template(kind)


def check_template(subject: str, body: str) -> None:
    """Raises TemplateSyntaxError when a shop's edited template does not compile."""
    _ENGINE.from_string(subject)
    _ENGINE.from_string(body)


def render(text: MailText, context: dict[str, Any]) -> MailText:
    ctx = Context(context, autoescape=False)
    subject = " ".join(_ENGINE.from_string(text.subject).render(ctx).split())
    return MailText(subject=subject, body=_ENGINE.from_string(text.body).render(ctx))


def _shop_context(shop: Shop) -> dict[str, str]:
    return {"name": shop.name, "company": shop.company, "site_url": shop.site_url}


def result_row(cycle: SubscriptionCycle) -> dict[str, str]:
    sub = cycle.subscription
    payment = cycle.payment
    return {
        "order_no": sub.order_no,
        "applied_at": to_jst(sub.applied_at).strftime("%Y-%m-%d %H:%M:%S"),
        "member_no": sub.member_no,
        "customer_name": sub.customer_name,
        "amount": format_yen(cycle.amount),
        "next_billing_on": sub.next_billing_on.isoformat() if sub.next_billing_on else "",
        "result": _("正常") if cycle.status == CycleStatus.CHARGED else (cycle.message or _("決済エラー")),
        "cycle_date": cycle.cycle_date.isoformat(),
        "transaction_no": payment.shop_transaction_no if payment else "",
        "provider_ref": payment.provider_ref if payment else "",
    }


def admin_address(shop: Shop) -> str:
    from kessai.billing.services import billing_settings

    return billing_settings(shop).admin_email or shop.admin_email


def _send(connection: BaseEmailBackend, text: MailText, to: str) -> None:
    EmailMessage(text.subject, text.body, settings.DEFAULT_FROM_EMAIL, [to], connection=connection).send()


def _send_results(connection: BaseEmailBackend, shop: Shop, status: str, kind: str, run_date: date) -> int:
    sent = 0
    template = template_for(shop, kind)
    to = admin_address(shop)
    while True:
        with transaction.atomic():
            cycles = list(
                SubscriptionCycle.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("subscription", "payment")
                .filter(shop=shop, admin_notified=False, status=status)
                .order_by("cycle_date", "id")[:MAX_ROWS_PER_MAIL]
            )
            if not cycles:
                return sent
            if to:
                context = {
                    "shop": _shop_context(shop),
                    "run_date": run_date.isoformat(),
                    "rows": [result_row(c) for c in cycles],
                }
                _send(connection, render(template, context), to)
                sent += 1
            else:
                log.warning("shop %s has no admin address: %d billing results not mailed", shop.pk, len(cycles))
            SubscriptionCycle.objects.filter(pk__in=[c.pk for c in cycles]).update(admin_notified=True)


def _send_completions(connection: BaseEmailBackend, shop: Shop) -> int:
    sent = 0
    template = template_for(shop, MailKind.COMPLETION)
    while True:
        with transaction.atomic():
            cycles = list(
                SubscriptionCycle.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("subscription")
                .filter(shop=shop, subscriber_notified=False, status=CycleStatus.CHARGED)
                .order_by("id")[:100]
            )
            if not cycles:
                return sent
            for cycle in cycles:
                sub = cycle.subscription
                if sub.customer_email:
                    context = {
                        "shop": _shop_context(shop),
                        "customer_name": sub.customer_name,
                        "order_no": sub.order_no,
                        "cycle_date": cycle.cycle_date.isoformat(),
                        "amount": format_yen(cycle.amount),
                        "next_billing_on": sub.next_billing_on.isoformat() if sub.next_billing_on else "",
                        "items": [
                            {
                                "name": i["name"],
                                "unit_price": format_yen(int(i["unit_price"])),
                                "quantity": i["quantity"],
                            }
                            for i in sub.items
                        ],
                    }
                    _send(connection, render(template, context), sub.customer_email)
                    sent += 1
            SubscriptionCycle.objects.filter(pk__in=[c.pk for c in cycles]).update(subscriber_notified=True)


def send_pending(run_date: date | None = None) -> dict[str, int]:
    """Send every result and completion mail still owed, per shop. Returns counts of mails sent."""
    run_date = run_date or timezone.localdate()
    shop_ids = set(
        SubscriptionCycle.objects.filter(admin_notified=False).values_list("shop_id", flat=True).distinct()
    ) | set(SubscriptionCycle.objects.filter(subscriber_notified=False).values_list("shop_id", flat=True).distinct())
    counts = {"result_ok": 0, "result_error": 0, "completion": 0}
    if not shop_ids:
        return counts
    connection = get_connection()
    for shop in Shop.objects.filter(pk__in=shop_ids).order_by("pk"):
        try:
            counts["result_ok"] += _send_results(connection, shop, CycleStatus.CHARGED, MailKind.RESULT_OK, run_date)
            counts["result_error"] += _send_results(
                connection, shop, CycleStatus.FAILED, MailKind.RESULT_ERROR, run_date
            )
            counts["completion"] += _send_completions(connection, shop)
        except (OSError, TemplateSyntaxError) as exc:  # SMTP down or a broken shop template: retried next run
            log.error("billing mails for shop %s not sent: %s", shop.pk, exc)
    return counts
