"""準備完了連絡 through a real SMTP server (aiosmtpd on localhost): 宛先 start@atone.be, 件名「サービス開始準備完了」
+ 会社名, 本文 ① サイトURL ② 担当者, and the guide's six confirmations."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from kessai.backoffice.models import AuditEntry
from kessai.golive import mail, services
from kessai.golive.models import Evidence
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from tests.golive.helpers import World

pytestmark = pytest.mark.django_db

ACTOR = services.cli_actor()
ALL = {1, 2, 3, 4, 5, 6}


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.DEFAULT_FROM_EMAIL = "kessai@hub.example.jp"
    try:
        yield inbox
    finally:
        controller.stop()


def header(message: Message, name: str) -> str:
    return str(email.header.make_header(email.header.decode_header(message[name])))


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def test_the_mail_reaches_the_smtp_server_as_the_guide_asks(world: World, smtp: Inbox):
    shop_services.set_fee_rule(world.shop, "atone", [{"min_amount": 1, "max_amount": 999_999, "fee": 205}])
    services.save_pages(
        ACTOR,
        world.shop,
        payment_guide_url="https://shop.example.jp/guide",
        legal_notice_url="https://shop.example.jp/law",
    )

    sent = mail.send(ACTOR, world.test, ALL)

    (message,) = smtp.messages
    assert message["X-RcptTo"] == "start@atone.be, admin@shop.example.jp"
    assert header(message, "Subject") == "サービス開始準備完了 株式会社アトネ商店"
    assert (message["To"], message["Cc"], message["Reply-To"]) == (
        "start@atone.be",
        "admin@shop.example.jp",
        "admin@shop.example.jp",
    )
    text = body(message).replace("\r\n", "\n")
    assert text == sent.body
    assert "① サイトURL: https://shop.example.jp/" in text
    assert "② 担当者名: 山田 花子" in text
    assert [line for line in text.splitlines() if line.startswith("✓")] == [
        "✓「決済方法選択ページ(買い物かご)」の設定をした",
        "✓「お支払い方法に関する説明ページ」のページを設定した",
        "✓ 規定文言(atone説明文)を掲載した",
        "✓ バナーを掲載し、リンク設定も行った",
        "✓ 弊社が確認できる環境(本番環境、画面キャプチャなど)を準備した",
        "✓ 特定商取引法ページのお支払い方法に関する記載に、atoneを追加した",
    ]
    assert "支払方法説明ページ: https://shop.example.jp/guide" in text
    assert "決済手数料: 205円(税込、1円〜999,999円のご注文)" in text  # the same words as the snippets
    assert Evidence.objects.get(key="readiness_mail").data["to"] == "start@atone.be"
    assert AuditEntry.objects.get(action="golive.readiness_mail").after["subject"] == sent.subject


def test_the_mail_is_not_sent_before_every_confirmation_and_the_contact_are_there(world: World, smtp: Inbox):
    with pytest.raises(ValidationFailed) as unticked:
        mail.send(ACTOR, world.test, {1, 2, 3, 4, 6})
    assert "弊社が確認できる環境" in unticked.value.errors["confirmations"]

    world.shop.contact_name = ""
    world.shop.save()
    with pytest.raises(ValidationFailed) as incomplete:
        mail.send(ACTOR, world.test, ALL)
    assert incomplete.value.errors["draft"] == "次の項目を入力してください: ご担当者名"
    services.save_pages(ACTOR, world.shop, payment_guide_url="", legal_notice_url="", contact_name="佐藤 一郎")
    assert "② 担当者名: 佐藤 一郎" in mail.draft(world.test).body

    assert smtp.messages == []
    assert not Evidence.objects.filter(key="readiness_mail").exists()


def test_the_draft_shows_what_the_checklist_has_confirmed(world: World):
    draft = mail.draft(world.test)

    assert [(row.index, row.evidence) for row in draft.confirmations] == [
        (1, "ng"),
        (2, "pending"),
        (3, "ng"),
        (4, "ng"),
        (5, None),
        (6, "pending"),
    ]


def test_an_smtp_failure_is_reported_and_nothing_is_recorded(world: World, settings: Any):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    with pytest.raises(ValidationFailed) as failed:
        mail.send(ACTOR, world.test, ALL)

    assert failed.value.code == "mail_failed"
    assert not Evidence.objects.filter(key="readiness_mail").exists()
