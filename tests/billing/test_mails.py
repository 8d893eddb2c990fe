"""自動決済結果通知メール and 自動継続課金完了メール through a real SMTP server (aiosmtpd on localhost)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import date
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from kessai.billing import mails, services
from kessai.billing.models import BillingSettings, MailKind, MailTemplate, SubscriptionCycle
from kessai.shops.errors import ValidationFailed
from tests.billing.helpers import CUSTOMER, jst, shop_with_method, subscription

pytestmark = pytest.mark.django_db


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-RcptTo"]]


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def subject(message: Message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "kessai@shop.example.jp"
    try:
        yield inbox
    finally:
        controller.stop()


def test_admin_gets_one_normal_and_one_error_mail_with_the_right_rows(smtp, fake_ledger):
    shop, method = shop_with_method()
    ok = subscription(shop, method, first=date(2024, 3, 1), member_no="1015")
    ng = subscription(
        shop,
        method,
        first=date(2024, 3, 1),
        member_no="1027",
        amount=54000,
        customer={**CUSTOMER, "name": "かあと はなこ", "email": "hanako@example.jp"},
        applied_at=jst(2024, 2, 7, 10, 24, 25),
    )
    fake_ledger.script.extend(["ok", "decline"])  # claimed in id order: ok first, then ng

    result = services.run_due(jst(2024, 3, 1, 3))

    assert result.as_dict() == {"charged": 1, "failed": 1, "skipped": 0}
    admin = smtp.to("admin@example.jp")
    assert len(smtp.messages) == 2  # the account does not send completion mails
    assert [subject(m) for m in admin] == [
        "【継続ショップ】自動継続課金 結果通知(2024-03-01 正常 1件)",
        "【継続ショップ】自動継続課金 エラー通知(2024-03-01 エラー 1件)",
    ]
    normal, error = (body(m) for m in admin)
    assert f"受注ID:{ok.order_no}  お申込み日:2024-01-15 16:39:00" in normal
    assert "会員No:1015  契約者名:うえる かあと 様" in normal
    assert "決済金額:¥3,240  次回課金日:2024-04-01" in normal
    assert "処理結果:正常" in normal
    assert "1027" not in normal
    assert f"受注ID:{ng.order_no}  お申込み日:2024-02-07 10:24:25" in error
    assert "会員No:1027  契約者名:かあと はなこ 様" in error
    assert "決済金額:¥54,000  次回課金日:2024-04-01" in error
    assert "処理結果:エラー(与信NGです。)" in error
    assert "1015" not in error

    # Nothing is mailed twice: the next run has no new results.
    services.run_due(jst(2024, 3, 2, 3))
    assert len(smtp.messages) == 2


def test_subscriber_gets_the_completion_mail_only_when_the_account_says_so(smtp, fake_ledger):
    shop, method = shop_with_method(options={"recurring_result_mail": True})
    subscription(shop, method, first=date(2024, 3, 1))
    shop_off, method_off = shop_with_method(name="送信しないショップ")
    subscription(shop_off, method_off, first=date(2024, 3, 1), customer={**CUSTOMER, "email": "off@example.jp"})

    services.run_due(jst(2024, 3, 1, 3))

    [completion] = smtp.to("member@example.jp")
    assert subject(completion) == "【継続ショップ】継続課金のお支払い手続き完了のお知らせ"
    text = body(completion)
    assert "うえる かあと 様" in text
    assert "2024-03-01 分の継続課金のお支払い手続きが完了しました。" in text
    assert "決済金額:¥3,240" in text
    assert "月刊ウェルカート ¥3,240 × 1" in text
    assert "次回課金日:2024-04-01" in text
    assert smtp.to("off@example.jp") == []
    assert len(smtp.to("admin@example.jp")) == 2  # each shop's normal-results mail


def test_a_declined_charge_sends_no_completion_mail(smtp, fake_ledger):
    shop, method = shop_with_method(options={"recurring_result_mail": True})
    subscription(shop, method, first=date(2024, 3, 1))
    fake_ledger.script.append("decline")
    services.run_due(jst(2024, 3, 1, 3))
    assert smtp.to("member@example.jp") == []
    assert [subject(m) for m in smtp.messages] == ["【継続ショップ】自動継続課金 エラー通知(2024-03-01 エラー 1件)"]


def test_shop_templates_and_admin_address_override_the_defaults(smtp, fake_ledger):
    shop, method = shop_with_method()
    BillingSettings.objects.create(shop=shop, admin_email="billing@example.jp")
    services.save_mail_template(
        shop,
        kind=MailKind.RESULT_OK,
        subject="課金結果 {{ rows|length }}件 <{{ shop.name }}>",
        body="{% for r in rows %}{{ r.customer_name }} & {{ r.amount }}\n{% endfor %}",
    )
    subscription(shop, method, first=date(2024, 3, 1), customer={**CUSTOMER, "name": "A&B <商店>"})
    services.run_due(jst(2024, 3, 1, 3))
    [mail] = smtp.to("billing@example.jp")
    assert subject(mail) == "課金結果 1件 <継続ショップ>"
    assert body(mail).replace("\r\n", "\n") == "A&B <商店> & ¥3,240\n"  # text mail: no HTML escaping
    assert smtp.to("admin@example.jp") == []


def test_a_broken_template_is_refused_and_nothing_is_stored(fake_ledger):
    shop, _ = shop_with_method()
    with pytest.raises(ValidationFailed):
        services.save_mail_template(shop, kind=MailKind.RESULT_OK, subject="x", body="{% for r in rows %}")
    assert not MailTemplate.objects.exists()
    assert mails.template_for(shop, MailKind.RESULT_OK) == mails.default_template(MailKind.RESULT_OK)


def test_results_stay_owed_while_the_smtp_server_is_down(settings, fake_ledger):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    services.run_due(jst(2024, 3, 1, 3))
    assert SubscriptionCycle.objects.get(subscription=sub).admin_notified is False
